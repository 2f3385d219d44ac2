/*
 * json.c — a validating JSON scanner that finds the envelope's fields (nws_json.h).
 *
 * One recursive-descent pass with an explicit depth limit: each skip_* function checks one
 * value and returns the position after it, or NULL on malformed input. Nothing is decoded;
 * the envelope keeps spans into the caller's text.
 */
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "nws_error.h"
#include "nws_json.h"

typedef const uint8_t *pos;

/* Most positions hold no white space at all: one comparison says so. */
static inline __attribute__((always_inline)) pos skip_ws(pos p, pos end) {
    while (p < end && *p <= ' ' && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

static int is_hex(uint8_t c) {
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static int is_plain(uint8_t c) {
    return c >= 0x20 && c != '"' && c != '\\';
}

/* Most string bytes need no attention: sixteen are checked at a time (SSE2 is part of x86-64),
 * and only the byte that stops the run is looked at one by one. */
static inline __attribute__((always_inline)) size_t plain_run(const uint8_t *s, size_t len) {
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    const __m128i control_max = _mm_set1_epi8(0x1F);
    for (; i + 16 <= len; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
        __m128i control = _mm_cmpeq_epi8(_mm_max_epu8(v, control_max), control_max); /* v <= 0x1F */
        __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), control);
        unsigned mask = (unsigned)_mm_movemask_epi8(stop);
        if (mask) return i + (size_t)__builtin_ctz(mask);
    }
#endif
    while (i < len && is_plain(s[i])) i++;
    return i;
}

size_t nws_json_plain_run(const uint8_t *s, size_t len) {
    return plain_run(s, len);
}

/* p at the opening quote. *escaped is set when a backslash appears. Control characters are
 * not allowed raw (RFC 8259 §7); other bytes pass (UTF-8 was validated by the frame layer). */
static pos skip_string_slow(pos p, pos end, int *escaped) {
    p++;
    while (p < end) {
        p += plain_run(p, (size_t)(end - p));
        if (p >= end) return NULL;
        uint8_t c = *p;
        if (c == '"') return p + 1;
        if (c < 0x20) return NULL;
        if (escaped) *escaped = 1;
        if (++p >= end) return NULL;
        switch (*p) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            p++;
            break;
        case 'u':
            if (end - p < 5 || !is_hex(p[1]) || !is_hex(p[2]) || !is_hex(p[3]) || !is_hex(p[4])) return NULL;
            p += 5;
            break;
        default:
            return NULL;
        }
    }
    return NULL;
}

/* Most strings of an envelope are plain: the first byte that stops a plain run is the
 * closing quote. Inlined for that case; anything else (an escape, a control byte, the end)
 * takes the loop above. */
static inline __attribute__((always_inline)) pos skip_string(pos p, pos end, int *escaped) {
    pos q = p + 1 + plain_run(p + 1, (size_t)(end - p - 1));
    if (q < end && *q == '"') return q + 1;
    return skip_string_slow(p, end, escaped);
}

static pos skip_digits(pos p, pos end) {
    pos start = p;
    while (p < end && *p >= '0' && *p <= '9') p++;
    return p > start ? p : NULL;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static pos skip_number(pos p, pos end) {
    if (p < end && *p == '-') p++;
    if (p >= end) return NULL;
    if (*p == '0') p++;
    else if ((p = skip_digits(p, end)) == NULL) return NULL;
    if (p < end && *p == '.' && (p = skip_digits(p + 1, end)) == NULL) return NULL;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if ((p = skip_digits(p, end)) == NULL) return NULL;
    }
    return p;
}

static pos skip_literal(pos p, pos end, const char *word) {
    size_t n = strlen(word);
    return (size_t)(end - p) >= n && memcmp(p, word, n) == 0 ? p + n : NULL;
}

static pos skip_value(pos p, pos end, int depth);

