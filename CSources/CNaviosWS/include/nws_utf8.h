/*
 * nws_utf8.h — incremental UTF-8 validation (RFC 3629), as RFC 6455 §8.1 requires for text
 * messages and close reasons.
 *
 * The validator is a resumable state machine: a message that arrives in fragments is
 * validated fragment by fragment, and an invalid sequence is reported at the first piece
 * that makes it impossible (fail fast), not only at the end of the message.
 * ASCII runs are skipped by words (SSE2 or AVX2 where the CPU has it); other bytes go
 * through a byte-class DFA. Overlong forms, surrogates (U+D800..U+DFFF) and code points
 * above U+10FFFF are rejected.
 *
 * Nothing allocates; any thread.
 */
#ifndef NWS_UTF8_H
#define NWS_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The state before any byte, and after a complete, valid sequence. */
#define NWS_UTF8_ACCEPT 0u
/* Sticky: once returned, every later call returns it too. */
#define NWS_UTF8_REJECT 1u

/* Advances the validator over p[0..len). Returns the new state: NWS_UTF8_ACCEPT when the
 * text so far ends on a character boundary, NWS_UTF8_REJECT when it cannot be valid UTF-8
 * whatever follows, anything else when a multi-byte sequence is still open. */
uint32_t nws_utf8_step(uint32_t state, const uint8_t *p, size_t len);

/* 1 when p[0..len) is complete, valid UTF-8; 0 otherwise. */
int nws_utf8_valid(const uint8_t *p, size_t len);

/* "avx2", "sse2" or "scalar": the ASCII fast path chosen on this CPU. */
const char *nws_utf8_impl(void);

#endif
