/*
 * test_http.c — the HTTP request parser and the WebSocket opening handshake (http.c, handshake.c).
 *
 * Every request given to the parser goes through check_input(): it is parsed whole, then at
 * every prefix, then one byte at a time with prev_len, then at every split offset resumed
 * with prev_len, and each of those buffers is placed right before a PROT_NONE page so that
 * reading one byte too far crashes the test instead of passing silently.
 *
 * Build and run (from the repository root):
 *   gcc -std=c11 -Wall -Wextra -ICSources/CNaviosWS/include Tests/CTests/test_http.c \
 *       CSources/CNaviosWS/http.c CSources/CNaviosWS/handshake.c CSources/CNaviosWS/error.c \
 *       -lssl -lcrypto -o /tmp/test_http && /tmp/test_http
 */
#define _GNU_SOURCE
#include "nws_test.h"

#include "nws_error.h"
#include "nws_http.h"

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define WANT_ANY INT_MIN

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define UPGRADE_HEADERS                                                                     \
    "Host: server.example.com\r\n"                                                          \
    "Upgrade: websocket\r\n"                                                                \
    "Connection: Upgrade\r\n"                                                               \
    "Sec-WebSocket-Key: " KEY "\r\n"
#define GOOD_HEADERS UPGRADE_HEADERS "Sec-WebSocket-Version: 13\r\n"
#define GOOD "GET /chat HTTP/1.1\r\n" GOOD_HEADERS "\r\n"

static const nws_http_limits LIM = {8192, 4096, 64};

/* ---- guard page ------------------------------------------------------------------------ */

static char *guard_base;
static size_t guard_size = 1u << 18;

static void guard_init(void) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, guard_size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (m == MAP_FAILED || mprotect(m + guard_size, page, PROT_NONE) != 0) {
        perror("guard page");
        exit(2);
    }
    guard_base = m;
}

/* The returned buffer's last byte is the last readable byte before the guard page. */
static const char *guard_place(const char *data, size_t n) {
    if (n > guard_size) {
        fprintf(stderr, "input of %zu bytes does not fit the guard region\n", n);
        exit(2);
    }
    char *p = guard_base + guard_size - n;
    memcpy(p, data, n);
    return p;
}

/* ---- parser driver --------------------------------------------------------------------- */

static int parse_guarded(const char *data, size_t n, size_t prev_len, const nws_http_limits *lim,
                         nws_http_request *req, int *status, const char **base) {
    const char *buf = guard_place(data, n);
    if (base != NULL)
        *base = buf;
    return nws_http_parse(buf, n, prev_len, lim, req, status);
}

/* The same request, wherever each buffer lives: compare positions, not pointers. */
static int same_req(const nws_http_request *a, const char *abase, const nws_http_request *b,
                    const char *bbase) {
    if (a->method - abase != b->method - bbase || a->method_len != b->method_len ||
        a->target - abase != b->target - bbase || a->target_len != b->target_len ||
        a->minor_version != b->minor_version || a->num_headers != b->num_headers)
        return 0;
    for (size_t i = 0; i < a->num_headers; i++) {
        const nws_http_header *x = &a->headers[i], *y = &b->headers[i];
        if (x->name - abase != y->name - bbase || x->name_len != y->name_len ||
            x->value - abase != y->value - bbase || x->value_len != y->value_len)
            return 0;
    }
    return 1;
}

/* Parses data whole, at every prefix, byte by byte and at every split, all against the
 * guard page, and checks that they agree: EPARTIAL until the head is complete (or until a
 * limit or an error is certain), then the same result and the same request. Returns the
 * result of the whole parse. */
static int check_input(const char *data, size_t n, const nws_http_limits *lim, int want_rc,
                       int want_status) {
    static nws_http_request whole, part;
    const char *whole_base, *part_base;
    int whole_status, st;
    int rc = parse_guarded(data, n, 0, lim, &whole, &whole_status, &whole_base);
    if (want_rc != WANT_ANY) {
        NWS_CHECK_EQ(rc, want_rc);
        if (want_rc < 0 && want_rc != NWS_EPARTIAL)
            NWS_CHECK_EQ(whole_status, want_status);
    }

    int split_bad = 0, resume_bad = 0, byte_bad = 0;
    for (size_t s = 0; s <= n; s++) {
        int r = parse_guarded(data, s, 0, lim, &part, &st, &part_base);
        if (rc > 0) {
            int want = s < (size_t)rc ? NWS_EPARTIAL : rc;
            if (r != want || (r > 0 && !same_req(&part, part_base, &whole, whole_base)))
                split_bad++;
        } else if (r != NWS_EPARTIAL && (r != rc || st != whole_status)) {
            split_bad++;
        }
        if (r != NWS_EPARTIAL || s == n)
            continue;
        r = parse_guarded(data, n, s, lim, &part, &st, &part_base);
        if (r != rc || (r < 0 && st != whole_status) ||
            (r > 0 && !same_req(&part, part_base, &whole, whole_base)))
            resume_bad++;
    }

    int r = NWS_EPARTIAL;
    size_t k = 0;
    while (r == NWS_EPARTIAL && k < n) {
        k++;
        r = parse_guarded(data, k, k - 1, lim, &part, &st, &part_base);
    }
    if (r != rc || (r < 0 && r != NWS_EPARTIAL && st != whole_status) ||
        (r > 0 && ((size_t)r != k || !same_req(&part, part_base, &whole, whole_base))))
        byte_bad++;

    NWS_CHECK_EQ(split_bad, 0);
    NWS_CHECK_EQ(resume_bad, 0);
    NWS_CHECK_EQ(byte_bad, 0);
    return rc;
}

