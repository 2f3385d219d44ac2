/*
 * test_mask_utf8.c — masking and UTF-8 validation, every variant against a reference.
 *
 * Each SIMD variant is called directly (through codec_internal.h), not only the one the
 * dispatcher picks on this CPU, so a bug in a path this machine would never take still
 * fails here. A variant the CPU cannot run is skipped with a printed reason.
 *
 * Build (from the repository root):
 *   cc -std=c11 -O2 -ICSources/CNaviosWS/include -ICSources/CNaviosWS Tests/CTests/test_mask_utf8.c
 *      CSources/CNaviosWS/mask.c CSources/CNaviosWS/utf8.c -o test_mask_utf8
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec_internal.h"
#include "nws_mask.h"
#include "nws_test.h"
#include "utf8_reference.h"
#include "nws_utf8.h"

/* ---- shared helpers ---- */

static uint64_t rng = 0x243F6A8885A308D3ull;

static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

typedef struct {
    const char *name;
    nws__mask_fn fn;
} mask_variant;

typedef struct {
    const char *name;
    nws__ascii_fn fn;
} ascii_variant;

/* nws_mask has an in-place signature; this lets it run through the same loops. */
static void via_nws_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4],
                         size_t phase) {
    if (dst != src) {
        memmove(dst, src, len);
    }
    nws_mask(dst, len, key, phase);
}

static int mask_variants(mask_variant *v) {
    int n = 0;
    v[n++] = (mask_variant){"scalar", nws__mask_scalar};
#if NWS__X86
    if (nws__cpu_sse2()) {
        v[n++] = (mask_variant){"sse2", nws__mask_sse2};
    }
    if (nws__cpu_avx2()) {
        v[n++] = (mask_variant){"avx2", nws__mask_avx2};
    }
#endif
    v[n++] = (mask_variant){"nws_mask", via_nws_mask};
    v[n++] = (mask_variant){"nws_mask_copy", nws_mask_copy};
    return n;
}

static int ascii_variants(ascii_variant *v) {
    int n = 0;
    v[n++] = (ascii_variant){"scalar", nws__ascii_scalar};
#if NWS__X86
    if (nws__cpu_sse2()) {
        v[n++] = (ascii_variant){"sse2", nws__ascii_sse2};
    }
    if (nws__cpu_avx2()) {
        v[n++] = (ascii_variant){"avx2", nws__ascii_avx2};
    }
#endif
    return n;
}

static void report_skips(void) {
#if NWS__X86
    if (!nws__cpu_sse2()) {
        printf("  skip: sse2 variants (this CPU lacks SSE2)\n");
    }
    if (!nws__cpu_avx2()) {
        printf("  skip: avx2 variants (this CPU or OS lacks AVX2)\n");
    }
#else
    printf("  skip: sse2/avx2 variants (not an x86 CPU)\n");
#endif
}

/* ---- mask ---- */

#define MASK_MAX 300
#define PAD 40

static void rfc6455_5_3_maskEveryLengthPhaseAndOffsetMatchesReference(void) {
    mask_variant v[8];
    int nv = mask_variants(v);
    uint8_t src[MASK_MAX + PAD], buf[MASK_MAX + PAD], dst[MASK_MAX + PAD], want[MASK_MAX];
    for (int vi = 0; vi < nv; vi++) {
        int bad = 0;
        for (size_t len = 0; len <= MASK_MAX && !bad; len++) {
            /* Phases past 3 check that only phase & 3 matters. */
            for (size_t phase = 0; phase < 8 && !bad; phase++) {
                for (size_t off = 0; off < 8 && !bad; off++) {
                    uint8_t key[4] = {(uint8_t)rnd(), (uint8_t)rnd(), (uint8_t)rnd(), (uint8_t)rnd()};
                    for (size_t i = 0; i < sizeof src; i++) {
                        src[i] = (uint8_t)rnd();
                    }
                    for (size_t i = 0; i < len; i++) {
                        want[i] = src[off + i] ^ key[(phase + i) & 3];
                    }
                    /* in place */
                    memcpy(buf, src, sizeof buf);
                    v[vi].fn(buf + off, buf + off, len, key, phase);
                    bad |= memcmp(buf + off, want, len) != 0;
                    bad |= memcmp(buf, src, off) != 0;
                    bad |= memcmp(buf + off + len, src + off + len, sizeof buf - off - len) != 0;
                    /* to another buffer, at a different misalignment */
                    size_t doff = (off * 3 + 1) & 7;
                    memset(dst, 0xEE, sizeof dst);
                    v[vi].fn(dst + doff, src + off, len, key, phase);
                    bad |= memcmp(dst + doff, want, len) != 0;
                    for (size_t i = 0; i < sizeof dst; i++) {
                        if ((i < doff || i >= doff + len) && dst[i] != 0xEE) {
                            bad = 1;
                        }
                    }
                    if (bad) {
                        fprintf(stderr, "  mask variant %s: len %zu phase %zu offset %zu\n",
                                v[vi].name, len, phase, off);
                    }
                }
            }
        }
        NWS_CHECK(!bad);
    }
}

