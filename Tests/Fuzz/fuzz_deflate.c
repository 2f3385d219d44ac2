/*
 * fuzz_deflate.c — permessage-deflate: the negotiation of any offer string, and the inflation
 * of any compressed message against zlib driven directly.
 *
 * First byte even: the rest is an offer. An accepted offer's answer is an offer the server
 * accepts again with the same parameters, and fits its buffer.
 * First byte odd: the rest is a message as a client would compress it, inflated with the
 * loop's stream or a connection's own (window 8..15), under a limit of 1..64 KiB. The verdict
 * is 0 with at most the limit's bytes, 1009 or 1007; when zlib alone inflates the message
 * within the limit, the output is the same. Then the input compressed by the server's own
 * streams inflates back to itself.
 */
#include <zlib.h>

#include "fuzz_common.h"
#include "internal.h"

/* conn.c's, which the fuzzer does not link: it never leaves a broadcast waiting for a
 * connection's compressor (nws__deflate_defer), so nothing calls this. */
void nws__conn_compress_deferred(nws_loop *loop, nws_conn *c) {
    (void)loop;
    (void)c;
    abort();
}

static void negotiate(const uint8_t *p, size_t len) {
    nws_deflate_config modes[] = {{.mode = NWS_DEFLATE_SHARED}, {.mode = NWS_DEFLATE_DEDICATED},
                                  {.mode = NWS_DEFLATE_DEDICATED, .window_bits = 9, .client_window_bits = 10}};
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        nws_deflate_params a, b;
        char answer[NWS_DEFLATE_RESPONSE_MAX], again[NWS_DEFLATE_RESPONSE_MAX];
        size_t alen = 0, blen = 0;
        if (!nws_deflate_negotiate(&modes[i], (const char *)p, len, &a, answer, &alen)) continue;
        FUZZ_CHECK(alen < NWS_DEFLATE_RESPONSE_MAX && strlen(answer) == alen);
        FUZZ_CHECK(strncmp(answer, "permessage-deflate", 18) == 0);
        FUZZ_CHECK(a.server_max_window_bits >= 8 && a.server_max_window_bits <= 15);
        FUZZ_CHECK(a.client_max_window_bits >= 8 && a.client_max_window_bits <= 15);
        FUZZ_CHECK(nws_deflate_negotiate(&modes[i], answer, alen, &b, again, &blen));
        FUZZ_CHECK(memcmp(&a, &b, sizeof a) == 0);
    }
}

/* zlib alone: 1 and out when the message inflates within limit, without ending its stream. */
static int reference(const uint8_t *p, size_t len, int bits, size_t limit, uint8_t *out, size_t *out_len) {
    static const uint8_t tail[4] = {0, 0, 0xff, 0xff};
    z_stream z = {0};
    if (inflateInit2(&z, -bits) != Z_OK) abort();
    z.next_out = out;
    z.avail_out = (uInt)limit + 1;
    int ok = 1;
    for (int piece = 0; piece < 2 && ok; piece++) {
        z.next_in = (Bytef *)(uintptr_t)(piece ? tail : p);
        z.avail_in = (uInt)(piece ? 4 : len);
        int rc = inflate(&z, Z_SYNC_FLUSH);
        ok = (rc == Z_OK || rc == Z_BUF_ERROR) && z.avail_in == 0 && z.avail_out > 0;
    }
    *out_len = limit + 1 - z.avail_out;
    inflateEnd(&z);
    return ok && *out_len <= limit;
}

static nws_server server;
static nws_loop loop = {.server = &server};

static void inflate_message(const uint8_t *p, size_t len) {
    if (len < 2) return;
    int own = p[0] & 1, bits = 8 + (p[0] >> 1) % 8;
    size_t limit = 1 + (size_t)p[1] * 256;
    p += 2, len -= 2;
    server.config.max_message = limit;
    server.config.deflate = (nws_deflate_config){NWS_DEFLATE_DEDICATED, 1, 1, 15, 8, 15};
    nws_deflate_params params = {1, (uint8_t)!own, 15, (uint8_t)bits};
    nws_conn c = {0};
    if (nws__deflate_accept(&loop, &c, &params) != 0) abort();
    const uint8_t *out;
    size_t out_len;
    int rc = nws__deflate_inflate(&loop, &c, p, len, &out, &out_len);
    FUZZ_CHECK(rc == 0 || rc == NWS_ETOOBIG || rc == NWS_EINFLATE);
    if (rc == 0) FUZZ_CHECK(out_len <= limit);
    static uint8_t expected[64 * 1024 + 2];
    size_t expected_len;
    if (reference(p, len, own ? bits : 15, limit, expected, &expected_len)) {
        FUZZ_CHECK(rc == 0 && out_len == expected_len && memcmp(out, expected, out_len) == 0);
    }
    nws__deflate_done(&loop);
    nws__deflate_conn_free(&c);
    free(c.cold);   /* the cold part nws__deflate_accept made, empty now */
}

