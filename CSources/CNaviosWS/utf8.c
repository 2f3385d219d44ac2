/*
 * utf8.c — incremental UTF-8 validation for text messages and close reasons.
 *
 * Chat and JSON traffic is mostly ASCII, so while the validator sits on a character
 * boundary it jumps over ASCII runs 8, 16 or 32 bytes at a time; only the bytes of
 * multi-byte characters go through the DFA, one table lookup pair per byte.
 *
 * The DFA is a byte-class table plus a transition table. The classes split the lead and
 * second bytes exactly where RFC 3629's table of well-formed sequences splits them, so the
 * second byte already rejects overlongs (E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and
 * code points above U+10FFFF (F4 90..BF, F5..FF): an invalid sequence is reported at the
 * first byte that makes it impossible, which is what "fail fast" needs across fragments.
 */
#include <stdatomic.h>
#include <string.h>

#include "codec_internal.h"
#include "nws_utf8.h"

#if NWS__X86
#include <immintrin.h>
#endif

/* Byte classes. */
enum {
    C_ASCII,   /* 00..7F */
    C_CONT_LO, /* 80..8F */
    C_CONT_MD, /* 90..9F */
    C_CONT_HI, /* A0..BF */
    C_BAD,     /* C0, C1 (always overlong), F5..FF (beyond U+10FFFF) */
    C_LEAD2,   /* C2..DF */
    C_E0,      /* E0: next must be A0..BF, else overlong */
    C_LEAD3,   /* E1..EC, EE, EF */
    C_ED,      /* ED: next must be 80..9F, else a surrogate */
    C_F0,      /* F0: next must be 90..BF, else overlong */
    C_LEAD4,   /* F1..F3 */
    C_F4,      /* F4: next must be 80..8F, else beyond U+10FFFF */
};

/* States. ACCEPT and REJECT are fixed by nws_utf8.h; the rest say what must come next. */
enum {
    S_ACCEPT = NWS_UTF8_ACCEPT,
    S_REJECT = NWS_UTF8_REJECT,
    S_NEED1,   /* one continuation byte */
    S_NEED2,   /* two continuation bytes */
    S_E0,      /* A0..BF, then one more */
    S_ED,      /* 80..9F, then one more */
    S_NEED3,   /* three continuation bytes */
    S_F0,      /* 90..BF, then two more */
    S_F4,      /* 80..8F, then two more */
    S_COUNT,
};

static const uint8_t byte_class[256] = {
    /* 00..7F */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 80..8F, 90..9F */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    /* A0..BF */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    /* C0..DF */
    4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    /* E0..EF, F0..FF */
    6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 7, 9, 10, 10, 10, 11, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

/* transition[state << 4 | class]; columns 12..15 are unused and reject. */
#define R S_REJECT
static const uint8_t transition[S_COUNT * 16] = {
    /*            ASC  LO  MD  HI  BAD LD2 E0  LD3 ED  F0  LD4 F4 */
    /* ACCEPT */ 0,   R,  R,  R,  R,  2,  4,  3,  5,  7,  6,  8,  R, R, R, R,
    /* REJECT */ R,   R,  R,  R,  R,  R,  R,  R,  R,  R,  R,  R,  R, R, R, R,
    /* NEED1  */ R,   0,  0,  0,  R,  R,  R,  R,  R,  R,  R,  R,  R, R, R, R,
    /* NEED2  */ R,   2,  2,  2,  R,  R,  R,  R,  R,  R,  R,  R,  R, R, R, R,
    /* E0     */ R,   R,  R,  2,  R,  R,  R,  R,  R,  R,  R,  R,  R, R, R, R,
    /* ED     */ R,   2,  2,  R,  R,  R,  R,  R,  R,  R,  R,  R,  R, R, R, R,
    /* NEED3  */ R,   3,  3,  3,  R,  R,  R,  R,  R,  R,  R,  R,  R, R, R, R,
    /* F0     */ R,   R,  3,  3,  R,  R,  R,  R,  R,  R,  R,  R,  R, R, R, R,
    /* F4     */ R,   3,  R,  R,  R,  R,  R,  R,  R,  R,  R,  R,  R, R, R, R,
};
#undef R

#define HIGH_BITS 0x8080808080808080ull

/* Index of the first byte whose high bit is set, given the word's high bits (nonzero). */
static inline size_t first_high_byte(uint64_t high) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (size_t)__builtin_clzll(high) >> 3;
#else
    return (size_t)__builtin_ctzll(high) >> 3;
#endif
}

