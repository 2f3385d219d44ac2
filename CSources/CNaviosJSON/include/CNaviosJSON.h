/* CNaviosJSON.h — the JSON scanner NaviosJSON builds on, as one module for Swift. */
#include "nws_json.h"
