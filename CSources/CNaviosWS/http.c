/*
 * http.c — the request-head parser, the list helpers and the error answers of nws_http.h.
 *
 * The parser works in two phases. While the head is incomplete it looks only at bytes it
 * has not seen before (prev_len), so a head that trickles in costs O(n) in total: each new
 * LF is checked for its CR and for the CRLFCRLF that ends the head, and the limits are
 * checked at the first length where crossing them is certain. Once the head is complete it
 * is parsed in one pass.
 *
 * The result must not depend on how the bytes were split across reads, so every early
 * check fires at a fixed byte position of the stream and the checks run in the order of
 * those positions: a long request line (known at skip + max_request_line + 2), then a bare
 * LF (known at its own position), then the head size (known at max_head_bytes). Everything
 * else is only decided once the head is complete.
 */
#include "nws_http.h"
#include "nws_error.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum { C_TCHAR = 1, C_VALUE = 2, C_TARGET = 4 };

/* C_TCHAR: token characters (RFC 9110 §5.6.2), for methods and field names.
 * C_VALUE: field-vchar, SP, HTAB and obs-text (RFC 9110 §5.5); every other control is refused.
 * C_TARGET: VCHAR; the request-target has no spaces and no raw non-ASCII (RFC 3986).
 * CR is in no class: that is what keeps every scan of the complete head inside it, because
 * the head ends with CRLFCRLF. */