static pos skip_array(pos p, pos end, int depth) {
    p = skip_ws(p + 1, end);
    if (p < end && *p == ']') return p + 1;
    for (;;) {
        if ((p = skip_value(p, end, depth)) == NULL) return NULL;
        p = skip_ws(p, end);
        if (p >= end) return NULL;
        if (*p == ']') return p + 1;
        if (*p != ',') return NULL;
        p = skip_ws(p + 1, end);
    }
}

/* p after a key: white space, the colon, white space; the value's first byte or NULL. */
static inline pos skip_colon(pos p, pos end) {
    p = skip_ws(p, end);
    if (p >= end || *p != ':') return NULL;
    return skip_ws(p + 1, end);
}

/* p after a member's value: past the comma and the white space after it (*closed = 0), or
 * past the closing brace (*closed = 1); NULL on anything else. */
static inline pos next_member(pos p, pos end, int *closed) {
    p = skip_ws(p, end);
    if (p >= end) return NULL;
    if (*p == '}') {
        *closed = 1;
        return p + 1;
    }
    if (*p != ',') return NULL;
    *closed = 0;
    return skip_ws(p + 1, end);
}

static pos skip_object(pos p, pos end, int depth) {
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') return p + 1;
    for (int closed = 0; !closed;) {
        if (p >= end || *p != '"') return NULL;
        if ((p = skip_string(p, end, NULL)) == NULL) return NULL;
        if ((p = skip_colon(p, end)) == NULL) return NULL;
        if ((p = skip_value(p, end, depth)) == NULL) return NULL;
        if ((p = next_member(p, end, &closed)) == NULL) return NULL;
    }
    return p;
}

static pos skip_value(pos p, pos end, int depth) {
    if (p >= end) return NULL;
    switch (*p) {
    case '{': return depth < NWS_JSON_MAX_DEPTH ? skip_object(p, end, depth + 1) : NULL;
    case '[': return depth < NWS_JSON_MAX_DEPTH ? skip_array(p, end, depth + 1) : NULL;
    case '"': return skip_string(p, end, NULL);
    case 't': return skip_literal(p, end, "true");
    case 'f': return skip_literal(p, end, "false");
    case 'n': return skip_literal(p, end, "null");
    default: return skip_number(p, end);
    }
}

int nws_json_validate(const uint8_t *text, size_t len) {
    pos end = text + len;
    pos p = skip_value(skip_ws(text, end), end, 0);
    return p != NULL && skip_ws(p, end) == end ? 0 : NWS_EJSON;
}

/* 2^53: larger ids would not survive a JavaScript client's Number. */
#define MAX_ID 9007199254740992LL

/* An id or ack at p: a non-negative integer below 2^53 without leading zeros, and not the
 * integer part of a longer number ("1.5", "1e3"). Returns the position after it. */
static inline pos parse_id(pos p, pos end, int64_t *out) {
    pos start = p;
    /* 2^53 has 16 digits: a 17th is refused, and 17 cannot overflow before the range check. */
    pos limit = end - p > 17 ? p + 17 : end;
    int64_t id = 0;
    unsigned digit;
    while (p < limit && (digit = (unsigned)*p - '0') <= 9) {
        id = id * 10 + digit;
        p++;
    }
    size_t digits = (size_t)(p - start);
    if (digits == 0 || digits > 16 || (*start == '0' && digits > 1) || id >= MAX_ID) return NULL;
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E')) return NULL;
    *out = id;
    return p;
}

/* Whether the key at p (its opening quote) is `quoted`, quotes included, as written: a
 * constant length, so the comparison is a load and a compare, not a call. */
#define KEY_IS(p, end, quoted) \
    ((size_t)((end) - (p)) >= sizeof(quoted) - 1 && memcmp((p), (quoted), sizeof(quoted) - 1) == 0)

enum member { OTHER, EVENT, DATA, ID, ACK };

