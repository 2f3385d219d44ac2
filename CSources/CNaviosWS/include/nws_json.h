/*
 * nws_json.h — scanning the gateway protocol's JSON envelope,
 * {"event":"chat:message","data":{...},"id":7}, without building any value.
 *
 * The scanner validates the whole text as JSON (RFC 8259: strings and their escapes, numbers,
 * literals, nesting up to NWS_JSON_MAX_DEPTH) and reports where the event name and the data
 * value lie, so the Swift layer decodes only the payload, and only into the handler's type.
 * Keys are compared after their escapes are undone, as JSON means them: "\u0065vent" is
 * "event". Keys other than event, data, id and ack are allowed and ignored; a repeated key
 * among those four is an error, however each was spelled.
 *
 * Pure function over the caller's bytes; no allocation; any thread.
 */
#ifndef NWS_JSON_H
#define NWS_JSON_H

#include <stddef.h>
#include <stdint.h>

#define NWS_JSON_MAX_DEPTH 64

typedef struct nws_envelope {
    const uint8_t *event;     /* the event name's bytes between the quotes, or NULL */
    size_t event_len;
    int event_escaped;        /* the name contains backslash escapes: unescape before use */
    const uint8_t *data;      /* the raw JSON text of "data", or NULL when absent */
    size_t data_len;
    int has_id;               /* "id" was present: a non-negative integer below 2^53 */
    int64_t id;
    int has_ack;              /* "ack" was present (a client answering a server's "id"): same rules */
    int64_t ack;
} nws_envelope;

/* 0 and *out filled, or NWS_EJSON when the text is not JSON, is not an object, has a
 * non-string "event", a non-integer or negative "id" or "ack", or a repeated key among them. */
int nws_json_envelope(const uint8_t *text, size_t len, nws_envelope *out);

/* How many bytes from s[0] a JSON string holds as they are: the index of the first '"', '\\'
 * or control character (< 0x20), or len when there is none. For scanning and for escaping. */
size_t nws_json_plain_run(const uint8_t *s, size_t len);

/* 0 when text[0..len) is one valid JSON value (surrounding white space allowed), else NWS_EJSON. */
int nws_json_validate(const uint8_t *text, size_t len);

#endif