static void rfc6455_5_3_maskInPiecesEqualsMaskWhole(void) {
    enum { N = 4096 };
    static uint8_t whole[N], pieces[N];
    const uint8_t key[4] = {0xA1, 0x07, 0x5C, 0xF3};
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < N; i++) {
            whole[i] = pieces[i] = (uint8_t)rnd();
        }
        nws_mask(whole, N, key, 0);
        size_t at = 0, phase = 0;
        while (at < N) {
            size_t n = rnd() % 200;
            if (n > N - at) {
                n = N - at;
            }
            nws_mask(pieces + at, n, key, phase);
            phase = (phase + n) & 3;
            at += n;
        }
        NWS_CHECK_MEM(whole, pieces, N);
    }
}

static void mask_implNamesAVariant(void) {
    const char *impl = nws_mask_impl();
    NWS_CHECK(strcmp(impl, "avx2") == 0 || strcmp(impl, "sse2") == 0 || strcmp(impl, "scalar") == 0);
#if NWS__X86
    if (nws__cpu_avx2()) {
        NWS_CHECK(strcmp(impl, "avx2") == 0);
    }
#endif
    printf("  mask impl: %s, utf8 impl: %s\n", impl, nws_utf8_impl());
}

/* ---- ASCII skipper ---- */

static void utf8_asciiSkipperFindsFirstHighByte(void) {
    ascii_variant v[4];
    int nv = ascii_variants(v);
    uint8_t buf[MASK_MAX + 8];
    for (int vi = 0; vi < nv; vi++) {
        int bad = 0;
        for (size_t len = 0; len <= MASK_MAX && !bad; len++) {
            for (size_t off = 0; off < 4 && !bad; off++) {
                for (size_t pos = 0; pos <= len && !bad; pos++) {
                    for (size_t i = 0; i < sizeof buf; i++) {
                        buf[i] = (uint8_t)(rnd() & 0x7F);
                    }
                    /* A high byte past the end must not be seen; more after pos must not matter. */
                    buf[off + len] = 0xC3;
                    if (pos < len) {
                        buf[off + pos] = (uint8_t)(0x80 | rnd());
                        for (size_t i = pos + 1; i < len; i++) {
                            if (rnd() % 4 == 0) {
                                buf[off + i] = (uint8_t)(0x80 | rnd());
                            }
                        }
                    }
                    size_t got = v[vi].fn(buf + off, len);
                    if (got != pos) {
                        fprintf(stderr, "  ascii variant %s: len %zu off %zu: got %zu want %zu\n",
                                v[vi].name, len, off, got, pos);
                        bad = 1;
                    }
                }
            }
        }
        NWS_CHECK(!bad);
    }
}

/* ---- UTF-8 reference ---- */

static int state_class(uint32_t s) {
    return s == NWS_UTF8_ACCEPT ? 0 : s == NWS_UTF8_REJECT ? 1 : 2;
}

static size_t encode(uint32_t cp, uint8_t *out) {
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | cp >> 18);
    out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* The block validator (where the CPU has AVX2) on its own, whatever the length (the dispatch
 * uses it from 64 bytes on): whole, through the step at every two-piece split, and with the
 * state after each piece's prefix matching the reference. */
static int blocks_agree(const uint8_t *p, size_t n) {
#if NWS__X86
    if (!nws__cpu_avx2()) {
        return 1;
    }
    int ref = ref_utf8(p, n);
    int bad = nws__utf8_valid_avx2(p, n) != (ref == 0);
    for (size_t k = 0; k <= n; k++) {
        uint32_t head = nws__utf8_step_blocks(nws__utf8_valid_avx2, NWS_UTF8_ACCEPT, p, k);
        bad |= state_class(head) != ref_utf8(p, k);
        uint32_t s = nws__utf8_step_blocks(nws__utf8_valid_avx2, head, p + k, n - k);
        bad |= state_class(s) != ref;
    }
    return !bad;
#else
    (void)p, (void)n;
    return 1;
#endif
}

