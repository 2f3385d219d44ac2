/*
 * fuzz_json.c — the JSON envelope scanner (nws_json_members), the validator and the skipper
 * of CNaviosJSON, against each other, on text that ends against a page they may not touch.
 *
 * Depth is bounded (NWS_JSON_MAX_DEPTH): a thousand nested brackets must be refused, not
 * recursed into. What must agree:
 * - the scanner accepts a text only if the validator does (no key is delimit-only here);
 * - the skipper's length is the whole text exactly when the text is one value without
 *   surrounding space, and what it skips validates on its own;
 * - every member found lies inside the text, is a value of its kind, and validates alone;
 *   an integer it reports is the number as written.
 */
#include <stdlib.h>

#include "fuzz_common.h"
#include "nws_json.h"

static const char *const names[] = {"event", "data", "id", "ack", "a\\u0062", "type", "nsp", "x"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
    static nws_json_keys set;
    static int ready;
    if (!ready) {
        nws_json_keys_init(&set, names, sizeof names / sizeof names[0]);
        ready = 1;
    }
    const uint8_t *text = fuzz_against_guard(data, len);
    int valid = nws_json_validate(text, len);
    FUZZ_CHECK(valid == 0 || valid == NWS_JSON_INVALID);
    long skipped = nws_json_skip(text, len);
    FUZZ_CHECK(skipped == NWS_JSON_INVALID || (skipped > 0 && (size_t)skipped <= len));
    if (skipped > 0) {
        FUZZ_CHECK(nws_json_validate(text, (size_t)skipped) == 0);
        if ((size_t)skipped == len) FUZZ_CHECK(valid == 0);
    }
    nws_json_member out[NWS_JSON_MAX_KEYS];
    int found = nws_json_members(text, len, &set, out);
    if (found == NWS_JSON_INVALID) return 0;
    FUZZ_CHECK(valid == 0);
    for (size_t k = 0; k < set.count; k++) {
        if (!(found & (1 << k))) continue;
        const nws_json_member *m = &out[k];
        FUZZ_CHECK(m->value >= text && m->value + m->len <= text + len && m->len > 0);
        FUZZ_CHECK(nws_json_validate(m->value, m->len) == 0);
        FUZZ_CHECK(nws_json_skip(m->value, m->len) == (long)m->len);
        switch (m->kind) {
        case NWS_JSON_STRING: FUZZ_CHECK(m->value[0] == '"' && m->value[m->len - 1] == '"'); break;
        case NWS_JSON_OBJECT: FUZZ_CHECK(m->value[0] == '{' && m->value[m->len - 1] == '}'); break;
        case NWS_JSON_ARRAY: FUZZ_CHECK(m->value[0] == '[' && m->value[m->len - 1] == ']'); break;
        case NWS_JSON_TRUE: FUZZ_CHECK(m->len == 4 && memcmp(m->value, "true", 4) == 0); break;
        case NWS_JSON_FALSE: FUZZ_CHECK(m->len == 5 && memcmp(m->value, "false", 5) == 0); break;
        case NWS_JSON_NULL: FUZZ_CHECK(m->len == 4 && memcmp(m->value, "null", 4) == 0); break;
        case NWS_JSON_NUMBER:
            if (m->is_safe_integer) {
                char digits[32];
                FUZZ_CHECK(m->len < sizeof digits);
                memcpy(digits, m->value, m->len);
                digits[m->len] = 0;
                FUZZ_CHECK(strtoll(digits, NULL, 10) == m->integer);
            }
            break;
        default: FUZZ_CHECK(0);
        }
    }
    return 0;
}
