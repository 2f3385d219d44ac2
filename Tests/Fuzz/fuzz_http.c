/*
 * fuzz_http.c — the HTTP upgrade parser (nws_http_parse) and the handshake check.
 *
 * The parser promises that its verdict does not depend on how the bytes were split across
 * reads. So the input is parsed whole, then again as a connection would read it, in pieces
 * cut at points drawn from the input; the first call that is not "more input" must give the
 * same verdict, status, head length and fields (as offsets into the buffer) as the whole parse.
 * Each parse reads a buffer that ends against a page it may not touch.
 */
#include "fuzz_common.h"
#include "nws_error.h"
#include "nws_http.h"

typedef struct {
    int rc, status;
    nws_http_request req;
} verdict;

static verdict parse(const uint8_t *data, size_t len, size_t prev, const nws_http_limits *limits) {
    verdict v;
    memset(&v, 0, sizeof v);
    v.status = -1;
    const char *buf = (const char *)fuzz_against_guard(data, len);
    v.rc = nws_http_parse(buf, len, prev, limits, &v.req, &v.status);
    /* Offsets, not pointers: each parse reads its own copy. */
    if (v.rc > 0) {
        v.req.method = (const char *)(v.req.method - buf);
        v.req.target = (const char *)(v.req.target - buf);
        for (size_t i = 0; i < v.req.num_headers; i++) {
            v.req.headers[i].name = (const char *)(v.req.headers[i].name - buf);
            v.req.headers[i].value = (const char *)(v.req.headers[i].value - buf);
        }
    }
    return v;
}

static void same(const verdict *a, const verdict *b) {
    FUZZ_CHECK(a->rc == b->rc);
    if (a->rc == NWS_EHTTP || a->rc == NWS_EHTTPLIMIT) FUZZ_CHECK(a->status == b->status);
    if (a->rc <= 0) return;
    FUZZ_CHECK(a->req.method == b->req.method && a->req.method_len == b->req.method_len);
    FUZZ_CHECK(a->req.target == b->req.target && a->req.target_len == b->req.target_len);
    FUZZ_CHECK(a->req.minor_version == b->req.minor_version);
    FUZZ_CHECK(a->req.num_headers == b->req.num_headers);
    for (size_t i = 0; i < a->req.num_headers; i++) {
        const nws_http_header *x = &a->req.headers[i], *y = &b->req.headers[i];
        FUZZ_CHECK(x->name == y->name && x->name_len == y->name_len);
        FUZZ_CHECK(x->value == y->value && x->value_len == y->value_len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
    fuzz_rng rng = fuzz_seed(data, len);
    /* The server's limits, or small ones that the fuzzer crosses easily. */
    nws_http_limits limits = fuzz_next(&rng) & 1 ? (nws_http_limits){8192, 4096, 64} : (nws_http_limits){300, 80, 6};
    verdict whole = parse(data, len, 0, &limits);
    FUZZ_CHECK(whole.rc > 0 || whole.rc == NWS_EPARTIAL || whole.rc == NWS_EHTTP || whole.rc == NWS_EHTTPLIMIT);
    if (whole.rc > 0) {
        FUZZ_CHECK((size_t)whole.rc <= len);
        FUZZ_CHECK(whole.req.num_headers <= limits.max_headers);
    }
    if (whole.rc == NWS_EHTTPLIMIT) FUZZ_CHECK(whole.status == 414 || whole.status == 431);
    if (whole.rc == NWS_EHTTP) FUZZ_CHECK(whole.status == 400 || whole.status == 505);

    /* As read in pieces: the first answer that is not "more input" is the whole one's. */
    size_t at = 0, prev = 0;
    verdict split = {.rc = NWS_EPARTIAL};
    while (at < len) {
        at += 1 + fuzz_next(&rng) % (len - at < 64 ? len - at : 64);
        split = parse(data, at, prev, &limits);
        if (split.rc != NWS_EPARTIAL) break;
        prev = at;
    }
    if (split.rc != NWS_EPARTIAL || len == 0) same(&whole, &split);
    else FUZZ_CHECK(whole.rc == NWS_EPARTIAL);

    if (whole.rc > 0) {
        /* The handshake check reads the request it was given: back to pointers. */
        const char *buf = (const char *)fuzz_against_guard(data, len);
        nws_http_request req;
        int status;
        FUZZ_CHECK(nws_http_parse(buf, len, 0, &limits, &req, &status) == whole.rc);
        nws_upgrade up;
        int check = nws_handshake_check(&req, &up);
        FUZZ_CHECK(check == 0 || check == 400 || check == 405 || check == 426);
        if (check == 0) {
            FUZZ_CHECK(up.key_len == 24 && up.path != NULL);
            char accept[29];
            nws_handshake_accept(up.key, up.key_len, accept);
        }
    }
    return 0;
}