/* Checks one input every way: whole through each variant, at every two-piece split, byte
 * by byte with the state after each prefix matching the reference (fail fast), and against
 * the expected verdict when one is given (want < 0: trust the reference). */
static int check_utf8(const uint8_t *p, size_t n, int want) {
    ascii_variant v[4];
    int nv = ascii_variants(v);
    int ref = ref_utf8(p, n) == 0;
    int bad = want >= 0 && ref != want; /* the reference itself disagrees with the table */
    bad |= nws_utf8_valid(p, n) != ref;
    for (int vi = 0; vi < nv; vi++) {
        bad |= (nws__utf8_step_with(v[vi].fn, NWS_UTF8_ACCEPT, p, n) == NWS_UTF8_ACCEPT) != ref;
    }
    for (size_t k = 0; k <= n; k++) {
        uint32_t s = nws_utf8_step(nws_utf8_step(NWS_UTF8_ACCEPT, p, k), p + k, n - k);
        bad |= (s == NWS_UTF8_ACCEPT) != ref;
    }
    bad |= !blocks_agree(p, n);
    uint32_t s = NWS_UTF8_ACCEPT;
    for (size_t k = 0; k < n; k++) {
        s = nws_utf8_step(s, p + k, 1);
        bad |= state_class(s) != ref_utf8(p, k + 1);
    }
    return !bad;
}

/* ---- UTF-8: Markus Kuhn's stress test categories ---- */

typedef struct {
    const char *name;
    const char *s;
    size_t len;
    int valid;
} utf8_case;

#define OK(name, s) {name, s, sizeof(s) - 1, 1}
#define BAD(name, s) {name, s, sizeof(s) - 1, 0}

static const utf8_case kuhn[] = {
    OK("empty", ""),
    OK("ascii", "Hello, world"),
    OK("NUL", "\x00"),
    OK("kosme", "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5"),
    /* 2.1 first of each length, 2.2 last of each length */
    OK("U+0000", "\x00"), OK("U+0080", "\xC2\x80"), OK("U+0800", "\xE0\xA0\x80"),
    OK("U+10000", "\xF0\x90\x80\x80"),
    OK("U+007F", "\x7F"), OK("U+07FF", "\xDF\xBF"), OK("U+FFFF", "\xEF\xBF\xBF"),
    OK("U+10FFFF", "\xF4\x8F\xBF\xBF"),
    /* 2.3 other boundaries */
    OK("U+D7FF", "\xED\x9F\xBF"), OK("U+E000", "\xEE\x80\x80"), OK("U+FFFD", "\xEF\xBF\xBD"),
    OK("U+FFFE (noncharacter, still valid)", "\xEF\xBF\xBE"), OK("U+FDD0", "\xEF\xB7\x90"),
    BAD("U+110000", "\xF4\x90\x80\x80"), BAD("U+13FFFF", "\xF4\xBF\xBF\xBF"),
    BAD("U+1FFFFF", "\xF7\xBF\xBF\xBF"),
    BAD("5-byte form", "\xF8\x88\x80\x80\x80"), BAD("6-byte form", "\xFC\x84\x80\x80\x80\x80"),
    BAD("lead F5", "\xF5\x80\x80\x80"), BAD("FE", "\xFE"), BAD("FF", "\xFF"),
    BAD("FE FE FF FF", "\xFE\xFE\xFF\xFF"),
    /* 3.1 unexpected continuation bytes */
    BAD("lone 80", "\x80"), BAD("lone BF", "\xBF"), BAD("80 BF", "\x80\xBF"),
    BAD("80 BF 80 BF 80", "\x80\xBF\x80\xBF\x80"), BAD("after ascii", "ab\x80" "cd"),
    BAD("one too many", "\xC2\x80\x80"),
    /* 3.2 lonely start characters */
    BAD("C0 space", "\xC0 "), BAD("DF space", "\xDF "), BAD("E0 space", "\xE0 "),
    BAD("EF space", "\xEF "), BAD("F0 space", "\xF0 "), BAD("F4 space", "\xF4 "),
    /* 3.3 sequences with the last byte missing, 3.4 concatenated */
    BAD("C2 cut", "\xC2"), BAD("DF cut", "\xDF"), BAD("E0 A0 cut", "\xE0\xA0"), BAD("E1 cut", "\xE1"),
    BAD("EF BF cut", "\xEF\xBF"), BAD("F0 90 80 cut", "\xF0\x90\x80"), BAD("F4 8F BF cut", "\xF4\x8F\xBF"),
    BAD("cut then ascii", "\xE2\x82" "a"),
    BAD("concatenated cuts", "\xC2\xE0\xA0\xF0\x90\x80\xDF\xEF\xBF\xF4\x8F\xBF"),
    /* 4.1 overlong '/', 4.2 maximum overlongs, 4.3 overlong NUL */
    BAD("overlong / 2", "\xC0\xAF"), BAD("overlong / 3", "\xE0\x80\xAF"),
    BAD("overlong / 4", "\xF0\x80\x80\xAF"), BAD("overlong / 5", "\xF8\x80\x80\x80\xAF"),
    BAD("max overlong 2", "\xC1\xBF"), BAD("max overlong 3", "\xE0\x9F\xBF"),
    BAD("max overlong 4", "\xF0\x8F\xBF\xBF"),
    BAD("overlong NUL 2", "\xC0\x80"), BAD("overlong NUL 3", "\xE0\x80\x80"),
    BAD("overlong NUL 4", "\xF0\x80\x80\x80"),
    /* 5.1 single surrogates, 5.2 paired surrogates */
    BAD("U+D800", "\xED\xA0\x80"), BAD("U+DB7F", "\xED\xAD\xBF"), BAD("U+DB80", "\xED\xAE\x80"),
    BAD("U+DBFF", "\xED\xAF\xBF"), BAD("U+DC00", "\xED\xB0\x80"), BAD("U+DFFF", "\xED\xBF\xBF"),
    BAD("U+D800 U+DC00", "\xED\xA0\x80\xED\xB0\x80"), BAD("U+DBFF U+DFFF", "\xED\xAF\xBF\xED\xBF\xBF"),
    /* valid text around an invalid byte */
    BAD("valid then invalid", "abc\xC0\xAF" "def"), BAD("multibyte then FF", "\xCE\xBA\xFF"),
    OK("mixed", "Gr\xC3\xBC\xC3\x9F" "e \xE2\x82\xAC \xF0\x9F\x8E\x89 \xE4\xB8\x96"),
};