static int hex_value(uint8_t c) {
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Which member a key spelled with escapes names ("\u0065vent" is "event"). s..end is the
 * key between its quotes, already validated. The envelope's keys are short ASCII: a longer
 * key, or one with a character outside ASCII, is another member. */
static enum member escaped_key(pos s, pos end) {
    char key[6];
    size_t n = 0;
    while (s < end) {
        unsigned c = *s++;
        if (c == '\\') {
            c = *s++;
            if (c == 'u') {
                c = (unsigned)(hex_value(s[0]) << 12 | hex_value(s[1]) << 8 | hex_value(s[2]) << 4 | hex_value(s[3]));
                s += 4;
            } else if (c != '"' && c != '\\' && c != '/') {
                return OTHER;   /* \b \f \n \r \t: no envelope key has them */
            }
        }
        if (c > 0x7F || n == sizeof key) return OTHER;
        key[n++] = (char)c;
    }
    if (n == 5 && memcmp(key, "event", 5) == 0) return EVENT;
    if (n == 4 && memcmp(key, "data", 4) == 0) return DATA;
    if (n == 2 && memcmp(key, "id", 2) == 0) return ID;
    if (n == 3 && memcmp(key, "ack", 3) == 0) return ACK;
    return OTHER;
}

/* The envelope's own members are recognised by their keys before anything is scanned (keys
 * as they are usually written, then any key with escapes, unescaped), and their values read
 * in the same pass; any other member is validated and skipped. */
int nws_json_envelope(const uint8_t *text, size_t len, nws_envelope *out) {
    memset(out, 0, sizeof *out);
    pos end = text + len;
    pos p = skip_ws(text, end);
    if (p >= end || *p != '{') return NWS_EJSON;
    p = skip_ws(p + 1, end);
    int closed = p < end && *p == '}';
    if (closed) p++;
    while (!closed) {
        if (p >= end || *p != '"') goto invalid;
        enum member member;
        if (KEY_IS(p, end, "\"event\"")) {
            member = EVENT;
            p += 7;
        } else if (KEY_IS(p, end, "\"data\"")) {
            member = DATA;
            p += 6;
        } else if (KEY_IS(p, end, "\"id\"")) {
            member = ID;
            p += 4;
        } else if (KEY_IS(p, end, "\"ack\"")) {
            member = ACK;
            p += 5;
        } else {
            int escaped = 0;
            pos key = p;
            if ((p = skip_string(key, end, &escaped)) == NULL) goto invalid;
            member = escaped ? escaped_key(key + 1, p - 1) : OTHER;
        }
        if ((p = skip_colon(p, end)) == NULL) goto invalid;
        switch (member) {
        case EVENT: {
            if (p >= end || *p != '"' || out->event != NULL) goto invalid;
            int escaped = 0;
            pos value = p;
            if ((p = skip_string(value, end, &escaped)) == NULL) goto invalid;
            out->event = value + 1;
            out->event_len = (size_t)(p - value) - 2;
            out->event_escaped = escaped;
            break;
        }
        case DATA: {
            if (out->data != NULL) goto invalid;
            pos value = p;
            if ((p = skip_value(value, end, 1)) == NULL) goto invalid;
            out->data = value;
            out->data_len = (size_t)(p - value);
            break;
        }
        case ID:
            if (out->has_id || (p = parse_id(p, end, &out->id)) == NULL) goto invalid;
            out->has_id = 1;
            break;
        case ACK:
            if (out->has_ack || (p = parse_id(p, end, &out->ack)) == NULL) goto invalid;
            out->has_ack = 1;
            break;
        case OTHER:
            if ((p = skip_value(p, end, 1)) == NULL) goto invalid;
            break;
        }
        if ((p = next_member(p, end, &closed)) == NULL) goto invalid;
    }
    if (skip_ws(p, end) == end) return 0;
invalid:
    memset(out, 0, sizeof *out);
    return NWS_EJSON;
}
