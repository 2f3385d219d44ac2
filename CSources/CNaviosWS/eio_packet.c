/*
 * eio_packet.c — Engine.IO v4 packets and requests, as pure functions (nws_eio.h): the query,
 * the request's verdict, polling bodies, base64, the open packet, session ids.
 */
#include "nws_eio.h"
#include "nws_error.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

/* The value of parameter `name` in a query string, the first occurrence; 1 when present. */
static int query_param(const char *query, size_t len, const char *name, const char **value, size_t *value_len) {
    size_t name_len = strlen(name);
    size_t pos = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && query[end] != '&') end++;
        const char *eq = memchr(query + pos, '=', end - pos);
        size_t key_len = eq ? (size_t)(eq - (query + pos)) : end - pos;
        if (key_len == name_len && memcmp(query + pos, name, name_len) == 0) {
            *value = eq ? eq + 1 : query + end;
            *value_len = eq ? (size_t)(query + end - (eq + 1)) : 0;
            return 1;
        }
        pos = end + 1;
    }
    return 0;
}

static int equals(const char *value, size_t len, const char *literal) {
    return len == strlen(literal) && memcmp(value, literal, len) == 0;
}

void nws_eio_parse_query(const char *query, size_t len, nws_eio_query *q) {
    memset(q, 0, sizeof *q);
    const char *value;
    size_t value_len;
    q->eio_ok = query_param(query, len, "EIO", &value, &value_len) && equals(value, value_len, "4");
    if (query_param(query, len, "transport", &value, &value_len)) {
        q->transport = equals(value, value_len, "polling")     ? NWS_EIO_POLLING
                       : equals(value, value_len, "websocket") ? NWS_EIO_WEBSOCKET
                                                               : NWS_EIO_UNKNOWN_TRANSPORT;
    }
    if (query_param(query, len, "sid", &value, &value_len)) {
        q->sid = value;
        q->sid_len = value_len;
    }
}

int nws_eio_classify(const char *method, size_t method_len, const nws_eio_query *q, int websocket_upgrade,
                     int *error) {
    int is_get = equals(method, method_len, "GET");
    if (q->transport != NWS_EIO_POLLING && q->transport != NWS_EIO_WEBSOCKET) {
        *error = NWS_EIO_TRANSPORT_UNKNOWN;
        return -1;
    }
    if (!q->eio_ok) {
        *error = NWS_EIO_UNSUPPORTED_VERSION;
        return -1;
    }
    if (q->sid == NULL && !is_get) {
        *error = NWS_EIO_BAD_HANDSHAKE_METHOD;
        return -1;
    }
    int websocket = q->transport == NWS_EIO_WEBSOCKET;
    int method_ok = websocket ? is_get : is_get || equals(method, method_len, "POST");
    if (!method_ok || websocket != (websocket_upgrade != 0)) {
        *error = NWS_EIO_BAD_REQUEST;
        return -1;
    }
    return q->sid != NULL;
}

const char *nws_eio_error_message(int error) {
    switch (error) {
    case NWS_EIO_TRANSPORT_UNKNOWN: return "Transport unknown";
    case NWS_EIO_SESSION_UNKNOWN: return "Session ID unknown";
    case NWS_EIO_BAD_HANDSHAKE_METHOD: return "Bad handshake method";
    case NWS_EIO_FORBIDDEN: return "Forbidden";
    case NWS_EIO_UNSUPPORTED_VERSION: return "Unsupported protocol version";
    default: return "Bad request";
    }
}

int nws_eio_error_body(char *out, size_t cap, int error) {
    int n = snprintf(out, cap, "{\"code\":%d,\"message\":\"%s\"}", error, nws_eio_error_message(error));
    return n < 0 || (size_t)n >= cap ? NWS_EINVAL : n;
}

static int known_type(int type) {
    return type >= NWS_EIO_OPEN && type <= NWS_EIO_NOOP;
}

int nws_eio_payload_next(const uint8_t *buf, size_t len, size_t *pos, nws_eio_packet *p) {
    if (*pos >= len) return 0;
    /* A body that ends with a separator announces a packet it does not hold: refused before
     * its first packet is taken. */
    if (*pos == 0 && buf[len - 1] == NWS_EIO_SEPARATOR) return NWS_EPROTO;
    const uint8_t *start = buf + *pos;
    const uint8_t *sep = memchr(start, NWS_EIO_SEPARATOR, len - *pos);
    size_t packet_len = sep ? (size_t)(sep - start) : len - *pos;
    *pos += packet_len + (sep != NULL);
    if (packet_len == 0 || !(known_type(start[0]) || start[0] == NWS_EIO_BINARY)) return NWS_EPROTO;
    p->type = start[0];
    p->data = start + 1;
    p->len = packet_len - 1;
    return 1;
}

int nws_eio_packet_parse(const uint8_t *buf, size_t len, nws_eio_packet *p) {
    if (len == 0 || !known_type(buf[0])) return NWS_EPROTO;
    p->type = buf[0];
    p->data = buf + 1;
    p->len = len - 1;
    return 1;
}