static void rfc3629_kuhnStressCasesMatchTable(void) {
    for (size_t i = 0; i < sizeof kuhn / sizeof kuhn[0]; i++) {
        const uint8_t *p = (const uint8_t *)kuhn[i].s;
        if (!check_utf8(p, kuhn[i].len, kuhn[i].valid)) {
            fprintf(stderr, "  utf8 case \"%s\" (want %s)\n", kuhn[i].name,
                    kuhn[i].valid ? "valid" : "invalid");
            NWS_CHECK(0);
        }
    }
}

/* The same cases inside ASCII runs of every length up to past two AVX2 blocks, so the hand-off
 * between the vector skipper and the DFA is exercised at every alignment. */
static void rfc3629_kuhnCasesInsideAsciiRuns(void) {
    uint8_t buf[256];
    for (size_t i = 0; i < sizeof kuhn / sizeof kuhn[0]; i++) {
        for (size_t pre = 0; pre <= 70; pre++) {
            size_t n = 0;
            for (size_t k = 0; k < pre; k++) {
                buf[n++] = (uint8_t)('a' + k % 26);
            }
            memcpy(buf + n, kuhn[i].s, kuhn[i].len);
            n += kuhn[i].len;
            for (size_t k = 0; k < 40; k++) {
                buf[n++] = (uint8_t)('0' + k % 10);
            }
            if (!check_utf8(buf, n, kuhn[i].valid)) {
                fprintf(stderr, "  utf8 case \"%s\" after %zu ASCII bytes\n", kuhn[i].name, pre);
                NWS_CHECK(0);
                break;
            }
        }
    }
}

static void rfc3629_everyContinuationAndLeadByteAlone(void) {
    uint8_t b[2];
    for (int c = 0x80; c <= 0xFF; c++) {
        b[0] = (uint8_t)c;
        b[1] = ' ';
        NWS_CHECK(check_utf8(b, 1, 0));
        NWS_CHECK(check_utf8(b, 2, 0));
    }
}

static void rfc3629_everyCodePointRoundTrips(void) {
    uint8_t b[4];
    int bad = 0;
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        size_t n = encode(cp, b);
        int want = !(cp >= 0xD800 && cp <= 0xDFFF);
        bad |= nws_utf8_valid(b, n) != want;
    }
    NWS_CHECK(!bad);
}

