/*
 * handshake.c — the server side of the WebSocket opening handshake (RFC 6455 §4.2).
 *
 * Checks a parsed request, computes Sec-WebSocket-Accept with OpenSSL (SHA-1 and base64 are
 * there already; we do not carry our own) and writes the 101 answer. The error answers are
 * written by nws_http_error_response in http.c.
 */
#include "nws_http.h"
#include "nws_error.h"

#include <limits.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#define GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define GUID_LEN (sizeof GUID - 1)
/* A valid key is 24 characters; the cap keeps the SHA-1 input on the stack. */
#define KEY_MAX 128

static int name_is(const nws_http_header *h, const char *name) {
    size_t n = strlen(name);
    if (h->name_len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)h->name[i], b = (unsigned char)name[i];
        if ((a >= 'A' && a <= 'Z' ? a | 0x20 : a) != (b >= 'A' && b <= 'Z' ? b | 0x20 : b))
            return 0;
    }
    return 1;
}

/* How many lines carry this field; *first gets the first of them. */
static size_t count(const nws_http_request *req, const char *name, const nws_http_header **first) {
    size_t n = 0;
    for (size_t i = 0; i < req->num_headers; i++) {
        if (name_is(&req->headers[i], name)) {
            if (n == 0 && first != NULL)
                *first = &req->headers[i];
            n++;
        }
    }
    return n;
}

/* A list field may be split over several lines (RFC 9110 §5.3), so every line is searched. */
static int any_list_has(const nws_http_request *req, const char *name, const char *token) {
    for (size_t i = 0; i < req->num_headers; i++) {
        const nws_http_header *h = &req->headers[i];
        if (name_is(h, name) && nws_http_list_has(h->value, h->value_len, token))
            return 1;
    }
    return 0;
}

