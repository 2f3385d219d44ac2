/*
 * utf8_reference.h — a UTF-8 decoder written from RFC 3629's definition by code point
 * ranges, sharing nothing with the validator: what the tests and the fuzzer compare every
 * validation path with.
 */
#ifndef NWS_UTF8_REFERENCE_H
#define NWS_UTF8_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

/* Returns 0 when p[0..n) is complete and valid, 1 when no continuation can make it
 * valid, 2 when it is a valid prefix that ends inside a character. For a cut sequence the
 * code points it could still become form one interval; it is viable when that interval
 * meets the valid code points of that length. */
static inline int ref_utf8(const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i++];
        if (c < 0x80) {
            continue;
        }
        int need;
        uint32_t cp, lo, hi;
        if (c >= 0xC0 && c <= 0xDF) {
            need = 1, cp = c & 0x1Fu, lo = 0x80, hi = 0x7FF;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2, cp = c & 0x0Fu, lo = 0x800, hi = 0xFFFF;
        } else if (c >= 0xF0 && c <= 0xF7) {
            need = 3, cp = c & 0x07u, lo = 0x10000, hi = 0x10FFFF;
        } else {
            return 1;
        }
        int got = 0;
        while (got < need && i < n) {
            if ((p[i] & 0xC0) != 0x80) {
                return 1;
            }
            cp = cp << 6 | (p[i] & 0x3Fu);
            got++;
            i++;
        }
        uint32_t min = cp, max = cp;
        for (int k = got; k < need; k++) {
            min = min << 6;
            max = max << 6 | 0x3F;
        }
        uint32_t a = min > lo ? min : lo, b = max < hi ? max : hi;
        if (a > b || (a >= 0xD800 && b <= 0xDFFF)) {
            return 1;
        }
        if (got < need) {
            return 2;
        }
    }
    return 0;
}

#endif
