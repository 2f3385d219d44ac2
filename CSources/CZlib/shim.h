/* Brings zlib's link flags to the C core (permessage-deflate). */
#include <zlib.h>
