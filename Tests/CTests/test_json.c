/*
 * test_json.c — the member scanner: it finds the values of the keys asked for wherever they
 * stand, undoes escapes in keys, reports kinds and safe integers, validates the whole text as
 * JSON (RFC 8259), refuses a key asked for twice, and never reads past the end (every prefix of
 * every input is scanned and must be refused, since no proper prefix of a JSON object is a
 * JSON object).
 */
#include <stdlib.h>

#include "nws_json.h"
#include "nws_test.h"

/* The keys of the gateway's JSON envelope, as its wire protocol asks for them. */
enum { EVENT, DATA, ID, ACK, KEYS };
static nws_json_keys envelope_keys;
static nws_json_member m[KEYS];

/* 0 when valid (absent members cleared, as a caller reads the bit mask), else the error. */
static int scan(const char *text) {
    memset(m, 0xAB, sizeof m);   /* what a member not found holds: not to be read */
    int found = nws_json_members((const uint8_t *)text, strlen(text), &envelope_keys, m);
    if (found < 0) return found;
    for (int k = 0; k < KEYS; k++) {
        if (!(found & (1 << k))) m[k] = (nws_json_member){0};
    }
    return 0;
}

static int span_is(const nws_json_member *member, const char *want) {
    return member->value != NULL && member->len == strlen(want) && memcmp(member->value, want, member->len) == 0;
}

static void members_areFoundInAnyOrderWithTheirKinds(void) {
    NWS_CHECK_EQ(scan("{\"event\":\"chat:message\",\"data\":{\"roomId\":\"1\",\"text\":\"hi\"},\"id\":7}"), 0);
    NWS_CHECK(span_is(&m[EVENT], "\"chat:message\"") && m[EVENT].kind == NWS_JSON_STRING && !m[EVENT].escaped);
    NWS_CHECK(span_is(&m[DATA], "{\"roomId\":\"1\",\"text\":\"hi\"}") && m[DATA].kind == NWS_JSON_OBJECT);
    NWS_CHECK(m[ID].kind == NWS_JSON_NUMBER && m[ID].is_safe_integer && m[ID].integer == 7);
    NWS_CHECK(m[ACK].value == NULL && m[ACK].kind == NWS_JSON_ABSENT);
    NWS_CHECK_EQ(scan(" { \"id\" : 0 , \"data\" : [1, 2.5e3, null] , \"x\": {\"event\": 1}, \"event\" : \"a\" } "), 0);
    NWS_CHECK(span_is(&m[EVENT], "\"a\""));
    NWS_CHECK(span_is(&m[DATA], "[1, 2.5e3, null]") && m[DATA].kind == NWS_JSON_ARRAY);
    NWS_CHECK(m[ID].is_safe_integer && m[ID].integer == 0);
    NWS_CHECK_EQ(scan("{\"event\":1,\"data\":true,\"id\":null,\"ack\":false}"), 0);
    NWS_CHECK(m[EVENT].kind == NWS_JSON_NUMBER && m[DATA].kind == NWS_JSON_TRUE);
    NWS_CHECK(m[ID].kind == NWS_JSON_NULL && m[ACK].kind == NWS_JSON_FALSE);
    NWS_CHECK_EQ(scan("{}"), 0);
    NWS_CHECK(m[EVENT].value == NULL && m[DATA].value == NULL);
}

static void members_safeIntegersAreThoseAJavaScriptNumberHoldsExactly(void) {
    const char *safe[] = {"{\"id\":0}", "{\"id\":9007199254740991}", "{\"id\":42 }"};
    const int64_t values[] = {0, 9007199254740991LL, 42};
    for (size_t i = 0; i < 3; i++) {
        NWS_CHECK_EQ(scan(safe[i]), 0);
        NWS_CHECK(m[ID].is_safe_integer && m[ID].integer == values[i]);
    }
    const char *unsafe[] = {"{\"id\":-1}", "{\"id\":1.5}", "{\"id\":1e3}", "{\"id\":9007199254740992}",
                            "{\"id\":12345678901234567890}", "{\"id\":\"7\"}"};
    for (size_t i = 0; i < sizeof unsafe / sizeof *unsafe; i++) {
        NWS_CHECK_EQ(scan(unsafe[i]), 0);
        NWS_CHECK(m[ID].value != NULL && !m[ID].is_safe_integer);
    }
}

static void members_reportEscapesInStringValues(void) {
    NWS_CHECK_EQ(scan("{\"event\":\"a\\u0062\\\"c\"}"), 0);
    NWS_CHECK(m[EVENT].escaped);
    NWS_CHECK(span_is(&m[EVENT], "\"a\\u0062\\\"c\""));
    NWS_CHECK_EQ(scan("{\"event\":\"plain\"}"), 0);
    NWS_CHECK(!m[EVENT].escaped);
}

