/*
 * utf8_avx2.c — UTF-8 validation of whole text 32 bytes at a time (AVX2), for text that is
 * not ASCII: Chinese, Russian, Arabic, emoji. The byte-at-a-time DFA of utf8.c runs at about
 * one byte per cycle on such text; this does a 32-byte block in a couple of dozen
 * instructions, whatever the mix of sequence lengths.
 *
 * The method is Keiser and Lemire's ("Validating UTF-8 in less than one instruction per
 * byte", 2021). Nearly every ill-formed sequence shows in one pair of adjacent bytes: a lead
 * byte without its continuation, a continuation after ASCII, an overlong, a surrogate, a code
 * point past U+10FFFF. Which errors a pair can be depends on three nibbles only (the first
 * byte's two, the second byte's high one), so three 16-entry tables, looked up with one
 * shuffle each and AND-ed, leave a bit set exactly for the errors the pair is. The one error
 * no pair shows is a third or fourth byte that is missing or extra; that is a comparison with
 * the bytes two and three back. A block's first bytes pair with the previous block's last.
 *
 * The caller hands over text that ends on a character boundary (utf8.c finishes an open
 * sequence with the DFA): a sequence cut by the end of the text is an error here.
 */
#include <string.h>

#include "codec_internal.h"

#if NWS__X86
#include <immintrin.h>

/* What a pair of bytes can be wrong with, one bit each. */
enum {
    TOO_SHORT = 1 << 0,      /* a lead byte, then no continuation */
    TOO_LONG = 1 << 1,       /* ASCII, then a continuation */
    OVERLONG_3 = 1 << 2,     /* E0 80..9F */
    TOO_LARGE = 1 << 3,      /* F4 90..BF; F5..FF 90..BF */
    SURROGATE = 1 << 4,      /* ED A0..BF */
    OVERLONG_2 = 1 << 5,     /* C0 or C1, then a continuation */
    TOO_LARGE_1000 = 1 << 6, /* F5..FF 80..8F */
    OVERLONG_4 = 1 << 6,     /* F0 80..8F: shares the bit, as both need a second byte 8x */
    TWO_CONTS = 1 << 7,      /* two continuations: wrong unless a third or fourth byte is due */
};
/* The errors that do not depend on the first byte's low nibble. */
#define ANY_LOW (TOO_SHORT | TOO_LONG | TWO_CONTS)

/* A 16-entry table in both 128-bit lanes (a shuffle looks up within its own lane). */
#define C(x) ((char)(uint8_t)(x))
#define TABLE(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, aA, aB, aC, aD, aE, aF)                        \
    _mm256_setr_epi8(C(a0), C(a1), C(a2), C(a3), C(a4), C(a5), C(a6), C(a7), C(a8), C(a9), C(aA), C(aB), \
                     C(aC), C(aD), C(aE), C(aF), C(a0), C(a1), C(a2), C(a3), C(a4), C(a5), C(a6), C(a7), \
                     C(a8), C(a9), C(aA), C(aB), C(aC), C(aD), C(aE), C(aF))

