/*
 * test_eio.c — Engine.IO v4 packets and requests (eio_packet.c): the query, the verdict on a
 * request (the cases of the official protocol suite's handshake tests), polling bodies,
 * base64 against OpenSSL's, the open packet, session ids.
 */
#include "nws_test.h"

#include "nws_eio.h"
#include "nws_error.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>

static nws_eio_query query(const char *text) {
    nws_eio_query q;
    nws_eio_parse_query(text, strlen(text), &q);
    return q;
}

static void query_reads_eio_transport_and_sid(void) {
    nws_eio_query q = query("EIO=4&transport=polling&t=N8hyd6w");
    NWS_CHECK(q.eio_ok);
    NWS_CHECK_EQ(q.transport, NWS_EIO_POLLING);
    NWS_CHECK(q.sid == NULL);
    q = query("transport=websocket&sid=lv_VI97HAXpY6yYWAAAC&EIO=4");
    NWS_CHECK(q.eio_ok);
    NWS_CHECK_EQ(q.transport, NWS_EIO_WEBSOCKET);
    NWS_CHECK_EQ(q.sid_len, 20);
    NWS_CHECK_MEM(q.sid, "lv_VI97HAXpY6yYWAAAC", 20);
    /* The first occurrence counts; a prefix of a name is another name. */
    q = query("EIO=3&EIO=4&transports=polling&transport=abc");
    NWS_CHECK(!q.eio_ok);
    NWS_CHECK_EQ(q.transport, NWS_EIO_UNKNOWN_TRANSPORT);
    q = query("");
    NWS_CHECK(!q.eio_ok);
    NWS_CHECK_EQ(q.transport, NWS_EIO_NO_TRANSPORT);
    q = query("EIO&transport=&sid=");
    NWS_CHECK(!q.eio_ok);
    NWS_CHECK_EQ(q.transport, NWS_EIO_UNKNOWN_TRANSPORT);
    NWS_CHECK(q.sid != NULL && q.sid_len == 0);
}

static int classify(const char *method, const char *text, int upgrade, int *error) {
    nws_eio_query q = query(text);
    *error = -1;
    return nws_eio_classify(method, strlen(method), &q, upgrade, error);
}

static void requests_are_classified_as_the_protocol_says(void) {
    int error;
    NWS_CHECK_EQ(classify("GET", "EIO=4&transport=polling", 0, &error), 0);
    NWS_CHECK_EQ(classify("GET", "EIO=4&transport=websocket", 1, &error), 0);
    NWS_CHECK_EQ(classify("POST", "EIO=4&transport=polling&sid=abc", 0, &error), 1);
    NWS_CHECK_EQ(classify("GET", "EIO=4&transport=polling&sid=abc", 0, &error), 1);
    NWS_CHECK_EQ(classify("GET", "EIO=4&transport=websocket&sid=abc", 1, &error), 1);
    /* The suite's refusals: each is a 400 with its code. */
    NWS_CHECK_EQ(classify("GET", "transport=polling", 0, &error), -1);
    NWS_CHECK_EQ(error, NWS_EIO_UNSUPPORTED_VERSION);
    NWS_CHECK_EQ(classify("GET", "EIO=abc&transport=polling", 0, &error), -1);
    NWS_CHECK_EQ(error, NWS_EIO_UNSUPPORTED_VERSION);
    NWS_CHECK_EQ(classify("GET", "EIO=4", 0, &error), -1);
    NWS_CHECK_EQ(error, NWS_EIO_TRANSPORT_UNKNOWN);
    NWS_CHECK_EQ(classify("GET", "EIO=4&transport=abc", 0, &error), -1);
    NWS_CHECK_EQ(error, NWS_EIO_TRANSPORT_UNKNOWN);
    NWS_CHECK_EQ(classify("POST", "EIO=4&transport=polling", 0, &error), -1);
    NWS_CHECK_EQ(error, NWS_EIO_BAD_HANDSHAKE_METHOD);
    NWS_CHECK_EQ(classify("PUT", "EIO=4&transport=polling", 0, &error), -1);
    NWS_CHECK_EQ(error, NWS_EIO_BAD_HANDSHAKE_METHOD);
    NWS_CHECK_EQ(classify("PUT", "EIO=4&transport=polling&sid=abc", 0, &error), -1);
    NWS_CHECK_EQ(error, NWS_EIO_BAD_REQUEST);
    /* A websocket transport must be an upgrade, and polling must not. */
    NWS_CHECK_EQ(classify("GET", "EIO=4&transport=websocket", 0, &error), -1);
    NWS_CHECK_EQ(error, NWS_EIO_BAD_REQUEST);
    NWS_CHECK_EQ(classify("GET", "EIO=4&transport=polling", 1, &error), -1);
    NWS_CHECK_EQ(error, NWS_EIO_BAD_REQUEST);
}

