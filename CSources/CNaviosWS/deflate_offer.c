/*
 * deflate_offer.c — the negotiation of permessage-deflate (RFC 7692 §5, §7.1): which offer is
 * accepted, and what the answer says.
 *
 * An offer is an element of Sec-WebSocket-Extensions: a name, then parameters after ';', each
 * a token with an optional value (a token or a quoted string). Only the four parameters of
 * RFC 7692 §7.1 are known; anything else declines that offer, as §7 requires, and the next
 * offer is read.
 */
#include "nws_deflate.h"

#include <stdio.h>
#include <string.h>

#include "nws_http.h"

static int is_space(char ch) { return ch == ' ' || ch == '\t'; }

/* Trims spaces around s[0..*len). */
static const char *trim(const char *s, size_t *len) {
    while (*len > 0 && is_space(s[0])) s++, (*len)--;
    while (*len > 0 && is_space(s[*len - 1])) (*len)--;
    return s;
}

static int equals(const char *s, size_t len, const char *word) {
    size_t n = strlen(word);
    if (len != n) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
        if (ch != word[i]) return 0;
    }
    return 1;
}

/* A window size: 8..15 written as digits without a leading zero, optionally quoted (§7.1.2:
 * the value after unquoting must match the ABNF). -1 when it is anything else. */
static int window_bits(const char *v, size_t len) {
    if (len >= 2 && v[0] == '"' && v[len - 1] == '"') v++, len -= 2;
    if (len == 0 || len > 2 || v[0] == '0') return -1;
    int n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9') return -1;
        n = n * 10 + (v[i] - '0');
    }
    return n >= 8 && n <= 15 ? n : -1;
}

/* What one offer asks; seen[] guards against a parameter given twice. */
typedef struct offer {
    int server_no_context_takeover, client_no_context_takeover;
    int server_max_window_bits;   /* 0: not asked */
    int client_max_window_bits;   /* 0: not offered; -1: offered without a value */
} offer;

enum { P_SERVER_NCT, P_CLIENT_NCT, P_SERVER_BITS, P_CLIENT_BITS, P_COUNT };

/* Reads one parameter, name[=value]. 0, or -1 when the offer must be declined. */
static int read_param(offer *o, int seen[P_COUNT], const char *p, size_t len) {
    size_t name_len = 0;
    while (name_len < len && p[name_len] != '=') name_len++;
    size_t name_trimmed = name_len;
    const char *name = trim(p, &name_trimmed);
    int has_value = name_len < len;
    size_t value_len = has_value ? len - name_len - 1 : 0;
    const char *value = has_value ? trim(p + name_len + 1, &value_len) : NULL;
    int which;
    if (equals(name, name_trimmed, "server_no_context_takeover")) which = P_SERVER_NCT;
    else if (equals(name, name_trimmed, "client_no_context_takeover")) which = P_CLIENT_NCT;
    else if (equals(name, name_trimmed, "server_max_window_bits")) which = P_SERVER_BITS;
    else if (equals(name, name_trimmed, "client_max_window_bits")) which = P_CLIENT_BITS;
    else return -1;   /* §7: a parameter not defined for an offer */
    if (seen[which]++) return -1;
    switch (which) {
    case P_SERVER_NCT:
        if (has_value) return -1;
        o->server_no_context_takeover = 1;
        return 0;
    case P_CLIENT_NCT:
        if (has_value) return -1;
        o->client_no_context_takeover = 1;
        return 0;
    case P_SERVER_BITS:   /* §7.1.2.1: a value is required */
        if (!has_value || (o->server_max_window_bits = window_bits(value, value_len)) < 0) return -1;
        return 0;
    default:              /* §7.1.2.2: the value is optional in an offer */
        if (!has_value) {
            o->client_max_window_bits = -1;
            return 0;
        }
        return (o->client_max_window_bits = window_bits(value, value_len)) < 0 ? -1 : 0;
    }
}

/* Parses one element: 1 and *o when it is a permessage-deflate offer the server can read. */
static int read_offer(const char *e, size_t len, offer *o) {
    memset(o, 0, sizeof *o);
    int seen[P_COUNT] = {0};
    size_t at = 0;
    while (at < len && e[at] != ';') at++;
    size_t name_len = at;
    const char *name = trim(e, &name_len);
    if (!equals(name, name_len, "permessage-deflate")) return 0;
    while (at < len) {
        size_t start = ++at;   /* past the ';' */
        int quoted = 0;
        while (at < len && (quoted || e[at] != ';')) {
            if (e[at] == '"') quoted = !quoted;
            at++;
        }
        size_t plen = at - start;
        const char *p = trim(e + start, &plen);
        if (plen == 0 || read_param(o, seen, p, plen) != 0) return 0;
    }
    return 1;
}

static int at_most(int a, int b) { return a < b ? a : b; }

int nws_deflate_negotiate(const nws_deflate_config *k, const char *value, size_t len, nws_deflate_params *out,
                          char response[NWS_DEFLATE_RESPONSE_MAX], size_t *response_len) {
    if (k == NULL || k->mode == NWS_DEFLATE_OFF || value == NULL) return 0;
    int shared = k->mode == NWS_DEFLATE_SHARED;
    int server_bits = k->window_bits ? k->window_bits : NWS_DEFAULT_DEFLATE_WINDOW_BITS;
    int client_bits = k->client_window_bits ? k->client_window_bits : NWS_DEFAULT_DEFLATE_WINDOW_BITS;
    size_t pos = 0, item_len;
    const char *item;
    while (nws_http_list_next(value, len, &pos, &item, &item_len)) {
        offer o;
        if (!read_offer(item, item_len, &o)) continue;
        nws_deflate_params p = {0};
        /* Shared mode compresses and decompresses each message on its own: it says so for both
         * sides, as §7.1.1 lets a server do even when the offer did not ask. */
        p.server_no_context_takeover = (uint8_t)(o.server_no_context_takeover || shared);
        p.client_no_context_takeover = (uint8_t)(o.client_no_context_takeover || shared);
        p.server_max_window_bits = (uint8_t)(o.server_max_window_bits ? at_most(o.server_max_window_bits, server_bits)
                                                                      : server_bits);
        /* §7.1.2.2: the answer may limit the client's window only if the offer said it can be. */
        int limit_client = o.client_max_window_bits != 0 && !shared && client_bits < 15;
        if (limit_client && o.client_max_window_bits > 0) client_bits = at_most(client_bits, o.client_max_window_bits);
        p.client_max_window_bits = (uint8_t)(limit_client ? client_bits : 15);
        int n = snprintf(response, NWS_DEFLATE_RESPONSE_MAX, "permessage-deflate%s%s", 
                         p.server_no_context_takeover ? "; server_no_context_takeover" : "",
                         p.client_no_context_takeover ? "; client_no_context_takeover" : "");
        /* A window the offer asked for is answered (§7.1.2.1: it must be); a smaller one the
         * server chose is told. */
        if (o.server_max_window_bits || p.server_max_window_bits < 15)
            n += snprintf(response + n, NWS_DEFLATE_RESPONSE_MAX - (size_t)n, "; server_max_window_bits=%d",
                          p.server_max_window_bits);
        if (limit_client)
            n += snprintf(response + n, NWS_DEFLATE_RESPONSE_MAX - (size_t)n, "; client_max_window_bits=%d",
                          p.client_max_window_bits);
        *out = p;
        *response_len = (size_t)n;
        return 1;
    }
    return 0;
}
