/*
 * test_json.c — the envelope scanner: it finds event, data and id wherever they stand,
 * validates the whole text as JSON (RFC 8259), refuses what a gateway must not act on, and
 * never reads past the end (every prefix of every input is scanned and must be refused,
 * since no proper prefix of a JSON object is a JSON object).
 */
#include <stdlib.h>

#include "nws_error.h"
#include "nws_json.h"
#include "nws_test.h"

static int scan(const char *text, nws_envelope *env) {
    return nws_json_envelope((const uint8_t *)text, strlen(text), env);
}

static int span_is(const uint8_t *p, size_t n, const char *want) {
    return p != NULL && n == strlen(want) && memcmp(p, want, n) == 0;
}

static void envelope_findsEventDataAndIdInAnyOrder(void) {
    nws_envelope e;
    NWS_CHECK_EQ(scan("{\"event\":\"chat:message\",\"data\":{\"roomId\":\"1\",\"text\":\"hi\"},\"id\":7}", &e), 0);
    NWS_CHECK(span_is(e.event, e.event_len, "chat:message"));
    NWS_CHECK(span_is(e.data, e.data_len, "{\"roomId\":\"1\",\"text\":\"hi\"}"));
    NWS_CHECK(e.has_id && e.id == 7);
    NWS_CHECK_EQ(scan(" { \"id\" : 0 , \"data\" : [1, 2.5e3, null] , \"x\": {\"event\": 1}, \"event\" : \"a\" } ", &e), 0);
    NWS_CHECK(span_is(e.event, e.event_len, "a"));
    NWS_CHECK(span_is(e.data, e.data_len, "[1, 2.5e3, null]"));
    NWS_CHECK(e.has_id && e.id == 0);
}

static void envelope_findsTheAckOfAClientAnswer(void) {
    nws_envelope e;
    NWS_CHECK_EQ(scan("{\"ack\":42,\"data\":{\"ok\":true}}", &e), 0);
    NWS_CHECK(e.has_ack && e.ack == 42 && !e.has_id && e.event == NULL);
    NWS_CHECK_EQ(scan("{\"ack\":1,\"ack\":2}", &e), NWS_EJSON);
    NWS_CHECK_EQ(scan("{\"ack\":-1}", &e), NWS_EJSON);
}

static void envelope_withoutDataOrIdLeavesThemAbsent(void) {
    nws_envelope e;
    NWS_CHECK_EQ(scan("{\"event\":\"ping\"}", &e), 0);
    NWS_CHECK(e.data == NULL && !e.has_id);
    NWS_CHECK(span_is(e.event, e.event_len, "ping"));
}

static void envelope_reportsEscapesInTheEventName(void) {
    nws_envelope e;
    NWS_CHECK_EQ(scan("{\"event\":\"a\\u0062\\\"c\"}", &e), 0);
    NWS_CHECK(e.event_escaped);
    NWS_CHECK(span_is(e.event, e.event_len, "a\\u0062\\\"c"));
    NWS_CHECK_EQ(scan("{\"event\":\"plain\"}", &e), 0);
    NWS_CHECK(!e.event_escaped);
}

static void envelope_refusesWhatAGatewayMustNotActOn(void) {
    const char *bad[] = {
        "", "[]", "\"event\"", "{\"event\":1}", "{\"event\":\"a\",\"event\":\"b\"}",
        "{\"event\":\"a\",\"id\":-1}", "{\"event\":\"a\",\"id\":1.5}", "{\"event\":\"a\",\"id\":\"7\"}",
        "{\"event\":\"a\",\"id\":007}", "{\"event\":\"a\",\"id\":9007199254740992}",
        "{\"event\":\"a\",\"data\":1,\"data\":2}", "{\"event\":\"a\"} x", "{\"event\":\"a\",}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        nws_envelope e;
        int rc = scan(bad[i], &e);
        if (rc != NWS_EJSON) fprintf(stderr, "  accepted: %s\n", bad[i]);
        NWS_CHECK_EQ(rc, NWS_EJSON);
    }
}