static int is_b64(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

/* Base64 of exactly 16 bytes is 22 alphabet characters and "==". The low bits of the last
 * character are not required to be zero: the key is hashed as text, never decoded, so
 * they change nothing. */
static int key_is_valid(const char *key, size_t len) {
    if (len != 24 || key[22] != '=' || key[23] != '=')
        return 0;
    for (size_t i = 0; i < 22; i++)
        if (!is_b64((unsigned char)key[i]))
            return 0;
    return 1;
}

/* Bytes after the head are taken as WebSocket frames. A request that announces a body
 * would have those bytes read as frames here and as its body by a proxy in front of us
 * (request smuggling), so it cannot be an upgrade. */
static int has_body(const nws_http_request *req) {
    for (size_t i = 0; i < req->num_headers; i++) {
        const nws_http_header *h = &req->headers[i];
        if (name_is(h, "Transfer-Encoding"))
            return 1;
        if (name_is(h, "Content-Length") && !(h->value_len == 1 && h->value[0] == '0'))
            return 1;
    }
    return 0;
}

static void optional(const nws_http_request *req, const char *name, const char **value,
                     size_t *len) {
    const nws_http_header *h = nws_http_find(req, name);
    *value = (h != NULL && h->value_len > 0) ? h->value : NULL;
    *len = *value != NULL ? h->value_len : 0;
}

int nws_handshake_check(const nws_http_request *req, nws_upgrade *up) {
    const nws_http_header *version = NULL, *key = NULL;

    if (req->method_len != 3 || memcmp(req->method, "GET", 3) != 0)
        return 405;
    /* RFC 9112 §3.2: more than one Host is a 400, and so is none in HTTP/1.1. */
    size_t hosts = count(req, "Host", NULL);
    if (hosts > 1 || (hosts == 0 && req->minor_version >= 1))
        return 400;
    /* Before the version: a plain GET that HTTP accepts, 1.0 included, is "not a WebSocket
     * request" (426), which the caller may answer itself (a health endpoint). */
    if (!any_list_has(req, "Upgrade", "websocket"))
        return 426;
    if (req->minor_version < 1)
        return 400;
    if (!any_list_has(req, "Connection", "upgrade"))
        return 400;
    if (has_body(req))
        return 400;
    /* Version before key: a client speaking another draft may format its key differently,
     * and 426 with our version tells it what to retry with. */
    size_t versions = count(req, "Sec-WebSocket-Version", &version);
    if (versions > 1)
        return 400;
    if (versions == 0 || version->value_len != 2 || memcmp(version->value, "13", 2) != 0)
        return 426;
    if (count(req, "Sec-WebSocket-Key", &key) != 1 || !key_is_valid(key->value, key->value_len))
        return 400;

    const char *q = memchr(req->target, '?', req->target_len);
    up->path = req->target;
    up->path_len = q != NULL ? (size_t)(q - req->target) : req->target_len;
    up->query = q != NULL ? q + 1 : req->target + req->target_len;
    up->query_len = q != NULL ? req->target_len - up->path_len - 1 : 0;
    up->key = key->value;
    up->key_len = key->value_len;
    optional(req, "Origin", &up->origin, &up->origin_len);
    optional(req, "Sec-WebSocket-Protocol", &up->protocols, &up->protocols_len);
    optional(req, "Sec-WebSocket-Extensions", &up->extensions, &up->extensions_len);
    return 0;
}

void nws_handshake_accept(const char *key, size_t key_len, char out[29]) {
    unsigned char in[KEY_MAX + GUID_LEN];
    unsigned char digest[SHA_DIGEST_LENGTH];

    if (key_len > KEY_MAX) {
        out[0] = '\0';
        return;
    }
    memcpy(in, key, key_len);
    memcpy(in + key_len, GUID, GUID_LEN);
    SHA1(in, key_len + GUID_LEN, digest);
    /* 20 bytes give 28 characters, and EVP_EncodeBlock adds the NUL. */
    EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
}

static size_t put(char *out, size_t cap, size_t at, const char *s, size_t n) {
    if (at <= cap && n <= cap - at)
        memcpy(out + at, s, n);
    return at + n;
}

/* A value we echo must not be able to end the line it is on (response splitting). */
static int is_field_value(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

int nws_handshake_response(char *out, size_t cap, const char *key, size_t key_len,
                           const char *protocol, size_t protocol_len,
                           const char *extensions, size_t extensions_len) {
    static const char head[] = "HTTP/1.1 101 Switching Protocols\r\n"
                               "Upgrade: websocket\r\n"
                               "Connection: Upgrade\r\n"
                               "Sec-WebSocket-Accept: ";
    char accept[29];

    if ((out == NULL && cap > 0) || key == NULL || key_len > KEY_MAX)
        return NWS_EINVAL;
    if (protocol_len > INT_MAX / 4 || extensions_len > INT_MAX / 4)
        return NWS_EINVAL;
    if ((protocol != NULL && !is_field_value(protocol, protocol_len)) ||
        (extensions != NULL && !is_field_value(extensions, extensions_len)))
        return NWS_EINVAL;
    nws_handshake_accept(key, key_len, accept);

    size_t at = put(out, cap, 0, head, sizeof head - 1);
    at = put(out, cap, at, accept, 28);
    at = put(out, cap, at, "\r\n", 2);
    /* An empty value is omitted too: an empty Sec-WebSocket-Protocol fails the client. */
    if (protocol != NULL && protocol_len > 0) {
        at = put(out, cap, at, "Sec-WebSocket-Protocol: ", 24);
        at = put(out, cap, at, protocol, protocol_len);
        at = put(out, cap, at, "\r\n", 2);
    }
    if (extensions != NULL && extensions_len > 0) {
        at = put(out, cap, at, "Sec-WebSocket-Extensions: ", 26);
        at = put(out, cap, at, extensions, extensions_len);
        at = put(out, cap, at, "\r\n", 2);
    }
    at = put(out, cap, at, "\r\n", 2);
    if (at > cap || at > INT_MAX)
        return NWS_EINVAL;
    return (int)at;
}