static const char BASE64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t nws_eio_base64_encode(const uint8_t *in, size_t len, char *out) {
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = BASE64[v >> 18];
        out[o++] = BASE64[v >> 12 & 63];
        out[o++] = BASE64[v >> 6 & 63];
        out[o++] = BASE64[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = BASE64[v >> 18];
        out[o++] = BASE64[v >> 12 & 63];
        out[o++] = i + 1 < len ? BASE64[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    return o;
}

static int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

long nws_eio_base64_decoded_len(const char *in, size_t len) {
    if (len % 4 != 0) return -1;
    size_t pad = len >= 1 && in[len - 1] == '=' ? (len >= 2 && in[len - 2] == '=' ? 2 : 1) : 0;
    return (long)(len / 4 * 3 - pad);
}

int nws_eio_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap) {
    long decoded = nws_eio_base64_decoded_len(in, len);
    if (decoded < 0) return NWS_EPROTO;
    if ((size_t)decoded > cap) return NWS_EINVAL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        int v[4];
        for (int k = 0; k < 4; k++) {
            v[k] = base64_value(in[i + k]);
            /* '=' only at the end: the last one or two characters of the last group. */
            if (v[k] < 0 && !(last && in[i + k] == '=' && k >= 2 && (k == 3 || in[i + 3] == '='))) return NWS_EPROTO;
        }
        uint32_t bits = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)(v[2] < 0 ? 0 : v[2]) << 6 |
                        (uint32_t)(v[3] < 0 ? 0 : v[3]);
        out[o++] = (uint8_t)(bits >> 16);
        if (v[2] >= 0) out[o++] = (uint8_t)(bits >> 8);
        if (v[3] >= 0) out[o++] = (uint8_t)bits;
    }
    return (int)o;
}

int nws_eio_open_packet(char *out, size_t cap, const char *sid, size_t sid_len, int offer_websocket,
                        uint32_t ping_interval_ms, uint32_t ping_timeout_ms, uint64_t max_payload) {
    int n = snprintf(out, cap,
                     "0{\"sid\":\"%.*s\",\"upgrades\":[%s],\"pingInterval\":%u,\"pingTimeout\":%u,"
                     "\"maxPayload\":%llu}",
                     (int)sid_len, sid, offer_websocket ? "\"websocket\"" : "", ping_interval_ms, ping_timeout_ms,
                     (unsigned long long)max_payload);
    return n < 0 || (size_t)n >= cap ? NWS_EINVAL : n;
}

static const char URL_SAFE[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The first 16 bytes of HMAC-SHA256(secret, the id's 8 bytes). */
static int sid_tag(const uint8_t id_bytes[8], const uint8_t secret[NWS_EIO_SECRET_LEN], uint8_t tag[16]) {
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    if (HMAC(EVP_sha256(), secret, NWS_EIO_SECRET_LEN, id_bytes, 8, mac, &mac_len) == NULL || mac_len < 16)
        return NWS_ESYS;
    memcpy(tag, mac, 16);
    return 0;
}

int nws_eio_sid_encode(uint64_t id, const uint8_t secret[NWS_EIO_SECRET_LEN], char out[NWS_EIO_SID_LEN + 1]) {
    uint8_t raw[24];
    for (int i = 0; i < 8; i++) raw[i] = (uint8_t)(id >> (56 - 8 * i));
    if (sid_tag(raw, secret, raw + 8) != 0) return NWS_ESYS;
    for (size_t i = 0, o = 0; i < sizeof raw; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        out[o++] = URL_SAFE[v >> 18];
        out[o++] = URL_SAFE[v >> 12 & 63];
        out[o++] = URL_SAFE[v >> 6 & 63];
        out[o++] = URL_SAFE[v & 63];
    }
    out[NWS_EIO_SID_LEN] = '\0';
    return 0;
}

static int url_safe_value(char c) {
    const char *at = c ? strchr(URL_SAFE, c) : NULL;
    return at ? (int)(at - URL_SAFE) : -1;
}

int nws_eio_sid_decode(const char *sid, size_t len, const uint8_t secret[NWS_EIO_SECRET_LEN], uint64_t *id) {
    if (len != NWS_EIO_SID_LEN) return NWS_EPROTO;
    uint8_t raw[24], tag[16];
    for (size_t i = 0, o = 0; i < len; i += 4) {
        uint32_t v = 0;
        for (int k = 0; k < 4; k++) {
            int d = url_safe_value(sid[i + k]);
            if (d < 0) return NWS_EPROTO;
            v = v << 6 | (uint32_t)d;
        }
        raw[o++] = (uint8_t)(v >> 16);
        raw[o++] = (uint8_t)(v >> 8);
        raw[o++] = (uint8_t)v;
    }
    if (sid_tag(raw, secret, tag) != 0 || CRYPTO_memcmp(tag, raw + 8, 16) != 0) return NWS_EPROTO;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | raw[i];
    *id = v;
    return 0;
}
