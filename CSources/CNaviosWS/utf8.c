/*
 * utf8.c — incremental UTF-8 validation for text messages and close reasons.
 *
 * Chat and JSON traffic is mostly ASCII, so while the validator sits on a character
 * boundary it jumps over ASCII runs 8, 16 or 32 bytes at a time; the DFA sees only the
 * multi-byte characters and the short ASCII runs between them.
 *
 * The DFA is a byte-class table plus a transition table (packed for speed, see below). The
 * classes split the lead and second bytes exactly where RFC 3629's table of well-formed
 * sequences splits them, so the second byte already rejects overlongs (E0 80..9F,
 * F0 80..8F), surrogates (ED A0..BF) and code points above U+10FFFF (F4 90..BF, F5..FF): an
 * invalid sequence is reported at the first byte that makes it impossible, which is what
 * "fail fast" needs across fragments.
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

/* The transition table, one row per byte class. A row packs the next state for every
 * current state into a 64-bit word, 6 bits per state, and a state is kept as its bit offset
 * (6 * state), so one step is `row >> offset`: both loads depend only on the byte, and the
 * chain from one byte to the next is a single shift instead of a dependent table load.
 * ROW lists the next state for current states ACCEPT, REJECT, NEED1, NEED2, E0, ED, NEED3,
 * F0, F4. REJECT goes to REJECT in every row, which makes it sticky. */
#define ROW(a, r, n1, n2, e0, ed, n3, f0, f4)                                                 \
    ((uint64_t)(a) * 6 | (uint64_t)(r) * 6 << 6 | (uint64_t)(n1) * 6 << 12 |                 \
     (uint64_t)(n2) * 6 << 18 | (uint64_t)(e0) * 6 << 24 | (uint64_t)(ed) * 6 << 30 |         \
     (uint64_t)(n3) * 6 << 36 | (uint64_t)(f0) * 6 << 42 | (uint64_t)(f4) * 6 << 48)
#define X S_REJECT
static const uint64_t transition[12] = {
    /* ASCII   */ ROW(S_ACCEPT, X, X, X, X, X, X, X, X),
    /* 80..8F  */ ROW(X, X, S_ACCEPT, S_NEED1, X, S_NEED1, S_NEED2, X, S_NEED2),
    /* 90..9F  */ ROW(X, X, S_ACCEPT, S_NEED1, X, S_NEED1, S_NEED2, S_NEED2, X),
    /* A0..BF  */ ROW(X, X, S_ACCEPT, S_NEED1, S_NEED1, X, S_NEED2, S_NEED2, X),
    /* bad     */ ROW(X, X, X, X, X, X, X, X, X),
    /* C2..DF  */ ROW(S_NEED1, X, X, X, X, X, X, X, X),
    /* E0      */ ROW(S_E0, X, X, X, X, X, X, X, X),
    /* E1..EF  */ ROW(S_NEED2, X, X, X, X, X, X, X, X),
    /* ED      */ ROW(S_ED, X, X, X, X, X, X, X, X),
    /* F0      */ ROW(S_F0, X, X, X, X, X, X, X, X),
    /* F1..F3  */ ROW(S_NEED3, X, X, X, X, X, X, X, X),
    /* F4      */ ROW(S_F4, X, X, X, X, X, X, X, X),
};
#undef X
#undef ROW

#define HIGH_BITS 0x8080808080808080ull

/* Index of the first byte whose high bit is set, given the word's high bits (nonzero). */
static inline size_t first_high_byte(uint64_t high) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (size_t)__builtin_clzll(high) >> 3;
#else
    return (size_t)__builtin_ctzll(high) >> 3;
#endif
}

/* Loads go 16, 8, 4, then 1 byte(s) at a time: the same widths, at the same offsets, as the
 * stores of mask.c's word loop, because the decoder validates a chunk it has just unmasked,
 * and a load that straddles two recent stores cannot be forwarded from them (a stall that
 * costs more than a small frame's whole validation). */
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
    if (i + 4 <= len) {
        uint32_t a;
        memcpy(&a, p + i, 4);
        if ((a & 0x80808080u) == 0) {
            i += 4;
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
    if (len < 16) {
        return ascii_words(p, len);
    }
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
    if (i < len) {
        int m = _mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(p + len - 16)));
        if (m != 0) {
            return len - 16 + (size_t)__builtin_ctz((unsigned)m);
        }
    }
    return len;
}

__attribute__((target("avx2"))) size_t nws__ascii_avx2(const uint8_t *p, size_t len) {
    if (len < 32) {
        return nws__ascii_sse2(p, len);
    }
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
    if (i < len) {
        int m = _mm256_movemask_epi8(_mm256_loadu_si256((const __m256i *)(p + len - 32)));
        if (m != 0) {
            return len - 32 + (size_t)__builtin_ctz((unsigned)m);
        }
    }
    return len;
}

#endif /* NWS__X86 */

