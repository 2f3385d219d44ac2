/*
 * fuzz_utf8.c — UTF-8 validation, every path against a reference decoder written from
 * RFC 3629's code point ranges (Tests/CTests/utf8_reference.h): the dispatched validator,
 * the DFA with each ASCII skipper, the AVX2 block validator on its own and behind the DFA,
 * whole and in pieces cut at points drawn from the input, with the state after each piece.
 */
#include "codec_internal.h"
#include "fuzz_common.h"
#include "nws_utf8.h"
#include "utf8_reference.h"

static int state_class(uint32_t s) {
    return s == NWS_UTF8_ACCEPT ? 0 : s == NWS_UTF8_REJECT ? 1 : 2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
    const uint8_t *p = fuzz_against_guard(data, len);
    fuzz_rng rng = fuzz_seed(data, len);
    int ref = ref_utf8(p, len);
    FUZZ_CHECK(nws_utf8_valid(p, len) == (ref == 0));
    FUZZ_CHECK(state_class(nws__utf8_step_with(nws__ascii_scalar, NWS_UTF8_ACCEPT, p, len)) == ref);
#if NWS__X86
    if (nws__cpu_sse2()) {
        FUZZ_CHECK(state_class(nws__utf8_step_with(nws__ascii_sse2, NWS_UTF8_ACCEPT, p, len)) == ref);
    }
    if (nws__cpu_avx2()) {
        FUZZ_CHECK(state_class(nws__utf8_step_with(nws__ascii_avx2, NWS_UTF8_ACCEPT, p, len)) == ref);
        FUZZ_CHECK(nws__utf8_valid_avx2(p, len) == (ref == 0));
        FUZZ_CHECK(state_class(nws__utf8_step_blocks(nws__utf8_valid_avx2, NWS_UTF8_ACCEPT, p, len)) == ref);
    }
#endif
    /* In pieces, as the fragments of a message: the state after each is the prefix's. */
    uint32_t s = NWS_UTF8_ACCEPT;
    size_t at = 0;
    while (at < len) {
        size_t n = 1 + fuzz_next(&rng) % (len - at < 200 ? len - at : 200);
        s = nws_utf8_step(s, p + at, n);
        at += n;
        FUZZ_CHECK(state_class(s) == ref_utf8(p, at));
    }
    FUZZ_CHECK(state_class(s) == ref);
    return 0;
}
