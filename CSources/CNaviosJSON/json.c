/*
 * json.c — a validating JSON scanner that finds the members of an object (nws_json.h).
 *
 * One recursive-descent pass with an explicit depth limit: each skip_* function checks one
 * value and returns the position after it, or NULL on malformed input. Nothing is decoded;
 * the envelope keeps spans into the caller's text.
 */
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/* p after a key: white space, the colon, white space; the value's first byte or NULL.
 * Compact JSON ("key":value) is checked first: no white space to look for. */
static inline __attribute__((always_inline)) pos skip_colon(pos p, pos end) {
    if (end - p >= 2 && p[0] == ':' && p[1] > ' ') return p + 1;
    p = skip_ws(p, end);
    if (p >= end || *p != ':') return NULL;
    return skip_ws(p + 1, end);
}

/* p after a member's value: past the comma and the white space after it (*closed = 0), or
 * past the closing brace (*closed = 1); NULL on anything else. Compact JSON first. */
static inline __attribute__((always_inline)) pos next_member(pos p, pos end, int *closed) {
    if (end - p >= 2 && p[0] == ',' && p[1] > ' ') {
        *closed = 0;
        return p + 1;
    }
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

long nws_json_skip(const uint8_t *text, size_t len) {
    pos p = skip_value(text, text + len, 0);
    return p != NULL ? (long)(p - text) : NWS_JSON_INVALID;
}

/* p at '{' or '[': just past the bracket that closes it, strings followed (and checked, which
 * costs little) and nesting counted, up to NWS_JSON_MAX_DEPTH; NULL when it does not close.
 * Nothing else is checked: see nws_json_keys.delimit_only. */
static pos delimit(pos p, pos end) {
    int depth = 0;
    while (p < end) {
        switch (*p) {
        case '"':
            if ((p = skip_string(p, end, NULL)) == NULL) return NULL;
            continue;
        case '{': case '[':
            if (++depth > NWS_JSON_MAX_DEPTH) return NULL;
            break;
        case '}': case ']':
            if (--depth == 0) return p + 1;
            break;
        default:
            break;
        }
        p++;
    }
    return NULL;
}

int nws_json_validate(const uint8_t *text, size_t len) {
    pos end = text + len;
    pos p = skip_value(skip_ws(text, end), end, 0);
    return p != NULL && skip_ws(p, end) == end ? 0 : NWS_JSON_INVALID;
}

/* 2^53: larger integers would not survive a JavaScript client's Number. */
#define MAX_SAFE 9007199254740992LL

/* A member's value at p that is a safe integer: non-negative, below 2^53, without leading zeros,
 * and not the integer part of a longer number ("1.5", "1e3"). 1 and *out set, or 0. */
static inline int safe_integer(pos p, pos end, int64_t *out, pos *after) {
    pos start = p;
    /* 2^53 has 16 digits: a 17th is refused, and 17 cannot overflow before the range check. */
    pos limit = end - p > 17 ? p + 17 : end;
    int64_t value = 0;
    unsigned digit;
    while (p < limit && (digit = (unsigned)*p - '0') <= 9) {
        value = value * 10 + digit;
        p++;
    }
    size_t digits = (size_t)(p - start);
    if (digits == 0 || digits > 16 || (*start == '0' && digits > 1) || value >= MAX_SAFE) return 0;
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E')) return 0;
    *out = value;
    *after = p;
    return 1;
}

/* ---- keys ---- */

void nws_json_keys_init(nws_json_keys *set, const char *const *names, size_t count) {
    memset(set, 0, sizeof *set);
    for (size_t k = 0; k < NWS_JSON_MAX_KEYS; k++) set->word[k] = 1;   /* no text matches mask 0, word 1 */
    set->count = count < NWS_JSON_MAX_KEYS ? count : NWS_JSON_MAX_KEYS;
    for (size_t k = 0; k < set->count; k++) {
        size_t len = strlen(names[k]);
        set->name[k] = names[k];
        set->len[k] = (uint8_t)(len < NWS_JSON_KEY_MAX ? len : NWS_JSON_KEY_MAX);
        /* The key as usually written, quotes included, in one little-endian word when it fits:
         * one load and one compare recognise it. A key that does not fit gets a mask of 0 and
         * a word of 1, which no text matches, and is compared byte by byte. */
        if (len + 2 <= 8) {
            uint8_t quoted[8] = {0};
            quoted[0] = '"';
            memcpy(quoted + 1, names[k], len);
            quoted[len + 1] = '"';
            memcpy(&set->word[k], quoted, 8);
            set->mask[k] = len + 2 == 8 ? ~0ull : (1ull << ((len + 2) * 8)) - 1;
        } else {
            set->has_long_keys = 1;
        }
    }
}

static int hex_value(uint8_t c) {
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* The index in set of the key between s and end (validated, without its quotes), escapes
 * undone, or -1. Keys of a set are at most NWS_JSON_KEY_MAX bytes: a longer key is no key of
 * it. Only keys that hold an escape come here: the others are compared as written. */
static int escaped_key(const nws_json_keys *set, pos s, pos end) {
    uint8_t key[NWS_JSON_KEY_MAX * 4];
    size_t n = 0;
    while (s < end) {
        unsigned c = *s++;
        if (c == '\\') {
            switch (c = *s++) {
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u':
                c = (unsigned)(hex_value(s[0]) << 12 | hex_value(s[1]) << 8 | hex_value(s[2]) << 4 | hex_value(s[3]));
                s += 4;
                if (c > 0x7F) return -1;   /* keys of a set are ASCII when escaped (see nws_json.h) */
                break;
            default: break;   /* '"', '\\', '/' stand for themselves */
            }
        }
        if (n == sizeof key) return -1;
        key[n++] = (uint8_t)c;
    }
    for (size_t k = 0; k < set->count; k++) {
        if (set->len[k] == n && memcmp(key, set->name[k], n) == 0) return (int)k;
    }
    return -1;
}

/* The index of the key at p (its opening quote) as written, or -1 when it is none of set's
 * as written (it may still be one spelled with escapes). A key that fits a word with its
 * quotes is one masked compare when 8 bytes can be read; the rest take memcmp. */
static inline int plain_key(const nws_json_keys *set, pos p, pos end) {
    if (end - p >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        /* The first four keys unrolled (a set that has fewer has entries no text matches). */
        if ((word & set->mask[0]) == set->word[0]) return 0;
        if ((word & set->mask[1]) == set->word[1]) return 1;
        if ((word & set->mask[2]) == set->word[2]) return 2;
        if ((word & set->mask[3]) == set->word[3]) return 3;
        for (size_t k = 4; k < set->count; k++) {
            if ((word & set->mask[k]) == set->word[k]) return (int)k;
        }
        if (!set->has_long_keys) return -1;
    }
    for (size_t k = 0; k < set->count; k++) {
        size_t len = set->len[k];
        if ((size_t)(end - p) >= len + 2 && p[len + 1] == '"' && memcmp(p + 1, set->name[k], len) == 0) return (int)k;
    }
    return -1;
}

/* A value's kind from its first byte (anything else is a number, or invalid: the scan says). */
static const uint8_t kind_of[256] = {
    ['"'] = NWS_JSON_STRING, ['{'] = NWS_JSON_OBJECT, ['['] = NWS_JSON_ARRAY, ['t'] = NWS_JSON_TRUE,
    ['f'] = NWS_JSON_FALSE, ['n'] = NWS_JSON_NULL, ['-'] = NWS_JSON_NUMBER, ['0'] = NWS_JSON_NUMBER,
    ['1'] = NWS_JSON_NUMBER, ['2'] = NWS_JSON_NUMBER, ['3'] = NWS_JSON_NUMBER, ['4'] = NWS_JSON_NUMBER,
    ['5'] = NWS_JSON_NUMBER, ['6'] = NWS_JSON_NUMBER, ['7'] = NWS_JSON_NUMBER, ['8'] = NWS_JSON_NUMBER,
    ['9'] = NWS_JSON_NUMBER,
};

/* Each member's key is recognised before its value is scanned (as usually written, then, for
 * a key with escapes, unescaped), and the value of a key of the set is reported in the same
 * pass; any other member is validated and skipped. */
int nws_json_members(const uint8_t *text, size_t len, const nws_json_keys *set, nws_json_member *out) {
    int found = 0;   /* a bit per key of the set: out[k] is written only when bit k is set */
    pos end = text + len;
    pos p = skip_ws(text, end);
    if (p >= end || *p != '{') return NWS_JSON_INVALID;
    p = skip_ws(p + 1, end);
    int closed = p < end && *p == '}';
    if (closed) p++;
    while (!closed) {
        if (p >= end || *p != '"') goto invalid;
        int k = plain_key(set, p, end);
        if (k >= 0) {
            p += set->len[k] + 2;
        } else {
            int escaped = 0;
            pos key = p;
            if ((p = skip_string(key, end, &escaped)) == NULL) goto invalid;
            if (escaped) k = escaped_key(set, key + 1, p - 1);
        }
        if ((p = skip_colon(p, end)) == NULL || p >= end) goto invalid;
        if (k < 0) {
            if ((p = skip_value(p, end, 1)) == NULL) goto invalid;
        } else {
            nws_json_member *m = &out[k];
            if (found & (1 << k)) goto invalid;   /* one key twice, however each was spelled */
            found |= 1 << k;
            pos value = p;
            m->kind = kind_of[*value];
            m->escaped = 0;
            m->is_safe_integer = 0;
            if (m->kind == NWS_JSON_STRING) {
                int escaped = 0;
                if ((p = skip_string(value, end, &escaped)) == NULL) goto invalid;
                m->escaped = (uint8_t)escaped;
            } else if (m->kind == NWS_JSON_NUMBER && (unsigned)*value - '0' <= 9) {
                /* Read as a safe integer in the same pass; anything longer is skipped as the
                 * number it is. */
                if (safe_integer(value, end, &m->integer, &p)) {
                    m->is_safe_integer = 1;
                } else if ((p = skip_number(value, end)) == NULL) {
                    goto invalid;
                }
            } else if ((set->delimit_only >> k & 1) && (m->kind == NWS_JSON_OBJECT || m->kind == NWS_JSON_ARRAY)) {
                if ((p = delimit(value, end)) == NULL) goto invalid;
            } else if ((p = skip_value(value, end, 1)) == NULL) {
                goto invalid;
            }
            m->value = value;
            m->len = (size_t)(p - value);
        }
        if ((p = next_member(p, end, &closed)) == NULL) goto invalid;
    }
    if (skip_ws(p, end) == end) return found;
invalid:
    return NWS_JSON_INVALID;
}