static const unsigned char cls[256] = {
    /* 00 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0,
    /* 10 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 20 */ 2, 7, 6, 7, 7, 7, 7, 7, 6, 6, 7, 7, 6, 7, 7, 6,
    /* 30 */ 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6,
    /* 40 */ 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    /* 50 */ 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 7, 7,
    /* 60 */ 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    /* 70 */ 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 7, 6, 7, 0,
    /* 80 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    /* 90 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    /* a0 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    /* b0 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    /* c0 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    /* d0 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    /* e0 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    /* f0 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

static int fail(int *status, int code, int rc) {
    if (status)
        *status = code;
    return rc;
}

static int is_ows(char c) {
    return c == ' ' || c == '\t';
}

static int is_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}

static unsigned char lower(unsigned char c) {
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

static int ascii_ieq(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* buf[0..head_len) ends with CRLFCRLF and every LF in it after `skip` follows a CR. */
static int parse_head(const char *buf, size_t skip, size_t head_len, const nws_http_limits *limits,
                      nws_http_request *req, int *status) {
    const unsigned char *line = (const unsigned char *)buf + skip;
    const unsigned char *p = line;
    size_t max_headers = limits->max_headers < NWS_HTTP_MAX_HEADERS ? limits->max_headers
                                                                     : NWS_HTTP_MAX_HEADERS;

    req->num_headers = 0;
    req->method = (const char *)p;
    while (cls[*p] & C_TCHAR)
        p++;
    req->method_len = (size_t)(p - line);
    if (req->method_len == 0 || *p != ' ')
        return fail(status, 400, NWS_EHTTP);
    p++;

    req->target = (const char *)p;
    while (cls[*p] & C_TARGET)
        p++;
    req->target_len = (size_t)((const char *)p - req->target);
    if (req->target_len == 0 || *p != ' ')
        return fail(status, 400, NWS_EHTTP);
    p++;

    /* Each comparison runs only when the previous byte matched something other than CR, so
     * none of them can go past the CRLF that ends this line. */
    if (p[0] != 'H' || p[1] != 'T' || p[2] != 'T' || p[3] != 'P' || p[4] != '/' ||
        !is_digit(p[5]) || p[6] != '.' || !is_digit(p[7]) || p[8] != '\r' || p[9] != '\n')
        return fail(status, 400, NWS_EHTTP);
    if (p[5] != '1')
        return fail(status, 505, NWS_EHTTP);
    req->minor_version = p[7] - '0';
    /* The early check in nws_http_parse catches this first; kept so that this function
     * holds its contract on its own. */
    if ((size_t)(p + 8 - line) > limits->max_request_line)
        return fail(status, 414, NWS_EHTTPLIMIT);
    p += 10;

    for (;;) {
        if (*p == '\r') {
            /* This empty line is the CRLFCRLF found by the search, so it ends the head. */
            if (p[1] != '\n')
                return fail(status, 400, NWS_EHTTP);
            break;
        }
        /* A line starting with whitespace is obs-fold, or whitespace before the first field;
         * RFC 9112 §5.2 and §2.2 let a server reject both, and folding is how smuggled
         * headers hide, so we do. */
        if (is_ows((char)*p))
            return fail(status, 400, NWS_EHTTP);
        if (req->num_headers == max_headers)
            return fail(status, 431, NWS_EHTTPLIMIT);

        nws_http_header *h = &req->headers[req->num_headers];
        h->name = (const char *)p;
        while (cls[*p] & C_TCHAR)
            p++;
        h->name_len = (size_t)((const char *)p - h->name);
        /* No whitespace is allowed before the colon (RFC 9112 §5.1): it must be a 400. */
        if (h->name_len == 0 || *p != ':')
            return fail(status, 400, NWS_EHTTP);
        p++;
        while (is_ows((char)*p))
            p++;
        h->value = (const char *)p;
        while (cls[*p] & C_VALUE)
            p++;
        if (p[0] != '\r' || p[1] != '\n')
            return fail(status, 400, NWS_EHTTP);
        const char *end = (const char *)p;
        while (end > h->value && is_ows(end[-1]))
            end--;
        h->value_len = (size_t)(end - h->value);
        req->num_headers++;
        p += 2;
    }
    return (int)head_len;
}

int nws_http_parse(const char *buf, size_t len, size_t prev_len, const nws_http_limits *limits,
                   nws_http_request *req, int *status) {
    if (status)
        *status = 0;
    if (limits == NULL || req == NULL || (buf == NULL && len > 0))
        return fail(status, 500, NWS_EINVAL);
    if (prev_len > len)
        prev_len = 0;

    size_t max_head = limits->max_head_bytes;
    size_t max_line = limits->max_request_line;
    /* RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request
     * line. We ignore exactly one: enough for the clients that send a stray CRLF, and it
     * keeps this check O(1) per call. It still counts toward the head size. */
    size_t skip = (len >= 2 && buf[0] == '\r' && buf[1] == '\n') ? 2 : 0;

    /* A request line of more than max_line bytes has no LF in its first max_line + 2 bytes.
     * Looked at once, by the call that first holds that many bytes (a later call's prev_len
     * is past it), so the cost stays O(max_line) per request. When the head limit comes
     * first, a line that long is a head over the limit and gets the head's 431. */
    if (max_line <= SIZE_MAX - 2 - skip) {
        size_t line_known = skip + max_line + 2;
        if (line_known <= max_head && len >= line_known && prev_len < line_known &&
            memchr(buf + skip, '\n', max_line + 2) == NULL)
            return fail(status, 414, NWS_EHTTPLIMIT);
    }

    /* Only the first max_head bytes can hold the end of an acceptable head. */
    size_t scan_end = len < max_head ? len : max_head;
    size_t i = prev_len > skip ? prev_len : skip;
    size_t head_len = 0;
    while (i < scan_end) {
        const char *lf = memchr(buf + i, '\n', scan_end - i);
        if (lf == NULL)
            break;
        i = (size_t)(lf - buf);
        /* Bare LF is a MAY-accept in RFC 9112 §2.2; we refuse it, and at once, so such a
         * client gets 400 rather than waiting for a CRLFCRLF that never comes. */
        if (i == 0 || buf[i - 1] != '\r')
            return fail(status, 400, NWS_EHTTP);
        /* With a skipped empty line, "\r\n\r\n" at the start ends a head whose request
         * line is empty: a second empty line is refused at once, not waited on. */
        if (i >= 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
            head_len = i + 1;
            break;
        }
        i++;
    }
    if (head_len == 0) {
        if (len >= max_head)
            return fail(status, 431, NWS_EHTTPLIMIT);
        return NWS_EPARTIAL;
    }
    if (head_len > INT_MAX)
        return fail(status, 431, NWS_EHTTPLIMIT);
    return parse_head(buf, skip, head_len, limits, req, status);
}

const nws_http_header *nws_http_find(const nws_http_request *req, const char *name) {
    size_t n = strlen(name);
    for (size_t i = 0; i < req->num_headers; i++) {
        const nws_http_header *h = &req->headers[i];
        if (h->name_len == n && ascii_ieq(h->name, name, n))
            return h;
    }
    return NULL;
}

int nws_http_list_next(const char *value, size_t len, size_t *pos, const char **item,
                       size_t *item_len) {
    size_t i = *pos;
    /* Empty elements are legal and must be ignored (RFC 9110 §5.6.1). */
    while (i < len && (is_ows(value[i]) || value[i] == ','))
        i++;
    if (i >= len) {
        *pos = len;
        return 0;
    }
    size_t start = i;
    int quoted = 0;
    /* A comma inside a quoted-string (an extension parameter, say) does not end the element. */
    for (; i < len; i++) {
        char c = value[i];
        if (quoted) {
            if (c == '\\' && i + 1 < len)
                i++;
            else if (c == '"')
                quoted = 0;
        } else if (c == '"') {
            quoted = 1;
        } else if (c == ',') {
            break;
        }
    }
    size_t end = i;
    while (end > start && is_ows(value[end - 1]))
        end--;
    *pos = i < len ? i + 1 : len;
    *item = value + start;
    *item_len = end - start;
    return 1;
}

int nws_http_list_has(const char *value, size_t len, const char *token) {
    size_t n = strlen(token), pos = 0, item_len;
    const char *item;
    while (nws_http_list_next(value, len, &pos, &item, &item_len))
        if (item_len == n && ascii_ieq(item, token, n))
            return 1;
    return 0;
}

const char *nws_http_reason(int status) {
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    }
    return "Unknown";
}

