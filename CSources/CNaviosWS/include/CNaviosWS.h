/* CNaviosWS.h — the C core's public headers, as one module for Swift. */
#include "nws_error.h"
#include "nws_frame.h"
#include "nws_mask.h"
#include "nws_utf8.h"
#include "nws_http.h"
#include "nws_server.h"
#include "nws_rooms.h"
#include "nws_eio.h"