static void rfc8259_8_3_keysSpelledWithEscapesAreTheKeysTheyName(void) {
    NWS_CHECK_EQ(scan("{\"ev\\u0065nt\":\"chat\",\"d\\u0061ta\":{\"a\":1},\"\\u0069d\":4}"), 0);
    NWS_CHECK(span_is(&m[EVENT], "\"chat\""));
    NWS_CHECK(span_is(&m[DATA], "{\"a\":1}"));
    NWS_CHECK(m[ID].is_safe_integer && m[ID].integer == 4);
    NWS_CHECK_EQ(scan("{\"\\u0061\\u0063\\u006B\":9}"), 0);   /* upper-case hex digits too */
    NWS_CHECK(m[ACK].is_safe_integer && m[ACK].integer == 9);
    NWS_CHECK_EQ(scan("{\"\\/\":1,\"event\":\"x\"}"), 0);   /* "/" is no key of the set */
    NWS_CHECK(span_is(&m[EVENT], "\"x\""));
    /* Other keys with escapes are other members, whatever their length. */
    NWS_CHECK_EQ(scan("{\"ev\\u0065nts\":1,\"\\u00e9vent\":2,\"ev\\nent\":3,\"event\":\"y\"}"), 0);
    NWS_CHECK(span_is(&m[EVENT], "\"y\""));
    NWS_CHECK(m[DATA].value == NULL && m[ID].value == NULL && m[ACK].value == NULL);
    /* One key, two spellings: repeated, as JSON means it. */
    NWS_CHECK_EQ(scan("{\"event\":\"a\",\"\\u0065vent\":\"b\"}"), NWS_JSON_INVALID);
    NWS_CHECK_EQ(scan("{\"\\u0069d\":1,\"id\":2,\"event\":\"a\"}"), NWS_JSON_INVALID);
}

static void members_longKeysAndKeysThatShareAPrefixAreToldApart(void) {
    static const char *const names[] = {"a", "ab", "abcdefg", "abcdefgh", "abcdefghijklmnop"};
    nws_json_keys keys;
    nws_json_keys_init(&keys, names, 5);
    nws_json_member out[5];
    const char *text = "{\"abcdefghijklmnop\":5,\"abcdefgh\":4,\"ab\":2,\"abcdefg\":3,\"a\":1,\"abc\":0}";
    NWS_CHECK_EQ(nws_json_members((const uint8_t *)text, strlen(text), &keys, out), 0x1F);
    for (int k = 0; k < 5; k++) NWS_CHECK(out[k].is_safe_integer && out[k].integer == k + 1);
    /* The same keys at the very end of the text, where fewer than 8 bytes follow a key. */
    const char *tail = "{\"a\":1}";
    NWS_CHECK_EQ(nws_json_members((const uint8_t *)tail, strlen(tail), &keys, out), 0x1);
    NWS_CHECK(out[0].integer == 1);
}