/* Each byte's error bits for its pair with the byte before it (prev1). */
__attribute__((target("avx2"))) static inline __m256i pair_errors(__m256i input, __m256i prev1) {
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    /* By the first byte's high nibble: 0..7 ASCII, 8..B continuation, C..F lead. */
    const __m256i first_high = TABLE(TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG,
                                     TOO_LONG, TWO_CONTS, TWO_CONTS, TWO_CONTS, TWO_CONTS,
                                     TOO_SHORT | OVERLONG_2, TOO_SHORT, TOO_SHORT | OVERLONG_3 | SURROGATE,
                                     TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4);
    /* By the first byte's low nibble: which lead bytes of a row (C0/C1, E0, ED, F0, F4..FF). */
    const __m256i first_low = TABLE(ANY_LOW | OVERLONG_2 | OVERLONG_3 | OVERLONG_4, ANY_LOW | OVERLONG_2,
                                    ANY_LOW, ANY_LOW, ANY_LOW | TOO_LARGE,
                                    ANY_LOW | TOO_LARGE | TOO_LARGE_1000, ANY_LOW | TOO_LARGE | TOO_LARGE_1000,
                                    ANY_LOW | TOO_LARGE | TOO_LARGE_1000, ANY_LOW | TOO_LARGE | TOO_LARGE_1000,
                                    ANY_LOW | TOO_LARGE | TOO_LARGE_1000, ANY_LOW | TOO_LARGE | TOO_LARGE_1000,
                                    ANY_LOW | TOO_LARGE | TOO_LARGE_1000, ANY_LOW | TOO_LARGE | TOO_LARGE_1000,
                                    ANY_LOW | TOO_LARGE | TOO_LARGE_1000 | SURROGATE,
                                    ANY_LOW | TOO_LARGE | TOO_LARGE_1000, ANY_LOW | TOO_LARGE | TOO_LARGE_1000);
    /* By the second byte's high nibble: which continuation range (8x, 9x, Ax..Bx), or none. */
    const __m256i second_high =
        TABLE(TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT,
              TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 | OVERLONG_4,
              TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE,
              TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
              TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE, TOO_SHORT, TOO_SHORT, TOO_SHORT,
              TOO_SHORT);
    /* No 8-bit shift in AVX2: a 16-bit one, then the nibble mask drops the neighbour's bits. */
    __m256i a = _mm256_shuffle_epi8(first_high, _mm256_and_si256(_mm256_srli_epi16(prev1, 4), nibble));
    __m256i b = _mm256_shuffle_epi8(first_low, _mm256_and_si256(prev1, nibble));
    __m256i c = _mm256_shuffle_epi8(second_high, _mm256_and_si256(_mm256_srli_epi16(input, 4), nibble));
    return _mm256_and_si256(_mm256_and_si256(a, b), c);
}

/* The block shifted right by N bytes across the lane boundary, the previous block's last
 * bytes coming in: each byte's neighbour N back. */
#define BEFORE(input, prev, n) _mm256_alignr_epi8(input, _mm256_permute2x128_si256(prev, input, 0x21), 16 - (n))

/* A block's errors: its pairs', and whether each third and fourth byte comes where one is due
 * (a lead E0..FF two back, F0..FF three back) and nowhere else. */
__attribute__((target("avx2"))) static inline __m256i block_errors(__m256i input, __m256i prev) {
    __m256i errors = pair_errors(input, BEFORE(input, prev, 1));
    /* Bit 7 set where a byte two back is E0 or above, or three back F0 or above. */
    __m256i third = _mm256_subs_epu8(BEFORE(input, prev, 2), _mm256_set1_epi8((char)(0xE0 - 0x80)));
    __m256i fourth = _mm256_subs_epu8(BEFORE(input, prev, 3), _mm256_set1_epi8((char)(0xF0 - 0x80)));
    __m256i due = _mm256_and_si256(_mm256_or_si256(third, fourth), _mm256_set1_epi8((char)0x80));
    /* TWO_CONTS is bit 7 too: due and present cancel out, either alone is left set. */
    return _mm256_xor_si256(errors, due);
}

/* Nonzero where a block's last bytes open a sequence it does not finish: a lead F0..FF in the
 * third last byte, E0..FF in the second last, C0..FF in the last. */
__attribute__((target("avx2"))) static inline __m256i open_at_end(__m256i input) {
    const __m256i most = _mm256_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                          -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, (char)(0xF0 - 1),
                                          (char)(0xE0 - 1), (char)(0xC0 - 1));
    return _mm256_subs_epu8(input, most);
}

__attribute__((target("avx2"))) int nws__utf8_valid_avx2(const uint8_t *p, size_t len) {
    __m256i errors = _mm256_setzero_si256(), prev = _mm256_setzero_si256(), open = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 32 <= len; i += 32) {
        __m256i input = _mm256_loadu_si256((const __m256i *)(p + i));
        if (_mm256_movemask_epi8(input) == 0) {
            /* ASCII: right unless the block before left a sequence open. */
            errors = _mm256_or_si256(errors, open);
            open = _mm256_setzero_si256();
        } else {
            errors = _mm256_or_si256(errors, block_errors(input, prev));
            open = open_at_end(input);
        }
        prev = input;
    }
    if (i < len) {
        /* The rest, padded with ASCII zeros: a sequence the text leaves open meets a zero. */
        uint8_t last[32] = {0};
        memcpy(last, p + i, len - i);
        __m256i input = _mm256_loadu_si256((const __m256i *)last);
        errors = _mm256_or_si256(errors, block_errors(input, prev));
        open = open_at_end(input);
    }
    errors = _mm256_or_si256(errors, open);
    return _mm256_testz_si256(errors, errors);
}

#endif /* NWS__X86 */
