/*
 * nws_error.h — the one list of NaviosWS error codes.
 *
 * Every function of the core that can fail returns 0 (or a count) on success and a
 * negative NWS_E* value on failure. The list below is the single source of truth: it
 * yields the enum, the symbolic name, the human message and the WebSocket close code
 * (RFC 6455 §7.4.1) that a connection is closed with when the error is a peer's fault.
 * A close code of 0 means "not a protocol error": the error is reported to the caller
 * and no close frame is sent because of it.
 *
 * Thread rule: pure functions, callable from any thread; nothing allocates.
 */
#ifndef NWS_ERROR_H
#define NWS_ERROR_H

#include <stdint.h>

/*      name              value  close  message */
#define NWS_ERROR_LIST(X)                                                                   \
    X(NWS_EPARTIAL,        -1,     0, "more input is needed")                              \
    X(NWS_EPROTO,          -2,  1002, "protocol error")                                    \
    X(NWS_ERSV,            -3,  1002, "reserved bits set without a negotiated extension")  \
    X(NWS_EOPCODE,         -4,  1002, "reserved or unknown opcode")                        \
    X(NWS_EUNMASKED,       -5,  1002, "client frame is not masked")                        \
    X(NWS_ECONTROL,        -6,  1002, "control frame fragmented or over 125 bytes")        \
    X(NWS_ELENGTH,         -7,  1002, "payload length not minimally encoded")              \
    X(NWS_ECONTINUATION,   -8,  1002, "continuation frame outside a fragmented message")   \
    X(NWS_EINTERLEAVED,    -9,  1002, "new data frame inside a fragmented message")        \
    X(NWS_ECLOSECODE,     -10,  1002, "invalid close code or close payload of one byte")   \
    X(NWS_EUTF8,          -11,  1007, "invalid UTF-8 in a text message or close reason")   \
    X(NWS_ETOOBIG,        -12,  1009, "frame or message over the configured size limit")   \
    X(NWS_EPOLICY,        -13,  1008, "policy violation")                                  \
    X(NWS_EBACKPRESSURE,  -14,  1008, "send queue over its limit")                         \
    X(NWS_ESTALE,         -15,     0, "no open connection with this id")                   \
    X(NWS_ECLOSED,        -16,     0, "connection is closing")                             \
    X(NWS_EDROPPED,       -17,     0, "droppable message dropped under backpressure")      \
    X(NWS_ENOMEM,         -18,  1011, "out of memory")                                     \
    X(NWS_EINVAL,         -19,     0, "invalid argument")                                  \
    X(NWS_ESYS,           -20,     0, "system call failed (see errno)")                    \
    X(NWS_EURING,         -21,     0, "io_uring is unavailable")                           \
    X(NWS_ETIMEOUT,       -22,  1001, "timed out")                                         \
    X(NWS_EHTTP,          -23,     0, "malformed HTTP request")                            \
    X(NWS_EHTTPLIMIT,     -24,     0, "HTTP request over a size or count limit")           \
    X(NWS_ESHUTDOWN,      -25,  1001, "server is shutting down")                           \
    X(NWS_EJSON,          -26,     0, "malformed JSON or envelope")                        \
    X(NWS_ELIMIT,         -27,     0, "over a configured count limit")                     \
    X(NWS_EINFLATE,       -28,  1007, "compressed message does not inflate")

enum nws_error {
#define NWS__ERR_ENUM(name, value, close, msg) name = value,
    NWS_ERROR_LIST(NWS__ERR_ENUM)
#undef NWS__ERR_ENUM
};

/* "NWS_EUTF8"; "NWS_EUNKNOWN" for a value not in the list. */
const char *nws_err_name(int err);
/* The message of the list above; "unknown error" for a value not in the list. */
const char *nws_strerror(int err);
/* The close code a peer is sent for this error, or 0 when it is not a protocol error. */
uint16_t nws_err_close_code(int err);

#endif
