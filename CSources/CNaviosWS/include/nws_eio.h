/*
 * nws_eio.h — Engine.IO v4 packets, the transport under Socket.IO v5
 * (https://socket.io/docs/v4/engine-io-protocol/).
 *
 * A packet is a type digit and its data: 0 open, 1 close, 2 ping, 3 pong, 4 message, 5 upgrade,
 * 6 noop. Over WebSocket each text frame is one packet and a binary frame is a binary message.
 * Over HTTP long-polling a body holds several packets joined by 0x1e, a binary message written
 * as 'b' and its base64.
 *
 * What is here: the request's query (EIO, transport, sid) and the protocol's HTTP error for
 * each way it can be wrong; the split of a polling body into packets; base64 both ways; the
 * open packet; session ids. Pure functions over the caller's bytes in the manner of
 * nws_http.h: no I/O, and nothing allocates.
 *
 * Thread rule: any thread.
 */
#ifndef NWS_EIO_H
#define NWS_EIO_H

#include <stddef.h>
#include <stdint.h>

/* The packet types, as their digit on the wire; NWS_EIO_BINARY is a polling body's 'b'. */
enum nws_eio_type {
    NWS_EIO_OPEN = '0',
    NWS_EIO_CLOSE = '1',
    NWS_EIO_PING = '2',
    NWS_EIO_PONG = '3',
    NWS_EIO_MESSAGE = '4',
    NWS_EIO_UPGRADE = '5',
    NWS_EIO_NOOP = '6',
    NWS_EIO_BINARY = 'b',
};

/* The record separator between packets of a polling body. */
#define NWS_EIO_SEPARATOR 0x1e

enum nws_eio_transport { NWS_EIO_NO_TRANSPORT = 0, NWS_EIO_POLLING = 1, NWS_EIO_WEBSOCKET = 2, NWS_EIO_UNKNOWN_TRANSPORT = -1 };

/* The error codes Engine.IO servers answer with (HTTP 400, body {"code":N,"message":"..."}):
 * what clients and the official test suite expect. */
enum nws_eio_error {
    NWS_EIO_TRANSPORT_UNKNOWN = 0,
    NWS_EIO_SESSION_UNKNOWN = 1,
    NWS_EIO_BAD_HANDSHAKE_METHOD = 2,
    NWS_EIO_BAD_REQUEST = 3,
    NWS_EIO_FORBIDDEN = 4,
    NWS_EIO_UNSUPPORTED_VERSION = 5,
};

/* A session id names its connection: base64url of the connection id (8 bytes, big-endian) and
 * the first 16 bytes of HMAC-SHA256(secret, id). A server finds a session from its id with no
 * table, and nobody without the server's secret can make an id it accepts. */
#define NWS_EIO_SID_LEN 32
#define NWS_EIO_SECRET_LEN 32

typedef struct nws_eio_query {
    int eio_ok;                  /* EIO=4 present */
    int transport;               /* enum nws_eio_transport */
    const char *sid;             /* the sid parameter as sent (not percent-decoded: a valid */
    size_t sid_len;              /* sid is base64url), NULL when absent */
} nws_eio_query;

/* Reads EIO, transport and sid from a query string (the part after '?', without it). The
 * first occurrence of each parameter counts; others are ignored, as are unknown parameters
 * (a client's cache buster `t`). Never fails: what is missing or wrong shows in *q. */
void nws_eio_parse_query(const char *query, size_t len, nws_eio_query *q);

/* Whether a request with this method ("GET", "POST", ...) and query starts a session (0),
 * belongs to one (1: q->sid is set), or is refused: returns -1 and the Engine.IO error code
 * in *error. The checks, in this order: a known transport (else TRANSPORT_UNKNOWN); EIO=4
 * (else UNSUPPORTED_VERSION); without a sid, only GET may open a session
 * (else BAD_HANDSHAKE_METHOD); with one, polling takes GET and POST and websocket GET (else
 * BAD_REQUEST). `websocket_upgrade` says the request asks for an upgrade: a websocket
 * transport without one, or polling with one, is BAD_REQUEST. */
int nws_eio_classify(const char *method, size_t method_len, const nws_eio_query *q, int websocket_upgrade,
                     int *error);

/* The message of an Engine.IO error code ("Session ID unknown"), or "Bad request". */
const char *nws_eio_error_message(int error);

/* Writes {"code":N,"message":"..."} into out; returns the length, or NWS_EINVAL when cap is
 * too small. */
int nws_eio_error_body(char *out, size_t cap, int error);

/* One packet of a polling body. For NWS_EIO_BINARY, data is the base64 text. */
typedef struct nws_eio_packet {
    int type;
    const uint8_t *data;
    size_t len;
} nws_eio_packet;

/* The packet of a polling body buf[0..len) that starts at *pos; advances *pos past it and its
 * separator. Returns 1 with *p filled, 0 when *pos is at the end, NWS_EPROTO for an empty
 * packet or an unknown type (the session is then closed, as the protocol says). */
int nws_eio_payload_next(const uint8_t *buf, size_t len, size_t *pos, nws_eio_packet *p);

/* The same for one WebSocket text frame: the whole frame is one packet, 'b' not allowed. */
int nws_eio_packet_parse(const uint8_t *buf, size_t len, nws_eio_packet *p);

/* Base64 (RFC 4648 §4, padded). nws_eio_base64_encode writes 4 * ceil(len / 3) bytes and
 * returns that length. nws_eio_base64_decode returns the number of bytes written to out, or
 * NWS_EPROTO for a length that is not a multiple of 4, a character outside the alphabet or
 * misplaced padding, NWS_EINVAL when cap is below the decoded length. */
size_t nws_eio_base64_encode(const uint8_t *in, size_t len, char *out);
int nws_eio_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap);
/* The decoded length of a base64 text (its padding counted out), or -1 when len % 4 != 0. */
long nws_eio_base64_decoded_len(const char *in, size_t len);

/* The open packet: 0{"sid":"...","upgrades":[...],"pingInterval":N,"pingTimeout":N,
 * "maxPayload":N}, upgrades ["websocket"] when offered, else []. Keys in this order, compact,
 * as the official server writes it. Returns the length, or NWS_EINVAL when cap is too small. */
int nws_eio_open_packet(char *out, size_t cap, const char *sid, size_t sid_len, int offer_websocket,
                        uint32_t ping_interval_ms, uint32_t ping_timeout_ms, uint64_t max_payload);

/* The session id of connection `id` (NWS_EIO_SID_LEN characters, then NUL). 0, or NWS_ESYS
 * when OpenSSL's HMAC fails. */
int nws_eio_sid_encode(uint64_t id, const uint8_t secret[NWS_EIO_SECRET_LEN], char out[NWS_EIO_SID_LEN + 1]);
/* The connection a session id names: 0 and *id, or NWS_EPROTO for anything this secret did not
 * sign (another length, a character outside base64url, a forged or foreign id). */
int nws_eio_sid_decode(const char *sid, size_t len, const uint8_t secret[NWS_EIO_SECRET_LEN], uint64_t *id);

#endif