/* The payload of the frame of n bytes at the end of c's queue: a final compressed binary frame
 * whose length takes the fewest bytes (RFC 6455 §5.2). */
static const uint8_t *queued_payload(const nws_conn *c, size_t n, size_t *len) {
    const nws_buf *b = c->tail->buf;
    const uint8_t *f = b->data + b->len - n;
    FUZZ_CHECK(n >= 2 && f[0] == 0xC2 && !(f[1] & 0x80));
    size_t hlen = 2, plen = f[1];
    if (plen == 126) {
        hlen = 4, plen = (size_t)f[2] << 8 | f[3];
    } else if (plen == 127) {
        hlen = 10, plen = 0;
        for (int i = 0; i < 8; i++) plen = plen << 8 | f[2 + i];
    }
    FUZZ_CHECK(n == hlen + plen && hlen == (plen < 126 ? 2u : plen <= 0xFFFF ? 4u : 10u));
    *len = plen;
    return f + hlen;
}

/* The server's compression, through its loop stream and a connection's own (memory levels 8
 * and 1: at 1, data that does not compress outgrows the room in the queue and spills), each
 * message twice: first into an empty queue, then behind the first, where the tail has room.
 * Both inflate back with zlib, the second with the first's window where context is kept. */
static void round_trip(const uint8_t *p, size_t len) {
    static const uint8_t tail[4] = {0, 0, 0xff, 0xff};
    static uint8_t back[8192];
    server.config.max_message = 1 << 20;
    for (int variant = 0; variant < 4; variant++) {
        int shared = variant & 1, mem_level = variant & 2 ? 1 : 8, bits = len % 2 ? 15 : 9;
        server.config.deflate = (nws_deflate_config){NWS_DEFLATE_DEDICATED, 1, 1, 15, mem_level, 15};
        nws_deflate_params params = {(uint8_t)shared, 1, (uint8_t)bits, 15};
        nws_conn c = {0};
        if (nws__deflate_accept(&loop, &c, &params) != 0) abort();
        z_stream z = {0};
        if (inflateInit2(&z, -bits) != Z_OK) abort();
        for (int send = 0; send < 2; send++) {
            ssize_t n = nws__deflate_queue(&loop, &c, NWS_OP_BINARY, NULL, 0, p, len, 0);
            FUZZ_CHECK(n >= 0);
            if (n == 0) {
                FUZZ_CHECK(shared);   /* only a stream without context may decline */
                continue;
            }
            size_t zlen;
            const uint8_t *payload = queued_payload(&c, (size_t)n, &zlen);
            if (len > sizeof back) continue;   /* inflated back only where the buffer holds it */
            if (shared) inflateReset(&z);
            z.next_out = back;
            z.avail_out = sizeof back;
            for (int piece = 0; piece < 2; piece++) {
                z.next_in = (Bytef *)(uintptr_t)(piece ? tail : payload);
                z.avail_in = (uInt)(piece ? 4 : zlen);
                int rc = inflate(&z, Z_SYNC_FLUSH);
                FUZZ_CHECK((rc == Z_OK || rc == Z_BUF_ERROR) && z.avail_in == 0);
            }
            FUZZ_CHECK(sizeof back - z.avail_out == len && memcmp(back, p, len) == 0);
        }
        inflateEnd(&z);
        nws__deflate_done(&loop);
        nws__sendq_clear(&loop, &c);
        nws__deflate_conn_free(&c);
        free(c.cold);   /* the cold part nws__deflate_accept made, empty now */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
    if (len == 0) return 0;
    const uint8_t *p = fuzz_against_guard(data + 1, len - 1);
    if (data[0] % 2 == 0) {
        negotiate(p, len - 1);
    } else {
        inflate_message(p, len - 1);
        round_trip(p, len - 1);
    }
    return 0;
}