static void error_bodies_are_what_clients_expect(void) {
    char out[80];
    int n = nws_eio_error_body(out, sizeof out, NWS_EIO_SESSION_UNKNOWN);
    NWS_CHECK(n > 0 && strcmp(out, "{\"code\":1,\"message\":\"Session ID unknown\"}") == 0);
    NWS_CHECK_EQ(nws_eio_error_body(out, 10, NWS_EIO_SESSION_UNKNOWN), NWS_EINVAL);
    NWS_CHECK(strcmp(nws_eio_error_message(NWS_EIO_TRANSPORT_UNKNOWN), "Transport unknown") == 0);
    NWS_CHECK(strcmp(nws_eio_error_message(42), "Bad request") == 0);
}

/* Splits a body into packets; returns how many, or the error; types and data into the arrays. */
static int split(const char *body, size_t len, int types[], const char *data[], size_t lens[]) {
    size_t pos = 0;
    int count = 0;
    nws_eio_packet p;
    int rc;
    while ((rc = nws_eio_payload_next((const uint8_t *)body, len, &pos, &p)) == 1) {
        types[count] = p.type;
        data[count] = (const char *)p.data;
        lens[count] = p.len;
        count++;
    }
    return rc < 0 ? rc : count;
}

static void polling_bodies_split_at_separators(void) {
    int types[8];
    const char *data[8];
    size_t lens[8];
    const char body[] = "4test1\x1e" "4test2\x1e" "2\x1e" "bAQIDBA==";
    NWS_CHECK_EQ(split(body, sizeof body - 1, types, data, lens), 4);
    NWS_CHECK_EQ(types[0], NWS_EIO_MESSAGE);
    NWS_CHECK(lens[0] == 5 && memcmp(data[0], "test1", 5) == 0);
    NWS_CHECK(types[1] == NWS_EIO_MESSAGE && lens[1] == 5 && memcmp(data[1], "test2", 5) == 0);
    NWS_CHECK(types[2] == NWS_EIO_PING && lens[2] == 0);
    NWS_CHECK(types[3] == NWS_EIO_BINARY && lens[3] == 8 && memcmp(data[3], "AQIDBA==", 8) == 0);
    NWS_CHECK_EQ(split("4", 1, types, data, lens), 1);
    NWS_CHECK_EQ(split("", 0, types, data, lens), 0);
    /* The suite's invalid packet, an unknown type later on, empty packets, a trailing separator. */
    NWS_CHECK_EQ(split("abc", 3, types, data, lens), NWS_EPROTO);
    NWS_CHECK_EQ(split("4a\x1e" "9b", 5, types, data, lens), NWS_EPROTO);
    NWS_CHECK_EQ(split("4a\x1e\x1e" "4b", 6, types, data, lens), NWS_EPROTO);
    NWS_CHECK_EQ(split("\x1e" "4a", 3, types, data, lens), NWS_EPROTO);
    NWS_CHECK_EQ(split("4a\x1e", 3, types, data, lens), NWS_EPROTO);
}

static void a_websocket_frame_is_one_packet(void) {
    nws_eio_packet p;
    NWS_CHECK_EQ(nws_eio_packet_parse((const uint8_t *)"4hello\x1e" "4x", 9, &p), 1);
    NWS_CHECK(p.type == NWS_EIO_MESSAGE && p.len == 8);
    NWS_CHECK_EQ(nws_eio_packet_parse((const uint8_t *)"2probe", 6, &p), 1);
    NWS_CHECK(p.type == NWS_EIO_PING && p.len == 5 && memcmp(p.data, "probe", 5) == 0);
    NWS_CHECK_EQ(nws_eio_packet_parse((const uint8_t *)"bAQID", 5, &p), NWS_EPROTO);
    NWS_CHECK_EQ(nws_eio_packet_parse((const uint8_t *)"abc", 3, &p), NWS_EPROTO);
    NWS_CHECK_EQ(nws_eio_packet_parse((const uint8_t *)"", 0, &p), NWS_EPROTO);
}

/* Base64 against OpenSSL's on every length up to 300 of random bytes, both ways. */
static void base64_agrees_with_openssl(void) {
    uint8_t in[300], back[300];
    char ours[404], theirs[405];
    for (size_t len = 0; len <= sizeof in; len++) {
        RAND_bytes(in, (int)len);
        size_t n = nws_eio_base64_encode(in, len, ours);
        int m = EVP_EncodeBlock((unsigned char *)theirs, in, (int)len);
        NWS_CHECK_EQ(n, m);
        NWS_CHECK_MEM(ours, theirs, n);
        NWS_CHECK_EQ(nws_eio_base64_decoded_len(ours, n), len);
        NWS_CHECK_EQ(nws_eio_base64_decode(ours, n, back, sizeof back), len);
        NWS_CHECK_MEM(back, in, len);
        if (len > 0) NWS_CHECK_EQ(nws_eio_base64_decode(ours, n, back, len - 1), NWS_EINVAL);
    }
}

