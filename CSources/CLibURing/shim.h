/* Brings liburing's link flags to the C core; Swift never imports it. */
#include <liburing.h>
