/*
 * nws_mask.h — RFC 6455 §5.3 payload masking (XOR with a 4-byte key).
 *
 * The key is applied starting at key[phase & 3], so a payload that arrives in pieces is
 * unmasked piece by piece: the phase of the next piece is (phase + len) & 3.
 * Word-at-a-time, with SSE2 and AVX2 variants chosen once at run time from CPUID.
 *
 * Buffers belong to the caller; nothing allocates; any thread.
 */
#ifndef NWS_MASK_H
#define NWS_MASK_H

#include <stddef.h>
#include <stdint.h>

/* XOR data[0..len) in place with the key, starting at key[phase & 3]. */
void nws_mask(uint8_t *data, size_t len, const uint8_t key[4], size_t phase);

/* dst[i] = src[i] ^ key[(phase + i) & 3]; dst and src may be equal, never partially overlap. */
void nws_mask_copy(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase);

/* "avx2", "sse2" or "scalar": the variant chosen on this CPU (for benchmarks and logs). */
const char *nws_mask_impl(void);

#endif