static void rfc8259_validatorAcceptsValidAndRefusesInvalidJson(void) {
    const char *good[] = {"0", "-0", "1.0e+10", "\"\\u00e9\\n\"", "[[],{}]", "true", " null ",
                          "{\"a\":[1,{\"b\":false}]}", "\"\xc3\xa9\"", "-12.5E-3"};
    const char *bad[] = {"01", "1.", ".5", "+1", "1e", "-", "tru", "nul", "[1,]", "{\"a\"}", "{\"a\":}",
                         "\"\\x\"", "\"\\u12g4\"", "\"tab\there\"", "{'a':1}", "[1 2]", "\"open", "{\"a\":1"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        int rc = nws_json_validate((const uint8_t *)good[i], strlen(good[i]));
        if (rc != 0) fprintf(stderr, "  refused: %s\n", good[i]);
        NWS_CHECK_EQ(rc, 0);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = nws_json_validate((const uint8_t *)bad[i], strlen(bad[i]));
        if (rc != NWS_EJSON) fprintf(stderr, "  accepted: %s\n", bad[i]);
        NWS_CHECK_EQ(rc, NWS_EJSON);
    }
}

static void rfc8259_nestingDeeperThanTheLimitIsRefused(void) {
    char deep[2 * NWS_JSON_MAX_DEPTH + 8];
    size_t n = 0;
    for (int i = 0; i < NWS_JSON_MAX_DEPTH; i++) deep[n++] = '[';
    for (int i = 0; i < NWS_JSON_MAX_DEPTH; i++) deep[n++] = ']';
    NWS_CHECK_EQ(nws_json_validate((const uint8_t *)deep, n), 0);
    char deeper[2 * NWS_JSON_MAX_DEPTH + 8];
    n = 0;
    for (int i = 0; i <= NWS_JSON_MAX_DEPTH; i++) deeper[n++] = '[';
    for (int i = 0; i <= NWS_JSON_MAX_DEPTH; i++) deeper[n++] = ']';
    NWS_CHECK_EQ(nws_json_validate((const uint8_t *)deeper, n), NWS_EJSON);
}

/* Each prefix in its own exact-size heap block: ASan reports any read past its end. */
static void envelope_everyProperPrefixIsRefusedWithoutOverread(void) {
    const char *inputs[] = {"{\"event\":\"chat:message\",\"data\":{\"t\":\"h\\u00e9\",\"n\":[1,-2.5e3,true]},\"id\":12}",
                            "{\"event\":\"x\",\"data\":null}",
                            "{\"\\u0065vent\":\"x\",\"d\\u0061ta\":1,\"\\u0069d\":3}"};
    for (size_t k = 0; k < sizeof inputs / sizeof *inputs; k++) {
        size_t len = strlen(inputs[k]);
        for (size_t n = 0; n < len; n++) {
            uint8_t *copy = malloc(n ? n : 1);
            memcpy(copy, inputs[k], n);
            nws_envelope e;
            NWS_CHECK_EQ(nws_json_envelope(copy, n, &e), NWS_EJSON);
            free(copy);
        }
    }
}

/* Every stop byte at every position of a 40-byte run (across the 16-byte blocks and the
 * scalar tail), over a background of bytes that must not stop it, high UTF-8 bytes included. */