static int check_str(const char *s, int want_rc, int want_status) {
    return check_input(s, strlen(s), &LIM, want_rc, want_status);
}

/* Runs the parser checks, then the handshake check on a stable copy; -1000 if no head. */
static int handshake(const char *raw, nws_upgrade *up) {
    nws_http_request req;
    nws_upgrade scratch;
    int status;
    check_str(raw, WANT_ANY, 0);
    if (nws_http_parse(raw, strlen(raw), 0, &LIM, &req, &status) <= 0)
        return -1000;
    return nws_handshake_check(&req, up != NULL ? up : &scratch);
}

static int has(const char *hay, size_t n, const char *needle) {
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return 1;
    return 0;
}

/* ---- accept key ------------------------------------------------------------------------ */

static void rfc6455_1_3_sampleKeyGivesSampleAccept(void) {
    char out[29];
    nws_handshake_accept(KEY, 24, out);
    NWS_CHECK(strcmp(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0);
    nws_handshake_accept("x3JJHMbDL1EzLkh9GBhXDw==", 24, out);
    NWS_CHECK(strcmp(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=") == 0);
}

/* ---- valid requests -------------------------------------------------------------------- */

static void rfc6455_4_1_browserRequestIsAcceptedWithAllFields(void) {
    static const char raw[] =
        "GET /chat?room=lobby&x=1 HTTP/1.1\r\n"
        "Host: server.example.com:8080\r\n"
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"
        "Accept-Encoding: gzip, deflate, br\r\n"
        "Upgrade: websocket\r\n"
        "Origin: https://app.example.com\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Pragma: no-cache\r\n"
        "Connection: keep-alive, Upgrade\r\n"
        "Sec-WebSocket-Key: " KEY "\r\n"
        "Sec-WebSocket-Protocol: chat, superchat\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        "\r\n";
    nws_upgrade up;
    NWS_CHECK_EQ(check_str(raw, (int)strlen(raw), 0), (int)strlen(raw));
    NWS_CHECK_EQ(handshake(raw, &up), 0);
    NWS_CHECK(up.path_len == 5 && memcmp(up.path, "/chat", 5) == 0);
    NWS_CHECK(up.query_len == 14 && memcmp(up.query, "room=lobby&x=1", 14) == 0);
    NWS_CHECK(up.key_len == 24 && memcmp(up.key, KEY, 24) == 0);
    NWS_CHECK(up.origin != NULL && up.origin_len == 23 &&
              memcmp(up.origin, "https://app.example.com", 23) == 0);
    NWS_CHECK(up.protocols != NULL && up.protocols_len == 15 &&
              memcmp(up.protocols, "chat, superchat", 15) == 0);
    NWS_CHECK(up.extensions != NULL && up.extensions_len == 42);
}

static void rfc6455_4_2_1_minimalRequestHasNoOptionalFields(void) {
    nws_upgrade up;
    NWS_CHECK_EQ(handshake(GOOD, &up), 0);
    NWS_CHECK(up.path_len == 5 && memcmp(up.path, "/chat", 5) == 0);
    NWS_CHECK_EQ(up.query_len, 0);
    NWS_CHECK(up.origin == NULL && up.protocols == NULL && up.extensions == NULL);
}

static void rfc6455_4_2_1_queryIsSplitAtFirstQuestionMark(void) {
    nws_upgrade up;
    NWS_CHECK_EQ(handshake("GET /a/b?x=1?y HTTP/1.1\r\n" GOOD_HEADERS "\r\n", &up), 0);
    NWS_CHECK(up.path_len == 4 && memcmp(up.path, "/a/b", 4) == 0);
    NWS_CHECK(up.query_len == 5 && memcmp(up.query, "x=1?y", 5) == 0);
    NWS_CHECK_EQ(handshake("GET /? HTTP/1.1\r\n" GOOD_HEADERS "\r\n", &up), 0);
    NWS_CHECK(up.path_len == 1 && up.query_len == 0);
}

static void rfc9110_5_1_fieldNamesAndTokensAreCaseInsensitive(void) {
    NWS_CHECK_EQ(handshake("GET / HTTP/1.1\r\nhost: h\r\nupgrade: WebSocket\r\n"
                           "connection: UPGRADE\r\nsec-websocket-key: " KEY "\r\n"
                           "SEC-WEBSOCKET-VERSION: 13\r\n\r\n", NULL), 0);
}

static void rfc9110_5_3_listFieldsSplitOverLinesAreSearched(void) {
    NWS_CHECK_EQ(handshake("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n"
                           "Upgrade: h2c\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                           "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
                           NULL), 0);
}

static void rfc9110_5_5_valueOwsIsTrimmedAndEmptyValueKept(void) {
    static const char raw[] = "GET / HTTP/1.1\r\nA:   x y \t\r\nB:\r\nC: \t \r\nD:z\r\n\r\n";
    nws_http_request req;
    int st;
    check_str(raw, (int)strlen(raw), 0);
    NWS_CHECK_EQ(nws_http_parse(raw, strlen(raw), 0, &LIM, &req, &st), (int)strlen(raw));
    NWS_CHECK_EQ(req.num_headers, 4);
    NWS_CHECK(req.headers[0].value_len == 3 && memcmp(req.headers[0].value, "x y", 3) == 0);
    NWS_CHECK_EQ(req.headers[1].value_len, 0);
    NWS_CHECK_EQ(req.headers[2].value_len, 0);
    NWS_CHECK(req.headers[3].value_len == 1 && req.headers[3].value[0] == 'z');
    NWS_CHECK(nws_http_find(&req, "d") == &req.headers[3]);
    NWS_CHECK(nws_http_find(&req, "E") == NULL);
}

static void rfc9110_5_5_tabAndObsTextInValueAreAccepted(void) {
    static const char raw[] = "GET / HTTP/1.1\r\nX: a\tb\xc3\xa9\r\n\r\n";
    check_str(raw, (int)strlen(raw), 0);
}

static void rfc9112_2_3_minorVersionIsReported(void) {
    nws_http_request req;
    int st;
    NWS_CHECK(nws_http_parse("GET / HTTP/1.0\r\n\r\n", 18, 0, &LIM, &req, &st) == 18);
    NWS_CHECK_EQ(req.minor_version, 0);
    check_str("GET / HTTP/1.9\r\n\r\n", 18, 0);
}

static void rfc9112_2_2_oneLeadingEmptyLineIsIgnored(void) {
    static const char raw[] = "\r\n" GOOD;
    NWS_CHECK_EQ(check_str(raw, (int)strlen(raw), 0), (int)strlen(raw));
    NWS_CHECK_EQ(handshake(raw, NULL), 0);
    check_str("\r\n\r\n" GOOD, NWS_EHTTP, 400);
}

static void rfc6455_4_1_bytesAfterHeadAreNotConsumed(void) {
    /* A masked "Hello" text frame (RFC 6455 §5.7), then a second request's worth of bytes. */
    static const char raw[] = GOOD "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"
                                   "GET / HTTP/1.1\r\n\r\n";
    check_input(raw, sizeof raw - 1, &LIM, (int)strlen(GOOD), 0);
}

/* ---- handshake refusals ---------------------------------------------------------------- */

static void rfc6455_4_2_1_missingKeyIs400(void) {
    NWS_CHECK_EQ(handshake("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n", NULL), 400);
}

#define WITH_KEY(k)                                                                          \
    "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"             \
    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " k "\r\n\r\n"

static void rfc6455_4_2_1_keyOfWrongLengthIs400(void) {
    NWS_CHECK_EQ(handshake(WITH_KEY("dGhlIHNhbXBsZSBub25jZQ="), NULL), 400);
    NWS_CHECK_EQ(handshake(WITH_KEY("dGhlIHNhbXBsZSBub25jZQ==="), NULL), 400);
    NWS_CHECK_EQ(handshake(WITH_KEY(""), NULL), 400);
}

static void rfc6455_4_2_1_keyNotOf16BytesIs400(void) {
    NWS_CHECK_EQ(handshake(WITH_KEY("AAAAAAAAAAAAAAAAAAAA"), NULL), 400);       /* 15 bytes */
    NWS_CHECK_EQ(handshake(WITH_KEY("AAAAAAAAAAAAAAAAAAAAAAA="), NULL), 400);   /* 17 bytes */
    NWS_CHECK_EQ(handshake(WITH_KEY("AAAAAAAAAAAAAAAAAAAAAAAA"), NULL), 400);   /* 18 bytes */
    NWS_CHECK_EQ(handshake(WITH_KEY("AAAAAAAAAAAAAAAAAAAAAA=="), NULL), 0);     /* 16 bytes */
}

static void rfc6455_4_2_1_keyWithBadAlphabetIs400(void) {
    NWS_CHECK_EQ(handshake(WITH_KEY("dGhlIHNhbXBsZSBub25jZ-=="), NULL), 400);   /* base64url */
    NWS_CHECK_EQ(handshake(WITH_KEY("dGhlIHNhbXBsZSBub25j_Q=="), NULL), 400);
    NWS_CHECK_EQ(handshake(WITH_KEY("dGhlIHNhbXBsZSBu b25jZQ=="), NULL), 400);
    NWS_CHECK_EQ(handshake(WITH_KEY("dGhlIHNhbXBsZSBub25jZ=Q="), NULL), 400);
    NWS_CHECK_EQ(handshake(WITH_KEY("+/+/+/+/+/+/+/+/+/+/+w=="), NULL), 0);
}

static void rfc6455_4_2_1_repeatedKeyOrVersionIs400(void) {
    NWS_CHECK_EQ(handshake("GET / HTTP/1.1\r\n" GOOD_HEADERS "Sec-WebSocket-Key: " KEY
                           "\r\n\r\n", NULL), 400);
    NWS_CHECK_EQ(handshake("GET / HTTP/1.1\r\n" GOOD_HEADERS "Sec-WebSocket-Version: 13\r\n\r\n",
                           NULL), 400);
}

static void rfc9112_3_2_missingOrRepeatedHostIs400(void) {
    NWS_CHECK_EQ(handshake("GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
                           NULL), 400);
    NWS_CHECK_EQ(handshake("GET / HTTP/1.1\r\nHost: b\r\n" GOOD_HEADERS "\r\n", NULL), 400);
}

static void rfc6455_4_2_1_http10UpgradeIs400(void) {
    NWS_CHECK_EQ(handshake("GET /chat HTTP/1.0\r\n" GOOD_HEADERS "\r\n", NULL), 400);
    NWS_CHECK_EQ(handshake("GET /chat HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
                           NULL), 400);
}

/* So that a caller serving a path itself (a health check) sees every plain GET the same way. */
static void rfc6455_4_2_1_plainHttp10GetIs426(void) {
    NWS_CHECK_EQ(handshake("GET /health HTTP/1.0\r\n\r\n", NULL), 426);
    NWS_CHECK_EQ(handshake("GET /health HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", NULL), 400);
    NWS_CHECK_EQ(handshake("GET /health HTTP/1.1\r\n\r\n", NULL), 400);
}

static void rfc6455_4_2_1_connectionWithoutUpgradeIs400(void) {
    NWS_CHECK_EQ(handshake("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                           "Connection: keep-alive, upgraded\r\nSec-WebSocket-Key: " KEY "\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n", NULL), 400);
}

static void rfc6455_4_4_version8Is426WithVersionHeader(void) {
    char out[512];
    NWS_CHECK_EQ(handshake("GET / HTTP/1.1\r\n" UPGRADE_HEADERS "Sec-WebSocket-Version: 8\r\n\r\n",
                           NULL), 426);
    int n = nws_http_error_response(out, sizeof out, 426, NULL, 0);
    NWS_CHECK(n > 0 && has(out, (size_t)n, "\r\nSec-WebSocket-Version: 13\r\n"));
    NWS_CHECK(n > 0 && has(out, (size_t)n, "\r\nUpgrade: websocket\r\n"));
}

static void rfc6455_4_4_missingOrListedVersionIs426(void) {
    NWS_CHECK_EQ(handshake("GET / HTTP/1.1\r\n" UPGRADE_HEADERS "\r\n", NULL), 426);
    NWS_CHECK_EQ(handshake("GET / HTTP/1.1\r\n" UPGRADE_HEADERS "Sec-WebSocket-Version: 13, 8\r\n"
                           "\r\n", NULL), 426);
}

static void rfc6455_4_2_1_postIs405(void) {
    NWS_CHECK_EQ(handshake("POST /chat HTTP/1.1\r\n" GOOD_HEADERS "\r\n", NULL), 405);
    NWS_CHECK_EQ(handshake("get /chat HTTP/1.1\r\n" GOOD_HEADERS "\r\n", NULL), 405);
}

static void rfc6455_4_2_1_plainGetIs426(void) {
    NWS_CHECK_EQ(handshake("GET /index.html HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n", NULL),
                 426);
    NWS_CHECK_EQ(handshake("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
                           "\r\n", NULL), 426);
}

static void rfc6455_4_1_requestWithBodyIs400(void) {
    NWS_CHECK_EQ(handshake("GET / HTTP/1.1\r\n" GOOD_HEADERS "Content-Length: 5\r\n\r\n", NULL),
                 400);
    NWS_CHECK_EQ(handshake("GET / HTTP/1.1\r\n" GOOD_HEADERS "Transfer-Encoding: chunked\r\n\r\n",
                           NULL), 400);
    NWS_CHECK_EQ(handshake("GET / HTTP/1.1\r\n" GOOD_HEADERS "Content-Length: 0\r\n\r\n", NULL), 0);
}

/* ---- limits ---------------------------------------------------------------------------- */

/* A request line of exactly `line` bytes (CRLF excluded) followed by `headers` lines of
 * "X-N: v" and a padding header so the head is `head` bytes when head > 0. */
static size_t build(char *out, size_t line, size_t headers, size_t head) {
    size_t n = 0;
    memcpy(out, "GET /", 5);
    n = 5;
    while (n < line - 9)
        out[n++] = 'a';
    memcpy(out + n, " HTTP/1.1\r\n", 11);
    n += 11;
    for (size_t i = 0; i < headers; i++)
        n += (size_t)sprintf(out + n, "X-%zu: v\r\n", i);
    if (head > 0) {
        memcpy(out + n, "P: ", 3);
        n += 3;
        while (n < head - 4)
            out[n++] = 'p';
        memcpy(out + n, "\r\n", 2);
        n += 2;
    }
    memcpy(out + n, "\r\n", 2);
    return n + 2;
}

static char big[20000];

static void rfc6585_5_headAtLimitIsAcceptedAndOneMoreIs431(void) {
    size_t n = build(big, 100, 0, 8192);
    NWS_CHECK_EQ(n, 8192);
    check_input(big, n, &LIM, 8192, 0);
    n = build(big, 100, 0, 8193);
    check_input(big, n, &LIM, NWS_EHTTPLIMIT, 431);
}

static void rfc6585_5_incompleteHeadOverLimitIs431WithoutWaiting(void) {
    nws_http_request req;
    int st;
    size_t n = build(big, 100, 0, 12000);
    NWS_CHECK_EQ(nws_http_parse(big, 8191, 0, &LIM, &req, &st), NWS_EPARTIAL);
    NWS_CHECK_EQ(nws_http_parse(big, 8192, 8191, &LIM, &req, &st), NWS_EHTTPLIMIT);
    NWS_CHECK_EQ(st, 431);
    NWS_CHECK_EQ(nws_http_parse(big, 9000, 0, &LIM, &req, &st), NWS_EHTTPLIMIT);
    NWS_CHECK_EQ(st, 431);
    check_input(big, n - 4, &LIM, NWS_EHTTPLIMIT, 431);
}

static void rfc6585_5_tooManyHeadersIs431(void) {
    nws_http_limits three = {8192, 4096, 3};
    size_t n = build(big, 20, 64, 0);
    check_input(big, n, &LIM, (int)n, 0);
    n = build(big, 20, 65, 0);
    check_input(big, n, &LIM, NWS_EHTTPLIMIT, 431);
    check_str("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 36, 0);
    n = strlen("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n");
    check_input("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", n, &three,
                NWS_EHTTPLIMIT, 431);
}

static void rfc9112_3_longRequestLineIs414(void) {
    nws_http_request req;
    int st;
    size_t n = build(big, 4096, 2, 0);
    check_input(big, n, &LIM, (int)n, 0);
    n = build(big, 4097, 2, 0);
    check_input(big, n, &LIM, NWS_EHTTPLIMIT, 414);
    /* Known before the line ends: 4098 bytes without an LF cannot be a line of 4096. */
    NWS_CHECK_EQ(nws_http_parse(big, 4097, 0, &LIM, &req, &st), NWS_EPARTIAL);
    NWS_CHECK_EQ(nws_http_parse(big, 4098, 4097, &LIM, &req, &st), NWS_EHTTPLIMIT);
    NWS_CHECK_EQ(st, 414);
}

static void limits_extremeValuesDoNotOverflow(void) {
    nws_http_limits huge = {SIZE_MAX, SIZE_MAX, SIZE_MAX};
    nws_http_limits zero = {0, 0, 0};
    check_input(GOOD, strlen(GOOD), &huge, (int)strlen(GOOD), 0);
    check_input(GOOD, strlen(GOOD), &zero, NWS_EHTTPLIMIT, 431);
    check_input("", 0, &LIM, NWS_EPARTIAL, 0);
}

/* ---- malformed heads ------------------------------------------------------------------- */

static void rfc9112_5_1_headerWithoutColonIs400(void) {
    check_str("GET / HTTP/1.1\r\nHost h\r\n\r\n", NWS_EHTTP, 400);
    check_str("GET / HTTP/1.1\r\n: empty-name\r\n\r\n", NWS_EHTTP, 400);
}

static void rfc9112_5_1_whitespaceBeforeColonIs400(void) {
    check_str("GET / HTTP/1.1\r\nHost : h\r\n\r\n", NWS_EHTTP, 400);
    check_str("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", NWS_EHTTP, 400);
}

static void rfc9110_5_5_controlCharInValueIs400(void) {
    check_input("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 26, &LIM, NWS_EHTTP, 400);
    check_str("GET / HTTP/1.1\r\nX: a\x01" "b\r\n\r\n", NWS_EHTTP, 400);
    check_str("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", NWS_EHTTP, 400);
    check_str("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", NWS_EHTTP, 400);
}

static void rfc9112_3_controlCharOrExtraSpaceInRequestLineIs400(void) {
    check_input("GET /a\0b HTTP/1.1\r\n\r\n", 21, &LIM, NWS_EHTTP, 400);
    check_str("GET\t/ HTTP/1.1\r\n\r\n", NWS_EHTTP, 400);
    check_str("GET  / HTTP/1.1\r\n\r\n", NWS_EHTTP, 400);
    check_str("GET / HTTP/1.1 \r\n\r\n", NWS_EHTTP, 400);
    check_str("GET /\xc3\xa9 HTTP/1.1\r\n\r\n", NWS_EHTTP, 400);
    check_str("GET /\r HTTP/1.1\r\n\r\n", NWS_EHTTP, 400);
    check_str(" GET / HTTP/1.1\r\n\r\n", NWS_EHTTP, 400);
    check_str("GET\r\n\r\n", NWS_EHTTP, 400);
}

static void rfc9110_5_6_2_invalidTokenInMethodOrNameIs400(void) {
    check_str("GE(T / HTTP/1.1\r\n\r\n", NWS_EHTTP, 400);
    check_str("GET / HTTP/1.1\r\nX@Y: 1\r\n\r\n", NWS_EHTTP, 400);
    check_str("GET / HTTP/1.1\r\nX\xc3\xa9: 1\r\n\r\n", NWS_EHTTP, 400);
    static const char all_tchars[] = "GET / HTTP/1.1\r\nX-Ok_~!#$%&'*+.^`|: 1\r\n\r\n";
    check_str(all_tchars, (int)strlen(all_tchars), 0);
}

static void rfc9112_5_2_obsFoldIs400(void) {
    check_str("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", NWS_EHTTP, 400);
    check_str("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", NWS_EHTTP, 400);
    check_str("GET / HTTP/1.1\r\n Host: h\r\n\r\n", NWS_EHTTP, 400);
}

static void rfc9112_2_2_bareLfIs400AsSoonAsSeen(void) {
    nws_http_request req;
    int st;
    check_str("GET / HTTP/1.1\n\n", NWS_EHTTP, 400);
    check_str("GET / HTTP/1.1\r\nHost: h\n\r\n", NWS_EHTTP, 400);
    check_str("\nGET / HTTP/1.1\r\n\r\n", NWS_EHTTP, 400);
    NWS_CHECK_EQ(nws_http_parse("GET / HTTP/1.1\nHost", 19, 0, &LIM, &req, &st), NWS_EHTTP);
    NWS_CHECK_EQ(st, 400);
}

static void rfc9112_2_3_badVersionSyntaxIs400AndOtherMajorIs505(void) {
    check_str("GET / HTTP/2.0\r\n\r\n", NWS_EHTTP, 505);
    check_str("GET / HTTP/0.9\r\n\r\n", NWS_EHTTP, 505);
    check_str("GET / HTTP/1.1x\r\n\r\n", NWS_EHTTP, 400);
    check_str("GET / HTTP/11.1\r\n\r\n", NWS_EHTTP, 400);
    check_str("GET / http/1.1\r\n\r\n", NWS_EHTTP, 400);
    check_str("GET / HTTP/2\r\n\r\n", NWS_EHTTP, 400);
    check_str("GET /\r\n\r\n", NWS_EHTTP, 400);
}

/* Inputs mutated at random and limits drawn at random: whatever the verdict, it must not
 * depend on how the bytes arrive, and nothing may be read past the buffer. */
static void parser_verdictDoesNotDependOnSplitsForMutatedInputs(void) {
    static const char *bases[] = {GOOD, "\r\n" GOOD, "GET / HTTP/1.1\r\nA: 1\r\n\r\nxyz",
                                  "POST /x?y HTTP/1.0\r\nB:\r\n\r\n"};
    static const char alphabet[] = "\r\n\r\n \t:\0aH/?\x7f\x80";
    uint64_t x = 0x9e3779b97f4a7c15u;
    char buf[512];
    for (int round = 0; round < 1500; round++) {
        const char *base = bases[round % 4];
        size_t n = strlen(base);
        memcpy(buf, base, n);
        int edits = 1 + round % 3;
        for (int e = 0; e < edits; e++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t at = (size_t)(x >> 8) % (n + 1);
            char c = alphabet[(x >> 40) % (sizeof alphabet - 1)];
            switch (x % 3) {
            case 0: memmove(buf + at + 1, buf + at, n - at); buf[at] = c; n++; break;
            case 1: if (at < n) { memmove(buf + at, buf + at + 1, n - at - 1); n--; } break;
            default: if (at < n) buf[at] = c; break;
            }
        }
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        nws_http_limits lim = {(size_t)(x % 300), (size_t)((x >> 16) % 200),
                               (size_t)((x >> 32) % 8)};
        if (round % 7 == 0)
            lim.max_request_line = SIZE_MAX;
        check_input(buf, n, &lim, WANT_ANY, 0);
    }
}

static void guardPage_catchesAnOverRead(void) {
    const char *p = guard_place("GET", 3);
    pid_t pid = fork();
    if (pid == 0) {
        /* Quiet: the sanitizers report the crash we are provoking. */
        int null_fd = open("/dev/null", O_WRONLY);
        if (null_fd >= 0)
            dup2(null_fd, STDERR_FILENO);
        volatile char c = p[3];
        (void)c;
        _exit(0);
    }
    int ws = 0;
    NWS_CHECK(pid > 0 && waitpid(pid, &ws, 0) == pid);
    NWS_CHECK(!(WIFEXITED(ws) && WEXITSTATUS(ws) == 0));
}

/* ---- lists ----------------------------------------------------------------------------- */

static void rfc9110_5_6_1_listSkipsEmptyElementsAndOws(void) {
    static const char v[] = " , ,a ,\t b,,c d , ";
    const char *item;
    size_t len, pos = 0;
    NWS_CHECK(nws_http_list_next(v, sizeof v - 1, &pos, &item, &len) && len == 1 && *item == 'a');
    NWS_CHECK(nws_http_list_next(v, sizeof v - 1, &pos, &item, &len) && len == 1 && *item == 'b');
    NWS_CHECK(nws_http_list_next(v, sizeof v - 1, &pos, &item, &len) && len == 3 &&
              memcmp(item, "c d", 3) == 0);
    NWS_CHECK_EQ(nws_http_list_next(v, sizeof v - 1, &pos, &item, &len), 0);
    NWS_CHECK_EQ(pos, sizeof v - 1);
    NWS_CHECK_EQ(nws_http_list_next(v, sizeof v - 1, &pos, &item, &len), 0);
}

static void rfc9110_5_6_1_emptyOrCommasOnlyListHasNoElements(void) {
    const char *item;
    size_t len, pos = 0;
    NWS_CHECK_EQ(nws_http_list_next("", 0, &pos, &item, &len), 0);
    pos = 0;
    NWS_CHECK_EQ(nws_http_list_next(",,, ,\t,", 7, &pos, &item, &len), 0);
    NWS_CHECK_EQ(nws_http_list_has(",,, ,", 5, "upgrade"), 0);
    NWS_CHECK_EQ(nws_http_list_has("", 0, "upgrade"), 0);
}

static void rfc9110_5_6_4_commaInQuotedStringDoesNotSplit(void) {
    static const char v[] = "permessage-deflate; x=\"a,\\\"b\", foo";
    const char *item;
    size_t len, pos = 0;
    NWS_CHECK(nws_http_list_next(v, sizeof v - 1, &pos, &item, &len) && len == 29);
    NWS_CHECK(nws_http_list_next(v, sizeof v - 1, &pos, &item, &len) && len == 3 &&
              memcmp(item, "foo", 3) == 0);
    NWS_CHECK_EQ(nws_http_list_next(v, sizeof v - 1, &pos, &item, &len), 0);
}

static void rfc9110_5_6_1_listHasMatchesWholeTokensCaseInsensitively(void) {
    NWS_CHECK(nws_http_list_has("keep-alive, Upgrade", 19, "upgrade"));
    NWS_CHECK(nws_http_list_has("UPGRADE", 7, "upgrade"));
    NWS_CHECK(nws_http_list_has("\tupgrade\t", 9, "upgrade"));
    NWS_CHECK(!nws_http_list_has("upgraded, not-upgrade, upgrade2", 31, "upgrade"));
    NWS_CHECK(!nws_http_list_has("upgrade", 6, "upgrade")); /* the length bounds the value */
    NWS_CHECK(!nws_http_list_has("websocket/13", 12, "websocket"));
}

/* ---- answers --------------------------------------------------------------------------- */

static const char sample_101[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                 "Upgrade: websocket\r\n"
                                 "Connection: Upgrade\r\n"
                                 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                                 "\r\n";

static void rfc6455_4_2_2_sampleAnswerBytes(void) {
    char out[256];
    int n = nws_handshake_response(out, sizeof out, KEY, 24, NULL, 0, NULL, 0);
    NWS_CHECK_EQ(n, (int)sizeof sample_101 - 1);
    NWS_CHECK(n > 0 && memcmp(out, sample_101, sizeof sample_101 - 1) == 0);
    int small = 0;
    for (size_t cap = 0; cap < sizeof sample_101 - 1; cap++)
        small += nws_handshake_response(out, cap, KEY, 24, NULL, 0, NULL, 0) == NWS_EINVAL;
    NWS_CHECK_EQ(small, (int)sizeof sample_101 - 1);
    NWS_CHECK_EQ(nws_handshake_response(out, sizeof sample_101 - 1, KEY, 24, NULL, 0, NULL, 0), n);
}

static void rfc6455_4_2_2_answerCarriesChosenProtocolAndExtensions(void) {
    static const char want[] = "HTTP/1.1 101 Switching Protocols\r\n"
                               "Upgrade: websocket\r\n"
                               "Connection: Upgrade\r\n"
                               "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                               "Sec-WebSocket-Protocol: chat\r\n"
                               "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"
                               "\r\n";
    char out[512];
    const char *ext = "permessage-deflate; server_no_context_takeover";
    int n = nws_handshake_response(out, sizeof out, KEY, 24, "chat", 4, ext, strlen(ext));
    NWS_CHECK_EQ(n, (int)sizeof want - 1);
    NWS_CHECK(n > 0 && memcmp(out, want, sizeof want - 1) == 0);
    n = nws_handshake_response(out, sizeof out, KEY, 24, "chat", 4, NULL, 0);
    NWS_CHECK(n > 0 && has(out, (size_t)n, "Sec-WebSocket-Protocol: chat\r\n\r\n"));
    NWS_CHECK(n > 0 && !has(out, (size_t)n, "Extensions"));
    n = nws_handshake_response(out, sizeof out, KEY, 24, "", 0, NULL, 0);
    NWS_CHECK_EQ(n, (int)sizeof sample_101 - 1);
}

static void rfc6455_4_2_2_valueThatCouldSplitTheAnswerIsRefused(void) {
    char out[512];
    NWS_CHECK_EQ(nws_handshake_response(out, sizeof out, KEY, 24, "a\r\nX: y", 7, NULL, 0),
                 NWS_EINVAL);
    NWS_CHECK_EQ(nws_handshake_response(out, sizeof out, KEY, 24, NULL, 0, "a\nb", 3), NWS_EINVAL);
}

/* Content-Length must equal the bytes after the blank line. */
static int body_matches_length(const char *out, int n) {
    const char *cl = NULL, *end = NULL;
    for (int i = 0; i + 4 <= n; i++) {
        if (cl == NULL && memcmp(out + i, "Content-Length: ", 16) == 0)
            cl = out + i + 16;
        if (memcmp(out + i, "\r\n\r\n", 4) == 0) {
            end = out + i + 4;
            break;
        }
    }
    return cl != NULL && end != NULL && strtol(cl, NULL, 10) == (long)(out + n - end);
}

static void check_answer(int status, const char *want) {
    char out[1024];
    int n = nws_http_error_response(out, sizeof out, status, NULL, 0);
    NWS_CHECK_EQ(n, (int)strlen(want));
    NWS_CHECK(n > 0 && memcmp(out, want, strlen(want)) == 0);
    NWS_CHECK(n > 0 && body_matches_length(out, n));
    int small = 0;
    for (size_t cap = 0; cap < strlen(want); cap++)
        small += nws_http_error_response(out, cap, status, NULL, 0) == NWS_EINVAL;
    NWS_CHECK_EQ(small, (int)strlen(want));
}

#define TEXT "Content-Type: text/plain; charset=utf-8\r\n"

static void rfc9110_15_errorAnswersAreCompleteAndClose(void) {
    check_answer(400, "HTTP/1.1 400 Bad Request\r\n" TEXT "Content-Length: 12\r\n"
                      "Connection: close\r\n\r\nBad Request\n");
    check_answer(404, "HTTP/1.1 404 Not Found\r\n" TEXT "Content-Length: 10\r\n"
                      "Connection: close\r\n\r\nNot Found\n");
    check_answer(405, "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\n" TEXT
                      "Content-Length: 19\r\nConnection: close\r\n\r\nMethod Not Allowed\n");
    check_answer(426, "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\n"
                      "Sec-WebSocket-Version: 13\r\n" TEXT "Content-Length: 17\r\n"
                      "Connection: upgrade, close\r\n\r\nUpgrade Required\n");
    check_answer(431, "HTTP/1.1 431 Request Header Fields Too Large\r\n" TEXT
                      "Content-Length: 32\r\nConnection: close\r\n\r\n"
                      "Request Header Fields Too Large\n");
}

static void rfc9110_15_everyKnownStatusHasReasonAndConsistentLength(void) {
    static const int known[] = {200, 400, 401, 403, 404, 405, 408, 413, 414,
                                426, 429, 431, 500, 503, 505};
    char out[1024];
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        NWS_CHECK(strcmp(nws_http_reason(known[i]), "Unknown") != 0);
        int n = nws_http_error_response(out, sizeof out, known[i], NULL, 0);
        NWS_CHECK(n > 0 && body_matches_length(out, n));
        NWS_CHECK(n > 0 && has(out, (size_t)n, "\r\nConnection: ") && has(out, (size_t)n, "close\r\n"));
    }
    NWS_CHECK(strcmp(nws_http_reason(101), "Switching Protocols") == 0);
    NWS_CHECK(strcmp(nws_http_reason(299), "Unknown") == 0);
    int n = nws_http_error_response(out, sizeof out, 403, "origin not allowed", 18);
    NWS_CHECK(n > 0 && body_matches_length(out, n) &&
              memcmp(out + n - 18, "origin not allowed", 18) == 0);
    n = nws_http_error_response(out, sizeof out, 299, NULL, 0);
    NWS_CHECK(n > 0 && has(out, (size_t)n, "HTTP/1.1 299 Unknown\r\n"));
}

static void rfc9110_6_4_1_statusWithoutBodyIsRefused(void) {
    char out[256];
    NWS_CHECK_EQ(nws_http_error_response(out, sizeof out, 101, NULL, 0), NWS_EINVAL);
    NWS_CHECK_EQ(nws_http_error_response(out, sizeof out, 204, NULL, 0), NWS_EINVAL);
    NWS_CHECK_EQ(nws_http_error_response(out, sizeof out, 304, NULL, 0), NWS_EINVAL);
    NWS_CHECK_EQ(nws_http_error_response(out, sizeof out, 1000, NULL, 0), NWS_EINVAL);
}

int main(void) {
    guard_init();
    NWS_RUN(guardPage_catchesAnOverRead);
    NWS_RUN(rfc6455_1_3_sampleKeyGivesSampleAccept);
    NWS_RUN(rfc6455_4_1_browserRequestIsAcceptedWithAllFields);
    NWS_RUN(rfc6455_4_2_1_minimalRequestHasNoOptionalFields);
    NWS_RUN(rfc6455_4_2_1_queryIsSplitAtFirstQuestionMark);
    NWS_RUN(rfc9110_5_1_fieldNamesAndTokensAreCaseInsensitive);
    NWS_RUN(rfc9110_5_3_listFieldsSplitOverLinesAreSearched);
    NWS_RUN(rfc9110_5_5_valueOwsIsTrimmedAndEmptyValueKept);
    NWS_RUN(rfc9110_5_5_tabAndObsTextInValueAreAccepted);
    NWS_RUN(rfc9112_2_3_minorVersionIsReported);
    NWS_RUN(rfc9112_2_2_oneLeadingEmptyLineIsIgnored);
    NWS_RUN(rfc6455_4_1_bytesAfterHeadAreNotConsumed);
    NWS_RUN(rfc6455_4_2_1_missingKeyIs400);
    NWS_RUN(rfc6455_4_2_1_keyOfWrongLengthIs400);
    NWS_RUN(rfc6455_4_2_1_keyNotOf16BytesIs400);
    NWS_RUN(rfc6455_4_2_1_keyWithBadAlphabetIs400);
    NWS_RUN(rfc6455_4_2_1_repeatedKeyOrVersionIs400);
    NWS_RUN(rfc9112_3_2_missingOrRepeatedHostIs400);
    NWS_RUN(rfc6455_4_2_1_http10UpgradeIs400);
    NWS_RUN(rfc6455_4_2_1_plainHttp10GetIs426);
    NWS_RUN(rfc6455_4_2_1_connectionWithoutUpgradeIs400);
    NWS_RUN(rfc6455_4_4_version8Is426WithVersionHeader);
    NWS_RUN(rfc6455_4_4_missingOrListedVersionIs426);
    NWS_RUN(rfc6455_4_2_1_postIs405);
    NWS_RUN(rfc6455_4_2_1_plainGetIs426);
    NWS_RUN(rfc6455_4_1_requestWithBodyIs400);
    NWS_RUN(rfc6585_5_headAtLimitIsAcceptedAndOneMoreIs431);
    NWS_RUN(rfc6585_5_incompleteHeadOverLimitIs431WithoutWaiting);
    NWS_RUN(rfc6585_5_tooManyHeadersIs431);
    NWS_RUN(rfc9112_3_longRequestLineIs414);
    NWS_RUN(limits_extremeValuesDoNotOverflow);
    NWS_RUN(rfc9112_5_1_headerWithoutColonIs400);
    NWS_RUN(rfc9112_5_1_whitespaceBeforeColonIs400);
    NWS_RUN(rfc9110_5_5_controlCharInValueIs400);
    NWS_RUN(rfc9112_3_controlCharOrExtraSpaceInRequestLineIs400);
    NWS_RUN(rfc9110_5_6_2_invalidTokenInMethodOrNameIs400);
    NWS_RUN(rfc9112_5_2_obsFoldIs400);
    NWS_RUN(rfc9112_2_2_bareLfIs400AsSoonAsSeen);
    NWS_RUN(rfc9112_2_3_badVersionSyntaxIs400AndOtherMajorIs505);
    NWS_RUN(parser_verdictDoesNotDependOnSplitsForMutatedInputs);
    NWS_RUN(rfc9110_5_6_1_listSkipsEmptyElementsAndOws);
    NWS_RUN(rfc9110_5_6_1_emptyOrCommasOnlyListHasNoElements);
    NWS_RUN(rfc9110_5_6_4_commaInQuotedStringDoesNotSplit);
    NWS_RUN(rfc9110_5_6_1_listHasMatchesWholeTokensCaseInsensitively);
    NWS_RUN(rfc6455_4_2_2_sampleAnswerBytes);
    NWS_RUN(rfc6455_4_2_2_answerCarriesChosenProtocolAndExtensions);
    NWS_RUN(rfc6455_4_2_2_valueThatCouldSplitTheAnswerIsRefused);
    NWS_RUN(rfc9110_15_errorAnswersAreCompleteAndClose);
    NWS_RUN(rfc9110_15_everyKnownStatusHasReasonAndConsistentLength);
    NWS_RUN(rfc9110_6_4_1_statusWithoutBodyIsRefused);
    return nws_test_summary("http");
}