/* Appends when it fits and always advances, so one check of the final length covers every
 * write; nothing is written past cap. */
static size_t put(char *out, size_t cap, size_t at, const char *s, size_t n) {
    if (at <= cap && n <= cap - at)
        memcpy(out + at, s, n);
    return at + n;
}

static size_t put_str(char *out, size_t cap, size_t at, const char *s) {
    return put(out, cap, at, s, strlen(s));
}

int nws_http_error_response(char *out, size_t cap, int status, const char *body, size_t body_len) {
    /* 1xx, 204 and 304 never carry a body (RFC 9110 §6.4.1), so they cannot be answered this way. */
    if (status < 200 || status > 999 || status == 204 || status == 304 || (out == NULL && cap > 0))
        return NWS_EINVAL;
    const char *reason = nws_http_reason(status);
    if (body == NULL)
        body_len = strlen(reason) + 1;
    if (body_len > INT_MAX / 2)
        return NWS_EINVAL;

    char num[24];
    size_t at = 0;
    at = put_str(out, cap, at, "HTTP/1.1 ");
    at = put(out, cap, at, num, (size_t)snprintf(num, sizeof num, "%d ", status));
    at = put_str(out, cap, at, reason);
    at = put_str(out, cap, at, "\r\n");
    const char *connection = "Connection: close\r\n";
    if (status == 426) {
        at = put_str(out, cap, at, "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
        /* RFC 9110 §7.8: whoever sends Upgrade must also list "upgrade" in Connection, so
         * that intermediaries drop the field instead of forwarding it. */
        connection = "Connection: upgrade, close\r\n";
    } else if (status == 405) {
        at = put_str(out, cap, at, "Allow: GET\r\n");
    }
    at = put_str(out, cap, at, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: ");
    at = put(out, cap, at, num, (size_t)snprintf(num, sizeof num, "%zu", body_len));
    at = put_str(out, cap, at, "\r\n");
    at = put_str(out, cap, at, connection);
    at = put_str(out, cap, at, "\r\n");
    if (body != NULL) {
        at = put(out, cap, at, body, body_len);
    } else {
        at = put_str(out, cap, at, reason);
        at = put_str(out, cap, at, "\n");
    }
    if (at > cap || at > INT_MAX)
        return NWS_EINVAL;
    return (int)at;
}