uint32_t nws__utf8_step_with(nws__ascii_fn skip, uint32_t state, const uint8_t *p, size_t len) {
    if (state >= S_COUNT) {
        return S_REJECT; /* not a state this validator returned */
    }
    /* st's low 6 bits are the state's offset; the bits above are leftovers of the row and
     * are masked off only where the state is tested, not on the byte-to-byte chain. */
    uint64_t st = (uint64_t)state * 6;
    size_t i = 0;
    while (i < len) {
        if ((st & 63) == S_ACCEPT * 6) {
            i += skip(p + i, len - i);
            if (i == len) {
                break;
            }
        }
        /* The DFA takes ASCII too, so it keeps going through the short ASCII runs of mixed
         * text (spaces, punctuation) and hands back to the skipper only on a character
         * boundary followed by at least a word of ASCII, where the skipper pays off. */
        for (;;) {
            st = transition[byte_class[p[i++]]] >> (st & 63);
            if (i == len || (st & 63) == S_REJECT * 6) {
                break;
            }
            if ((st & 63) == S_ACCEPT * 6 && p[i] < 0x80 && len - i >= 8) {
                uint64_t w;
                memcpy(&w, p + i, 8);
                if ((w & HIGH_BITS) == 0) {
                    break;
                }
            }
        }
        if ((st & 63) == S_REJECT * 6) {
            return S_REJECT;
        }
    }
    return (uint32_t)(st & 63) / 6;
}

/* How much of p[0..n) ends on a character boundary: all of it, unless one of its last three
 * bytes is a lead byte whose sequence needs more than what follows it. */
static size_t complete_prefix(const uint8_t *p, size_t n) {
    for (size_t k = 1; k <= 3 && k <= n; k++) {
        uint8_t b = p[n - k];
        if (b < 0x80) {
            return n;
        }
        if (b >= 0xC0) {
            size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
            return need > k ? n - k : n;
        }
    }
    return n;
}

uint32_t nws__utf8_step_blocks(nws__text_fn valid, uint32_t state, const uint8_t *p, size_t len) {
    if (state >= S_COUNT) {
        return S_REJECT;
    }
    /* A sequence left open by the previous piece: at most three bytes of DFA. */
    uint64_t st = (uint64_t)state * 6;
    size_t i = 0;
    while ((st & 63) != S_ACCEPT * 6) {
        if ((st & 63) == S_REJECT * 6 || i == len) {
            return (uint32_t)(st & 63) / 6;
        }
        st = transition[byte_class[p[i++]]] >> (st & 63);
    }
    size_t end = i + complete_prefix(p + i, len - i);
    if (!valid(p + i, end - i)) {
        return S_REJECT;
    }
    /* What this piece leaves open goes on in the next one. */
    return nws__utf8_step_with(nws__ascii_scalar, S_ACCEPT, p + end, len - end);
}

/* Text of at least this many bytes past its ASCII start goes to the block validator, where
 * the CPU has one: below it, the DFA is done before the blocks would pay off. */
#define BLOCKS_MIN 64

static uint32_t step_scalar(uint32_t state, const uint8_t *p, size_t len) {
    return nws__utf8_step_with(nws__ascii_scalar, state, p, len);
}

#if NWS__X86
static uint32_t step_sse2(uint32_t state, const uint8_t *p, size_t len) {
    return nws__utf8_step_with(nws__ascii_sse2, state, p, len);
}

/* ASCII at the start is skipped at the skipper's speed (most JSON is ASCII); from the first
 * other byte on, the block validator takes the rest whatever its mix. */
static uint32_t step_avx2(uint32_t state, const uint8_t *p, size_t len) {
    size_t i = state == S_ACCEPT ? nws__ascii_avx2(p, len) : 0;
    if (len - i < BLOCKS_MIN) {
        return nws__utf8_step_with(nws__ascii_avx2, state, p + i, len - i);
    }
    return nws__utf8_step_blocks(nws__utf8_valid_avx2, state, p + i, len - i);
}
#endif

typedef uint32_t (*step_fn)(uint32_t state, const uint8_t *p, size_t len);

/* Same resolve-once dispatch as mask.c: a relaxed atomic pointer that starts at a resolver. */
static uint32_t step_resolve(uint32_t state, const uint8_t *p, size_t len);
static _Atomic(step_fn) step_impl = step_resolve;

static step_fn step_select(void) {
#if NWS__X86
    if (nws__cpu_avx2()) {
        return step_avx2;
    }
    if (nws__cpu_sse2()) {
        return step_sse2;
    }
#endif
    return step_scalar;
}

static uint32_t step_resolve(uint32_t state, const uint8_t *p, size_t len) {
    step_fn fn = step_select();
    atomic_store_explicit(&step_impl, fn, memory_order_relaxed);
    return fn(state, p, len);
}

uint32_t nws_utf8_step(uint32_t state, const uint8_t *p, size_t len) {
    /* Short inputs (a small frame, a close reason) finish inside the first vector anyway,
     * and are most often plain ASCII: checked inline, without the DFA loop or an indirect
     * call. */
    if (len < 32) {
        if (state == S_ACCEPT && ascii_words(p, len) == len) {
            return S_ACCEPT;
        }
        return nws__utf8_step_with(nws__ascii_scalar, state, p, len);
    }
    return atomic_load_explicit(&step_impl, memory_order_relaxed)(state, p, len);
}

int nws_utf8_valid(const uint8_t *p, size_t len) {
    return nws_utf8_step(NWS_UTF8_ACCEPT, p, len) == NWS_UTF8_ACCEPT;
}

const char *nws_utf8_impl(void) {
    step_fn fn = step_select();
#if NWS__X86
    if (fn == step_avx2) {
        return "avx2";
    }
    if (fn == step_sse2) {
        return "sse2";
    }
#endif
    (void)fn;
    return "scalar";
}