static void utf8_rejectIsStickyAndAcceptIsZero(void) {
    NWS_CHECK_EQ(NWS_UTF8_ACCEPT, 0);
    NWS_CHECK_EQ(NWS_UTF8_REJECT, 1);
    NWS_CHECK_EQ(nws_utf8_step(NWS_UTF8_ACCEPT, (const uint8_t *)"", 0), NWS_UTF8_ACCEPT);
    uint32_t s = nws_utf8_step(NWS_UTF8_ACCEPT, (const uint8_t *)"a\xFF", 2);
    NWS_CHECK_EQ(s, NWS_UTF8_REJECT);
    NWS_CHECK_EQ(nws_utf8_step(s, (const uint8_t *)"", 0), NWS_UTF8_REJECT);
    NWS_CHECK_EQ(nws_utf8_step(s, (const uint8_t *)"abc", 3), NWS_UTF8_REJECT);
    NWS_CHECK_EQ(nws_utf8_step(s, (const uint8_t *)"\x80", 1), NWS_UTF8_REJECT);
    /* open sequence: neither ACCEPT nor REJECT, and completes later */
    s = nws_utf8_step(NWS_UTF8_ACCEPT, (const uint8_t *)"\xF0\x9F", 2);
    NWS_CHECK(s != NWS_UTF8_ACCEPT && s != NWS_UTF8_REJECT);
    NWS_CHECK_EQ(nws_utf8_step(s, (const uint8_t *)"\x8E\x89", 2), NWS_UTF8_ACCEPT);
    /* a state the validator never returns is not trusted */
    NWS_CHECK_EQ(nws_utf8_step(0xDEAD, (const uint8_t *)"a", 1), NWS_UTF8_REJECT);
}

/* ---- UTF-8: random comparison with the reference ---- */

static size_t random_text(uint8_t *out, size_t max, int ascii_heavy) {
    static const uint8_t odd[] = {0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0,
                                  0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF};
    size_t n = 0, len = rnd() % (max + 1);
    while (n + 4 <= len) {
        uint32_t r = rnd() % 100;
        if (r < (ascii_heavy ? 97u : 40u)) {
            out[n++] = (uint8_t)(rnd() & 0x7F);
        } else if (r < (ascii_heavy ? 99u : 75u)) {
            static const uint32_t top[] = {0x7F, 0x7FF, 0xFFFF, 0x10FFFF};
            uint32_t cp = rnd() % (top[rnd() % 4] + 1);
            /* encode() writes surrogates too; keep them rare so most text stays valid. */
            if (cp >= 0xD800 && cp <= 0xDFFF && rnd() % 4 != 0) {
                cp -= 0x800;
            }
            n += encode(cp, out + n);
        } else {
            out[n++] = odd[rnd() % sizeof odd];
        }
    }
    return n;
}

static void rfc3629_fuzzAgainstReferenceDecoder(void) {
    uint8_t buf[96];
    int bad = 0;
    for (int i = 0; i < 60000 && !bad; i++) {
        size_t n = random_text(buf, 64, 0);
        if (!check_utf8(buf, n, -1)) {
            bad = 1;
            fprintf(stderr, "  utf8 fuzz mismatch, input:");
            for (size_t k = 0; k < n; k++) {
                fprintf(stderr, " %02X", buf[k]);
            }
            fprintf(stderr, "\n");
        }
    }
    NWS_CHECK(!bad);
}

static void rfc3629_fuzzLongMostlyAsciiText(void) {
    static uint8_t buf[4100];
    ascii_variant v[4];
    int nv = ascii_variants(v);
    int bad = 0;
    for (int i = 0; i < 3000 && !bad; i++) {
        size_t n = random_text(buf, 4096, 1);
        int ref = ref_utf8(buf, n) == 0;
        bad |= nws_utf8_valid(buf, n) != ref;
        for (int vi = 0; vi < nv; vi++) {
            bad |= (nws__utf8_step_with(v[vi].fn, NWS_UTF8_ACCEPT, buf, n) == NWS_UTF8_ACCEPT) != ref;
        }
        size_t k = n ? rnd() % n : 0;
        uint32_t s = nws_utf8_step(nws_utf8_step(NWS_UTF8_ACCEPT, buf, k), buf + k, n - k);
        bad |= (s == NWS_UTF8_ACCEPT) != ref;
        bad |= state_class(nws_utf8_step(NWS_UTF8_ACCEPT, buf, k)) != ref_utf8(buf, k);
    }
    NWS_CHECK(!bad);
}