static void members_refuseWhatIsNotOneObjectOrRepeatsAKey(void) {
    const char *bad[] = {
        "", "[]", "\"event\"", "{\"event\":\"a\",\"event\":\"b\"}", "{\"data\":1,\"data\":2}",
        "{\"event\":\"a\"} x", "{\"event\":\"a\",}", "{\"event\"}", "{\"event\":}", "{\"id\":01}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = scan(bad[i]);
        if (rc != NWS_JSON_INVALID) fprintf(stderr, "  accepted: %s\n", bad[i]);
        NWS_CHECK_EQ(rc, NWS_JSON_INVALID);
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
        if (rc != NWS_JSON_INVALID) fprintf(stderr, "  accepted: %s\n", bad[i]);
        NWS_CHECK_EQ(rc, NWS_JSON_INVALID);
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
    NWS_CHECK_EQ(nws_json_validate((const uint8_t *)deeper, n), NWS_JSON_INVALID);
}

/* Each prefix in its own exact-size heap block: ASan reports any read past its end. */
static void members_everyProperPrefixIsRefusedWithoutOverread(void) {
    const char *inputs[] = {"{\"event\":\"chat:message\",\"data\":{\"t\":\"h\\u00e9\",\"n\":[1,-2.5e3,true]},\"id\":12}",
                            "{\"event\":\"x\",\"data\":null}",
                            "{\"\\u0065vent\":\"x\",\"d\\u0061ta\":1,\"\\u0069d\":3}"};
    for (size_t k = 0; k < sizeof inputs / sizeof *inputs; k++) {
        size_t len = strlen(inputs[k]);
        for (size_t n = 0; n < len; n++) {
            uint8_t *copy = malloc(n ? n : 1);
            memcpy(copy, inputs[k], n);
            NWS_CHECK_EQ(nws_json_members(copy, n, &envelope_keys, m), NWS_JSON_INVALID);
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

/* A delimited value is found whole however it is nested (strings holding brackets included),
 * invalid inside and still delimited, and refused when it does not close; the other keys are
 * validated as before. */
static void members_aDelimitOnlyKeysValueIsFoundWholeButNotValidated(void) {
    static const char *const names[] = {"event", "data"};
    nws_json_keys keys;
    nws_json_keys_init(&keys, names, 2);
    keys.delimit_only = 1u << 1;
    nws_json_member out[2];
    struct { const char *text; const char *data; } found[] = {
        {"{\"event\":\"e\",\"data\":{\"a\":[1,{\"b\":\"}]\"}]}}", "{\"a\":[1,{\"b\":\"}]\"}]}"},
        {"{\"data\":[tru, 01, +1],\"event\":\"e\"}", "[tru, 01, +1]"},   /* not validated */
        {"{\"event\":\"e\",\"data\":{\"x\":\"\\\"}\"}}", "{\"x\":\"\\\"}\"}"},   /* an escaped quote */
    };
    for (size_t i = 0; i < sizeof found / sizeof *found; i++) {
        const char *t = found[i].text;
        NWS_CHECK_EQ(nws_json_members((const uint8_t *)t, strlen(t), &keys, out), 3);
        NWS_CHECK_EQ(out[1].len, strlen(found[i].data));
        NWS_CHECK(memcmp(out[1].value, found[i].data, out[1].len) == 0);
    }
    const char *unclosed[] = {"{\"data\":{\"a\":1}", "{\"data\":[[1]}", "{\"data\":{\"a\":\"}\"}"};
    for (size_t i = 0; i < sizeof unclosed / sizeof *unclosed; i++) {
        NWS_CHECK_EQ(nws_json_members((const uint8_t *)unclosed[i], strlen(unclosed[i]), &keys, out), NWS_JSON_INVALID);
    }
    /* Another key's value is still validated; a string data value too. */
    const char *bad_event = "{\"event\":tru,\"data\":{}}";
    NWS_CHECK_EQ(nws_json_members((const uint8_t *)bad_event, strlen(bad_event), &keys, out), NWS_JSON_INVALID);
    const char *bad_string = "{\"event\":\"e\",\"data\":\"\\x\"}";
    NWS_CHECK_EQ(nws_json_members((const uint8_t *)bad_string, strlen(bad_string), &keys, out), NWS_JSON_INVALID);
}

static void rfc8259_skipReturnsTheLengthOfOneValidValue(void) {
    struct { const char *text; long len; } cases[] = {
        {"{\"a\":[1,2]},\"b\":2}", 11}, {"\"x\\\"y\" rest", 6}, {"123,", 3}, {"true}", 4},
        {"[1,]", NWS_JSON_INVALID}, {"01", 1} /* the value "0": what follows is the reader's to refuse */, {"{\"a\" 1}", NWS_JSON_INVALID}, {"", NWS_JSON_INVALID},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        NWS_CHECK_EQ(nws_json_skip((const uint8_t *)cases[i].text, strlen(cases[i].text)), cases[i].len);
    }
}

int main(void) {
    static const char *const names[KEYS] = {"event", "data", "id", "ack"};
    nws_json_keys_init(&envelope_keys, names, KEYS);
    NWS_RUN(members_areFoundInAnyOrderWithTheirKinds);
    NWS_RUN(members_safeIntegersAreThoseAJavaScriptNumberHoldsExactly);
    NWS_RUN(members_reportEscapesInStringValues);
    NWS_RUN(rfc8259_8_3_keysSpelledWithEscapesAreTheKeysTheyName);
    NWS_RUN(members_longKeysAndKeysThatShareAPrefixAreToldApart);
    NWS_RUN(members_refuseWhatIsNotOneObjectOrRepeatsAKey);
    NWS_RUN(rfc8259_validatorAcceptsValidAndRefusesInvalidJson);
    NWS_RUN(rfc8259_nestingDeeperThanTheLimitIsRefused);
    NWS_RUN(members_everyProperPrefixIsRefusedWithoutOverread);
    NWS_RUN(plainRun_stopsAtTheFirstByteAStringCannotHoldAsIs);
    NWS_RUN(members_aDelimitOnlyKeysValueIsFoundWholeButNotValidated);
    NWS_RUN(rfc8259_skipReturnsTheLengthOfOneValidValue);
    return nws_test_summary("json");
}
