/* Brings hiredis's link flag to the Redis link (it uses hiredis for RESP only); Swift never calls it. */
#include <hiredis/hiredis.h>
