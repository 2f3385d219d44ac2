/*
 * nws_json.h — finding given members of a JSON object without building any value: what a
 * wire protocol's envelope scan is made of ({"event":"chat:message","data":{...},"id":7}).
 *
 * The scanner validates the whole text as JSON (RFC 8259: strings and their escapes, numbers,
 * literals, nesting up to NWS_JSON_MAX_DEPTH), except the object or array values of the keys
 * the caller marks delimit_only (it validates those as it reads them), and reports where the
 * values of the keys asked for lie, so the caller decodes only what it needs, and only into
 * the type it needs. Keys are
 * compared as JSON means them, after their escapes are undone ("\u0065vent" is "event"); a key
 * asked for that appears twice, however each was spelled, makes the text invalid; other keys
 * are validated and skipped. The keys are the caller's: this file knows none.
 *
 * Pure functions over the caller's bytes; no allocation; any thread. Text is expected to be
 * valid UTF-8 (the frame layer checks it); bytes of 0x80 and above pass through strings as
 * they are.
 */
#ifndef NWS_JSON_H
#define NWS_JSON_H

#include <stddef.h>
#include <stdint.h>

#define NWS_JSON_MAX_DEPTH 64
#define NWS_JSON_INVALID (-1)
/* A set holds at most this many keys, each of at most NWS_JSON_KEY_MAX bytes of ASCII. */
#define NWS_JSON_MAX_KEYS 8
#define NWS_JSON_KEY_MAX 32

/* The keys to look for, prepared once (nws_json_keys_init) and used for every text. */
typedef struct nws_json_keys {
    size_t count;
    const char *name[NWS_JSON_MAX_KEYS];   /* the caller's strings: they must outlive the set */
    uint8_t len[NWS_JSON_MAX_KEYS];
    uint64_t word[NWS_JSON_MAX_KEYS];      /* "key" with its quotes, when that fits 8 bytes */
    uint64_t mask[NWS_JSON_MAX_KEYS];      /* the bytes of word that count; 0 when it does not fit */
    int has_long_keys;                     /* some key does not fit a word with its quotes */
    /* A bit per key whose object or array value is only delimited, not validated: its strings
     * are followed and its nesting counted, nothing else checked. For a value the caller reads
     * with a validating reader anyway, so that it is not validated twice; the caller checks it
     * (nws_json_validate) before anything else trusts it. Set after nws_json_keys_init. */
    unsigned delimit_only;
} nws_json_keys;

enum nws_json_kind {
    NWS_JSON_ABSENT = 0, NWS_JSON_STRING, NWS_JSON_NUMBER, NWS_JSON_OBJECT, NWS_JSON_ARRAY,
    NWS_JSON_TRUE, NWS_JSON_FALSE, NWS_JSON_NULL,
};

/* Where one key's value lies (written only for the keys found). */
typedef struct nws_json_member {
    const uint8_t *value;     /* the value's text (a string with its quotes) */
    size_t len;
    uint8_t kind;             /* enum nws_json_kind */
    uint8_t escaped;          /* a string value holds backslash escapes: undo them before use */
    uint8_t is_safe_integer;  /* a number that is an integer from 0 to 2^53 - 1 (as JavaScript
                                 counts exactly), written without fraction, exponent or leading
                                 zero: its value is in integer */
    int64_t integer;
} nws_json_member;

/* Prepares a set of keys (names: NUL-terminated ASCII; at most NWS_JSON_MAX_KEYS are kept). */
void nws_json_keys_init(nws_json_keys *set, const char *const *names, size_t count);

/* A bit per key of the set that the object has (bit k: out[k] is filled; the other entries are
 * left as they were), or NWS_JSON_INVALID (negative) when the text is not JSON, is not an
 * object, or has a key of the set twice. out has set->count entries. */
int nws_json_members(const uint8_t *text, size_t len, const nws_json_keys *set, nws_json_member *out);

/* How many bytes from s[0] a JSON string holds as they are: the index of the first '"', '\\'
 * or control character (< 0x20), or len when there is none. For scanning and for escaping. */
size_t nws_json_plain_run(const uint8_t *s, size_t len);

/* 0 when text[0..len) is one valid JSON value (surrounding white space allowed), else
 * NWS_JSON_INVALID. */
int nws_json_validate(const uint8_t *text, size_t len);

/* The length of the one valid JSON value that text starts with (no white space before it), or
 * NWS_JSON_INVALID: for a reader that skips a value it does not want, validating it. */
long nws_json_skip(const uint8_t *text, size_t len);

#endif