static inline size_t ascii_words(const uint8_t *p, size_t len) {
    size_t i = 0;
    for (; i + 16 <= len; i += 16) {
        uint64_t a, b;
        memcpy(&a, p + i, 8);
        memcpy(&b, p + i + 8, 8);
        if ((a | b) & HIGH_BITS) {
            break;
        }
    }
    for (; i + 8 <= len; i += 8) {
        uint64_t a;
        memcpy(&a, p + i, 8);
        if (a & HIGH_BITS) {
            return i + first_high_byte(a & HIGH_BITS);
        }
    }
    for (; i < len; i++) {
        if (p[i] & 0x80) {
            return i;
        }
    }
    return len;
}

size_t nws__ascii_scalar(const uint8_t *p, size_t len) {
    return ascii_words(p, len);
}

#if NWS__X86

__attribute__((target("sse2"))) size_t nws__ascii_sse2(const uint8_t *p, size_t len) {
    size_t i = 0;
    for (; i + 32 <= len; i += 32) {
        __m128i a = _mm_loadu_si128((const __m128i *)(p + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(p + i + 16));
        if (_mm_movemask_epi8(_mm_or_si128(a, b)) != 0) {
            break;
        }
    }
    for (; i + 16 <= len; i += 16) {
        int m = _mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(p + i)));
        if (m != 0) {
            return i + (size_t)__builtin_ctz((unsigned)m);
        }
    }
    return i + ascii_words(p + i, len - i);
}

__attribute__((target("avx2"))) size_t nws__ascii_avx2(const uint8_t *p, size_t len) {
    size_t i = 0;
    for (; i + 64 <= len; i += 64) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(p + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(p + i + 32));
        if (_mm256_movemask_epi8(_mm256_or_si256(a, b)) != 0) {
            break;
        }
    }
    for (; i + 32 <= len; i += 32) {
        int m = _mm256_movemask_epi8(_mm256_loadu_si256((const __m256i *)(p + i)));
        if (m != 0) {
            return i + (size_t)__builtin_ctz((unsigned)m);
        }
    }
    if (i + 16 <= len) {
        int m = _mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(p + i)));
        if (m != 0) {
            return i + (size_t)__builtin_ctz((unsigned)m);
        }
        i += 16;
    }
    return i + ascii_words(p + i, len - i);
}

#endif /* NWS__X86 */

uint32_t nws__utf8_step_with(nws__ascii_fn skip, uint32_t state, const uint8_t *p, size_t len) {
    if (state >= S_COUNT) {
        return S_REJECT; /* not a state this validator returned */
    }
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        if (state == S_ACCEPT && c < 0x80) {
            /* A lone space or digit between multi-byte characters is not worth a call. */
            i++;
            if (i < len && p[i] < 0x80) {
                i += skip(p + i, len - i);
            }
            continue;
        }
        state = transition[(state << 4) | byte_class[c]];
        if (state == S_REJECT) {
            return S_REJECT;
        }
        i++;
    }
    return state;
}

/* Same resolve-once dispatch as mask.c: a relaxed atomic pointer that starts at a resolver. */
static size_t ascii_resolve(const uint8_t *p, size_t len);
static _Atomic(nws__ascii_fn) ascii_impl = ascii_resolve;

static nws__ascii_fn ascii_select(void) {
#if NWS__X86
    if (nws__cpu_avx2()) {
        return nws__ascii_avx2;
    }
    if (nws__cpu_sse2()) {
        return nws__ascii_sse2;
    }
#endif
    return nws__ascii_scalar;
}

static size_t ascii_resolve(const uint8_t *p, size_t len) {
    nws__ascii_fn fn = ascii_select();
    atomic_store_explicit(&ascii_impl, fn, memory_order_relaxed);
    return fn(p, len);
}

uint32_t nws_utf8_step(uint32_t state, const uint8_t *p, size_t len) {
    /* Short inputs (a chunk of a small frame, a close reason) finish inside the first
     * vector anyway; the word loop spares them an indirect call per ASCII run. */
    nws__ascii_fn skip = len < 32 ? nws__ascii_scalar
                                  : atomic_load_explicit(&ascii_impl, memory_order_relaxed);
    return nws__utf8_step_with(skip, state, p, len);
}

int nws_utf8_valid(const uint8_t *p, size_t len) {
    return nws_utf8_step(NWS_UTF8_ACCEPT, p, len) == NWS_UTF8_ACCEPT;
}

const char *nws_utf8_impl(void) {
    nws__ascii_fn fn = ascii_select();
#if NWS__X86
    if (fn == nws__ascii_avx2) {
        return "avx2";
    }
    if (fn == nws__ascii_sse2) {
        return "sse2";
    }
#endif
    (void)fn;
    return "scalar";
}
