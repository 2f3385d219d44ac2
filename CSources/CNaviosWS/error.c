/* error.c — names, messages and close codes of the NWS_E* list (nws_error.h). */
#include "nws_error.h"

const char *nws_err_name(int err) {
    switch (err) {
#define NWS__ERR_NAME(name, value, close, msg) case value: return #name;
        NWS_ERROR_LIST(NWS__ERR_NAME)
#undef NWS__ERR_NAME
    }
    return err == 0 ? "NWS_OK" : "NWS_EUNKNOWN";
}

const char *nws_strerror(int err) {
    switch (err) {
#define NWS__ERR_MSG(name, value, close, msg) case value: return msg;
        NWS_ERROR_LIST(NWS__ERR_MSG)
#undef NWS__ERR_MSG
    }
    return err == 0 ? "success" : "unknown error";
}

uint16_t nws_err_close_code(int err) {
    switch (err) {
#define NWS__ERR_CLOSE(name, value, close, msg) case value: return close;
        NWS_ERROR_LIST(NWS__ERR_CLOSE)
#undef NWS__ERR_CLOSE
    }
    return 0;
}