/* Every lead byte with every second byte class, and the 3- and 4-byte forms around their
 * limits, at each offset of three 32-byte blocks inside ASCII and inside other valid
 * characters: every pair of bytes, and every third and fourth byte, meets a block boundary. */
static void utf8_blocksSeeEverySequenceAcrossBlockBoundaries(void) {
    static const uint8_t seconds[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xE0, 0xF0, 0xFF};
    static const uint8_t others[] = {0x80, 0x8F, 0xBF, 0x41, 0xC2};
    static const char *fillers[] = {"a", "\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80"};
    uint8_t buf[128];
    int bad = 0;
    for (int lead = 0x80; lead <= 0xFF && !bad; lead++) {
        for (size_t si = 0; si < sizeof seconds; si++) {
            for (size_t oi = 0; oi < sizeof others; oi++) {
                uint8_t seq[4] = {(uint8_t)lead, seconds[si], others[oi], others[(oi + 1) % sizeof others]};
                for (size_t len = 1; len <= 4; len++) {
                    for (size_t fi = 0; fi < 4; fi++) {
                        size_t flen = strlen(fillers[fi]);
                        for (size_t at = 0; at + len <= sizeof buf && at < 100; at += 1 + (at > 36 && at < 90) * 2) {
                            size_t n = 0;
                            while (n + flen <= at) {
                                memcpy(buf + n, fillers[fi], flen), n += flen;
                            }
                            memcpy(buf + n, seq, len);
                            n += len;
                            while (n + flen <= sizeof buf) {
                                memcpy(buf + n, fillers[fi], flen), n += flen;
                            }
                            int ref = ref_utf8(buf, n) == 0;
                            bad |= nws_utf8_valid(buf, n) != ref;
#if NWS__X86
                            if (nws__cpu_avx2()) {
                                bad |= nws__utf8_valid_avx2(buf, n) != ref;
                            }
#endif
                            if (bad) {
                                fprintf(stderr, "  lead %02X len %zu filler %zu at %zu\n", lead, len, fi, at);
                                break;
                            }
                        }
                    }
                }
            }
        }
    }
    NWS_CHECK(!bad);
}

/* Long text of every script mix against the reference: the block path whole and in random
 * pieces (a message's fragments), with the state after each piece. */
static void rfc3629_fuzzLongMixedText(void) {
    static uint8_t buf[4100];
    int bad = 0;
    for (int i = 0; i < 3000 && !bad; i++) {
        size_t n = random_text(buf, 4096, 0);
        int ref = ref_utf8(buf, n) == 0;
        bad |= nws_utf8_valid(buf, n) != ref;
        uint32_t s = NWS_UTF8_ACCEPT;
        for (size_t at = 0; at < n;) {
            size_t piece = 1 + rnd() % 300;
            if (piece > n - at) {
                piece = n - at;
            }
            s = nws_utf8_step(s, buf + at, piece);
            at += piece;
            bad |= state_class(s) != ref_utf8(buf, at);
        }
        bad |= (s == NWS_UTF8_ACCEPT) != ref;
#if NWS__X86
        if (nws__cpu_avx2()) {
            bad |= nws__utf8_valid_avx2(buf, n) != ref;
        }
#endif
        if (bad) {
            fprintf(stderr, "  mixed fuzz mismatch at %d (%zu bytes)\n", i, n);
        }
    }
    NWS_CHECK(!bad);
}

int main(void) {
    report_skips();
    NWS_RUN(rfc6455_5_3_maskEveryLengthPhaseAndOffsetMatchesReference);
    NWS_RUN(rfc6455_5_3_maskInPiecesEqualsMaskWhole);
    NWS_RUN(mask_implNamesAVariant);
    NWS_RUN(utf8_asciiSkipperFindsFirstHighByte);
    NWS_RUN(rfc3629_kuhnStressCasesMatchTable);
    NWS_RUN(rfc3629_kuhnCasesInsideAsciiRuns);
    NWS_RUN(rfc3629_everyContinuationAndLeadByteAlone);
    NWS_RUN(rfc3629_everyCodePointRoundTrips);
    NWS_RUN(utf8_rejectIsStickyAndAcceptIsZero);
    NWS_RUN(rfc3629_fuzzAgainstReferenceDecoder);
    NWS_RUN(rfc3629_fuzzLongMostlyAsciiText);
    NWS_RUN(utf8_blocksSeeEverySequenceAcrossBlockBoundaries);
    NWS_RUN(rfc3629_fuzzLongMixedText);
    return nws_test_summary("mask_utf8");
}