static void plainRun_stopsAtTheFirstByteAStringCannotHoldAsIs(void) {
    const uint8_t stops[] = {'"', '\\', 0x00, 0x0A, 0x1F};
    uint8_t text[40];
    for (size_t i = 0; i < sizeof text; i++) text[i] = (uint8_t)(i % 2 ? 0xC3 : 'a' + i % 26);
    NWS_CHECK_EQ(nws_json_plain_run(text, sizeof text), sizeof text);
    for (size_t len = 0; len <= sizeof text; len++) NWS_CHECK_EQ(nws_json_plain_run(text, len), len);
    for (size_t s = 0; s < sizeof stops; s++) {
        for (size_t at = 0; at < sizeof text; at++) {
            uint8_t saved = text[at];
            text[at] = stops[s];
            NWS_CHECK_EQ(nws_json_plain_run(text, sizeof text), at);
            NWS_CHECK_EQ(nws_json_plain_run(text, at), at);   /* a stop beyond len is not seen */
            text[at] = saved;
        }
    }
    uint8_t bytes[256];
    for (int c = 0; c < 256; c++) {
        memset(bytes, 'a', sizeof bytes);
        bytes[20] = (uint8_t)c;
        int stops_here = c < 0x20 || c == '"' || c == '\\';
        NWS_CHECK_EQ(nws_json_plain_run(bytes, sizeof bytes), stops_here ? 20 : 256);
    }
}

static void rfc8259_8_3_keysSpelledWithEscapesAreTheKeysTheyName(void) {
    nws_envelope e;
    NWS_CHECK_EQ(scan("{\"ev\\u0065nt\":\"chat\",\"d\\u0061ta\":{\"a\":1},\"\\u0069d\":4}", &e), 0);
    NWS_CHECK(span_is(e.event, e.event_len, "chat"));
    NWS_CHECK(span_is(e.data, e.data_len, "{\"a\":1}"));
    NWS_CHECK(e.has_id && e.id == 4);
    NWS_CHECK_EQ(scan("{\"\\u0061\\u0063\\u006B\":9}", &e), 0);   /* upper-case hex digits too */
    NWS_CHECK(e.has_ack && e.ack == 9);
    NWS_CHECK_EQ(scan("{\"\\/\":1,\"event\":\"x\"}", &e), 0);   /* "/" is no envelope key */
    NWS_CHECK(span_is(e.event, e.event_len, "x"));
    /* Other keys with escapes are still other members, whatever their length. */
    NWS_CHECK_EQ(scan("{\"ev\\u0065nts\":1,\"\\u00e9vent\":2,\"ev\\nent\":3,\"event\":\"y\"}", &e), 0);
    NWS_CHECK(span_is(e.event, e.event_len, "y"));
    NWS_CHECK(e.data == NULL && !e.has_id && !e.has_ack);
    /* One key, two spellings: repeated, as JSON means it. */
    NWS_CHECK_EQ(scan("{\"event\":\"a\",\"\\u0065vent\":\"b\"}", &e), NWS_EJSON);
    NWS_CHECK_EQ(scan("{\"\\u0069d\":1,\"id\":2,\"event\":\"a\"}", &e), NWS_EJSON);
    /* The value rules hold for an escaped key as for a plain one. */
    NWS_CHECK_EQ(scan("{\"\\u0065vent\":1}", &e), NWS_EJSON);
    NWS_CHECK_EQ(scan("{\"event\":\"a\",\"\\u0069d\":-1}", &e), NWS_EJSON);
}
int main(void) {
    NWS_RUN(envelope_findsEventDataAndIdInAnyOrder);
    NWS_RUN(envelope_withoutDataOrIdLeavesThemAbsent);
    NWS_RUN(envelope_findsTheAckOfAClientAnswer);
    NWS_RUN(envelope_reportsEscapesInTheEventName);
    NWS_RUN(rfc8259_8_3_keysSpelledWithEscapesAreTheKeysTheyName);
    NWS_RUN(envelope_refusesWhatAGatewayMustNotActOn);
    NWS_RUN(rfc8259_validatorAcceptsValidAndRefusesInvalidJson);
    NWS_RUN(rfc8259_nestingDeeperThanTheLimitIsRefused);
    NWS_RUN(envelope_everyProperPrefixIsRefusedWithoutOverread);
    NWS_RUN(plainRun_stopsAtTheFirstByteAStringCannotHoldAsIs);
    return nws_test_summary("json");
}