static void bad_base64_is_refused(void) {
    uint8_t out[16];
    const char *bad[] = {"AQI", "AQ=D", "=AQI", "A===", "AQI*", "AQ==AQID", "AQ=\x1e", "AQ\x80="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = nws_eio_base64_decode(bad[i], strlen(bad[i]), out, sizeof out);
        if (rc != NWS_EPROTO) fprintf(stderr, "  accepted %s\n", bad[i]);
        NWS_CHECK_EQ(rc, NWS_EPROTO);
    }
    NWS_CHECK_EQ(nws_eio_base64_decode("AQIDBA==", 8, out, sizeof out), 4);
    NWS_CHECK_MEM(out, "\x01\x02\x03\x04", 4);
    NWS_CHECK_EQ(nws_eio_base64_decode("", 0, out, sizeof out), 0);
}

static void the_open_packet_is_written_as_the_official_server_writes_it(void) {
    char out[256];
    int n = nws_eio_open_packet(out, sizeof out, "lv_VI97HAXpY6yYWAAAC", 20, 1, 300, 200, 1000000);
    const char *want = "0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],\"pingInterval\":300,"
                       "\"pingTimeout\":200,\"maxPayload\":1000000}";
    NWS_CHECK_EQ(n, strlen(want));
    NWS_CHECK(strcmp(out, want) == 0);
    n = nws_eio_open_packet(out, sizeof out, "x", 1, 0, 25000, 20000, 1000000);
    NWS_CHECK(n > 0 && strstr(out, "\"upgrades\":[],") != NULL);
    NWS_CHECK_EQ(nws_eio_open_packet(out, 40, "lv_VI97HAXpY6yYWAAAC", 20, 1, 300, 200, 1000000), NWS_EINVAL);
}

static void session_ids_name_their_connection_and_cannot_be_forged(void) {
    uint8_t secret[NWS_EIO_SECRET_LEN], other[NWS_EIO_SECRET_LEN];
    RAND_bytes(secret, sizeof secret);
    RAND_bytes(other, sizeof other);
    char sid[NWS_EIO_SID_LEN + 1];
    uint64_t id = 0x0102030405060708ull, back = 0;
    NWS_CHECK_EQ(nws_eio_sid_encode(id, secret, sid), 0);
    NWS_CHECK_EQ(strlen(sid), NWS_EIO_SID_LEN);
    NWS_CHECK_EQ(strspn(sid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), NWS_EIO_SID_LEN);
    NWS_CHECK_EQ(nws_eio_sid_decode(sid, NWS_EIO_SID_LEN, secret, &back), 0);
    NWS_CHECK(back == id);
    /* Another server's, a changed character anywhere, another length, a foreign alphabet. */
    NWS_CHECK_EQ(nws_eio_sid_decode(sid, NWS_EIO_SID_LEN, other, &back), NWS_EPROTO);
    for (size_t i = 0; i < NWS_EIO_SID_LEN; i++) {
        char forged[NWS_EIO_SID_LEN + 1];
        memcpy(forged, sid, sizeof forged);
        forged[i] = forged[i] == 'A' ? 'B' : 'A';
        NWS_CHECK_EQ(nws_eio_sid_decode(forged, NWS_EIO_SID_LEN, secret, &back), NWS_EPROTO);
    }
    NWS_CHECK_EQ(nws_eio_sid_decode(sid, NWS_EIO_SID_LEN - 1, secret, &back), NWS_EPROTO);
    NWS_CHECK_EQ(nws_eio_sid_decode("lv_VI97HAXpY6yYWAAAC", 20, secret, &back), NWS_EPROTO);
    char foreign[NWS_EIO_SID_LEN + 1];
    memcpy(foreign, sid, sizeof foreign);
    foreign[3] = '+';
    NWS_CHECK_EQ(nws_eio_sid_decode(foreign, NWS_EIO_SID_LEN, secret, &back), NWS_EPROTO);
    /* Two connections, two ids. */
    char second[NWS_EIO_SID_LEN + 1];
    NWS_CHECK_EQ(nws_eio_sid_encode(id + 1, secret, second), 0);
    NWS_CHECK(strcmp(sid, second) != 0);
}

int main(void) {
    NWS_RUN(query_reads_eio_transport_and_sid);
    NWS_RUN(requests_are_classified_as_the_protocol_says);
    NWS_RUN(error_bodies_are_what_clients_expect);
    NWS_RUN(polling_bodies_split_at_separators);
    NWS_RUN(a_websocket_frame_is_one_packet);
    NWS_RUN(base64_agrees_with_openssl);
    NWS_RUN(bad_base64_is_refused);
    NWS_RUN(the_open_packet_is_written_as_the_official_server_writes_it);
    NWS_RUN(session_ids_name_their_connection_and_cannot_be_forged);
    return nws_test_summary("eio");
}
