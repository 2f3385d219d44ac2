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
static inline pos skip_ws(pos p, pos end) {
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
static inline size_t plain_run(const uint8_t *s, size_t len) {
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
static pos skip_string(pos p, pos end, int *escaped) {
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

/* Walks an object; on_member (may be NULL) sees each key span and value span, and for a
 * string value whether it holds an escape (so that a caller need not scan it again). */
typedef int (*member_fn)(void *ctx, pos key, size_t key_len, pos value, size_t value_len, int escaped);

static pos walk_object(pos p, pos end, int depth, member_fn on_member, void *ctx) {
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') return p + 1;
    for (;;) {
        if (p >= end || *p != '"') return NULL;
        pos key = p + 1;
        pos after_key = skip_string(p, end, NULL);
        if (after_key == NULL) return NULL;
        size_t key_len = (size_t)(after_key - 1 - key);
        p = skip_ws(after_key, end);
        if (p >= end || *p != ':') return NULL;
        pos value = skip_ws(p + 1, end);
        int escaped = 0;
        p = value < end && *value == '"' ? skip_string(value, end, &escaped) : skip_value(value, end, depth);
        if (p == NULL) return NULL;
        if (on_member && on_member(ctx, key, key_len, value, (size_t)(p - value), escaped) != 0) return NULL;
        p = skip_ws(p, end);
        if (p >= end) return NULL;
        if (*p == '}') return p + 1;
        if (*p != ',') return NULL;
        p = skip_ws(p + 1, end);
    }
}

static pos skip_value(pos p, pos end, int depth) {
    if (p >= end) return NULL;
    switch (*p) {
    case '{': return depth < NWS_JSON_MAX_DEPTH ? walk_object(p, end, depth + 1, NULL, NULL) : NULL;
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

/* The length is a constant at each use, so the comparison compiles to a load and a compare
 * instead of a call to memcmp for every member of every envelope. */
#define KEY_IS(key, len, literal) \
    ((len) == sizeof(literal) - 1 && memcmp((key), (literal), sizeof(literal) - 1) == 0)

/* 2^53: larger ids would not survive a JavaScript client's Number. */
#define MAX_ID 9007199254740992LL

/* A non-negative integer below 2^53, without leading zeros. */
static int parse_id(pos value, size_t len, int64_t *out) {
    /* 2^53 has 16 digits: at most 16 cannot overflow before the range check. */
    if (len == 0 || len > 16 || (value[0] == '0' && len > 1)) return -1;
    int64_t id = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned digit = (unsigned)value[i] - '0';
        if (digit > 9) return -1;
        id = id * 10 + digit;
    }
    if (id >= MAX_ID) return -1;
    *out = id;
    return 0;
}

static int envelope_member(void *ctx, pos key, size_t key_len, pos value, size_t value_len, int escaped) {
    nws_envelope *env = ctx;
    if (KEY_IS(key, key_len, "event")) {
        if (env->event != NULL || *value != '"') return -1;
        env->event = value + 1;
        env->event_len = value_len - 2;
        env->event_escaped = escaped;
    } else if (KEY_IS(key, key_len, "data")) {
        if (env->data != NULL) return -1;
        env->data = value;
        env->data_len = value_len;
    } else if (KEY_IS(key, key_len, "id")) {
        if (env->has_id || parse_id(value, value_len, &env->id) != 0) return -1;
        env->has_id = 1;
    } else if (KEY_IS(key, key_len, "ack")) {
        if (env->has_ack || parse_id(value, value_len, &env->ack) != 0) return -1;
        env->has_ack = 1;
    }
    return 0;
}

int nws_json_envelope(const uint8_t *text, size_t len, nws_envelope *out) {
    memset(out, 0, sizeof *out);
    pos end = text + len;
    pos p = skip_ws(text, end);
    if (p >= end || *p != '{') return NWS_EJSON;
    p = walk_object(p, end, 1, envelope_member, out);
    if (p == NULL || skip_ws(p, end) != end) {
        memset(out, 0, sizeof *out);
        return NWS_EJSON;
    }
    return 0;
}
