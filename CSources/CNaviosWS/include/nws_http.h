/*
 * nws_http.h — the HTTP/1.1 side of the WebSocket opening handshake (RFC 6455 §4, RFC 9110/9112).
 *
 * Parser: a pure function over the caller's bytes, in the manner of picohttpparser. It does
 * no I/O and no allocation; every output is a pointer + length into the caller's buffer, so
 * the request stays valid exactly as long as that buffer. It is called again with the whole
 * buffer each time more bytes arrive (pass the previous length so the search for the end
 * of the head does not start over). Bytes after the head (frames a client pipelined behind
 * its request) are left for the caller: the return value says where the head ends.
 *
 * Handshake: checks an upgrade request, computes Sec-WebSocket-Accept with OpenSSL's SHA-1 and
 * base64, and writes the 101 answer or a complete HTTP error answer (with Content-Length and
 * Connection: close) into a caller buffer.
 *
 * Thread rule: pure functions; any thread. Nothing allocates.
 */
#ifndef NWS_HTTP_H
#define NWS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define NWS_HTTP_MAX_HEADERS 64

typedef struct nws_http_header {
    const char *name;
    size_t name_len;
    const char *value;      /* leading and trailing spaces/tabs trimmed */
    size_t value_len;
} nws_http_header;

typedef struct nws_http_request {
    const char *method;
    size_t method_len;
    const char *target;     /* request-target as sent: path plus optional "?query" */
    size_t target_len;
    int minor_version;      /* HTTP/1.x */
    size_t num_headers;
    nws_http_header headers[NWS_HTTP_MAX_HEADERS];
} nws_http_request;

typedef struct nws_http_limits {
    size_t max_head_bytes;      /* request line + headers + blank line; over it: 431 */
    size_t max_request_line;    /* over it: 414 */
    size_t max_headers;         /* <= NWS_HTTP_MAX_HEADERS; over it: 431 */
} nws_http_limits;

/* Parses the request head in buf[0..len). prev_len is the len of the previous call on the
 * same buffer (0 the first time). Returns:
 *   > 0            the length of the head, blank line included; *req is filled
 *   NWS_EPARTIAL   no complete head yet, and no limit crossed so far
 *   NWS_EHTTPLIMIT a limit is crossed; *status is 414 or 431
 *   NWS_EHTTP      malformed; *status is 400 (or 505 for a version other than HTTP/1.x)
 *   NWS_EINVAL     limits or req is NULL
 * The verdict does not depend on how the bytes were split across calls; an error or a limit
 * is reported as soon as it is certain (a bare LF, a request line or head already too long),
 * anything else once the head is complete. prev_len is only meaningful after a call that
 * returned NWS_EPARTIAL (0 is always correct, just slower). Line ends must be CRLF. One empty
 * line before the request line is ignored (RFC 9112 §2.2) and counted in the returned length.
 * max_headers above NWS_HTTP_MAX_HEADERS is treated as NWS_HTTP_MAX_HEADERS. status may be NULL. */
int nws_http_parse(const char *buf, size_t len, size_t prev_len, const nws_http_limits *limits,
                   nws_http_request *req, int *status);

/* The first header with this name (case-insensitive), or NULL. */
const nws_http_header *nws_http_find(const nws_http_request *req, const char *name);

/* 1 when the comma-separated list value[0..len) contains token (case-insensitive, OWS ignored). */
int nws_http_list_has(const char *value, size_t len, const char *token);

/* Walks a comma-separated list: returns 1 and the next element (trimmed, never empty) in
 * *item and *item_len, advancing *pos; 0 when the list is exhausted. Start with *pos = 0.
 * A comma inside a double-quoted string (an extension parameter) does not split. */
int nws_http_list_next(const char *value, size_t len, size_t *pos, const char **item, size_t *item_len);

/* What nws_handshake_check found in a request. Pointers are into the request's buffer. */
typedef struct nws_upgrade {
    const char *path;  size_t path_len;      /* target up to '?' */
    const char *query; size_t query_len;     /* after '?', without it; may be empty */
    const char *key;   size_t key_len;       /* Sec-WebSocket-Key */
    const char *origin; size_t origin_len;   /* Origin, or NULL */
    /* The first line of each; a second line of the same field is not merged (that would
     * need a copy). NULL also when the field is present but empty. */
    const char *protocols; size_t protocols_len;   /* Sec-WebSocket-Protocol offered, or NULL */
    const char *extensions; size_t extensions_len; /* Sec-WebSocket-Extensions offered, or NULL */
} nws_upgrade;

/* Checks an upgrade request against RFC 6455 §4.2.1. Returns 0 and fills *up when it is a
 * valid WebSocket upgrade; otherwise the HTTP status to answer with:
 *   405  method other than GET (a GET-only resource)
 *   426  no Upgrade: websocket (a plain HTTP request), or Sec-WebSocket-Version missing or
 *        other than 13
 *   400  HTTP/1.0, no Host or more than one (RFC 9112 §3.2), no "upgrade" in Connection,
 *        missing or invalid Sec-WebSocket-Key (it must be base64 of exactly 16 bytes),
 *        duplicated key or version, a body announced (Transfer-Encoding, or Content-Length
 *        other than 0: the bytes after the head are frames, and a proxy would read them as
 *        the body)
 * Checked in this order: method; Host (required in HTTP/1.1, at most one in 1.0); Upgrade;
 * HTTP/1.0; Connection; body; Sec-WebSocket-Version; Sec-WebSocket-Key. So any plain GET
 * that HTTP itself accepts, 1.0 included, gets 426, which the caller may answer instead. */
int nws_handshake_check(const nws_http_request *req, nws_upgrade *up);

/* Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)); writes 28 chars + NUL to out.
 * key_len is at most 128 (a valid key has 24); a longer key writes the empty string. */
void nws_handshake_accept(const char *key, size_t key_len, char out[29]);

/* Writes "HTTP/1.1 101 Switching Protocols" with Upgrade, Connection and Sec-WebSocket-Accept,
 * plus Sec-WebSocket-Protocol and Sec-WebSocket-Extensions when given (NULL or length 0 to
 * omit). Returns the length written, or NWS_EINVAL when cap is too small, the key is over
 * 128 bytes, or a value holds a control character (CR/LF would split the answer). */
int nws_handshake_response(char *out, size_t cap, const char *key, size_t key_len,
                           const char *protocol, size_t protocol_len,
                           const char *extensions, size_t extensions_len);

/* Writes a complete error answer: status line with the standard reason phrase, Content-Type
 * text/plain; charset=utf-8, Content-Length, Connection: close, the extra headers when the
 * status needs them (426: "Upgrade: websocket" and "Sec-WebSocket-Version: 13", with
 * "Connection: upgrade, close" since RFC 9110 §7.8 requires it of a sender of Upgrade;
 * 405: "Allow: GET"), and body as the message (the reason phrase and "\n" when body is
 * NULL). Returns the length written, or NWS_EINVAL when cap is too small or the status
 * cannot carry a body (1xx, 204, 304, or outside 200..999). */
int nws_http_error_response(char *out, size_t cap, int status, const char *body, size_t body_len);

/* The reason phrase of a status ("Not Found"), or "Unknown". */
const char *nws_http_reason(int status);

#endif
