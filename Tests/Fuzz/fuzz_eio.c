/*
 * fuzz_eio.c — Engine.IO's parsers: a long-polling body split into packets, one WebSocket
 * packet, a request's query, and base64 (what a binary packet carries over polling).
 *
 * What must hold: packets of a body lie inside it, in order, and the body's separators are
 * between them; what base64 decodes encodes and decodes back to itself; a query's sid lies inside the
 * query; nothing reads past the input, which ends against a page it may not touch.
 */
#include "fuzz_common.h"
#include "nws_eio.h"
#include "nws_error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
    const uint8_t *p = fuzz_against_guard(data, len);
    /* A polling body. */
    size_t pos = 0, last = 0;
    int packets = 0;
    for (;;) {
        nws_eio_packet packet;
        int rc = nws_eio_payload_next(p, len, &pos, &packet);
        FUZZ_CHECK(rc == 0 || rc == 1 || rc == NWS_EPROTO);
        if (rc != 1) break;
        FUZZ_CHECK(pos > last && pos <= len);
        FUZZ_CHECK(packet.len == 0 || (packet.data >= p + last && packet.data + packet.len <= p + pos));
        if (packet.type == NWS_EIO_BINARY) {
            /* Its base64 decodes to bytes that encode and decode back to themselves. (Bits
             * left over in the last character need not be zero: Node's decoder, which the
             * official server uses, ignores them too.) */
            uint8_t *raw = malloc(packet.len + 1), *raw2 = malloc(packet.len + 1);
            char *again = malloc(packet.len + 4);
            if (!raw || !raw2 || !again) abort();
            int n = nws_eio_base64_decode((const char *)packet.data, packet.len, raw, packet.len + 1);
            if (n >= 0) {
                FUZZ_CHECK(nws_eio_base64_decoded_len((const char *)packet.data, packet.len) == n);
                size_t m = nws_eio_base64_encode(raw, (size_t)n, again);
                FUZZ_CHECK(m == packet.len);
                FUZZ_CHECK(nws_eio_base64_decode(again, m, raw2, packet.len + 1) == n);
                FUZZ_CHECK(memcmp(raw, raw2, (size_t)n) == 0);
            }
            free(raw);
            free(raw2);
            free(again);
        }
        last = pos;
        FUZZ_CHECK(++packets <= (int)len);
    }
    /* One WebSocket packet. */
    nws_eio_packet one;
    int rc = nws_eio_packet_parse(p, len, &one);
    FUZZ_CHECK(rc == 0 || rc == 1 || rc < 0);
    if (rc >= 0 && one.len) FUZZ_CHECK(one.data >= p && one.data + one.len <= p + len);
    /* A query. */
    nws_eio_query q;
    nws_eio_parse_query((const char *)p, len, &q);
    if (q.sid) FUZZ_CHECK((const uint8_t *)q.sid >= p && (const uint8_t *)q.sid + q.sid_len <= p + len);
    int error = -1;
    int kind = nws_eio_classify(len & 2 ? "POST" : "GET", len & 2 ? 4 : 3, &q, (int)(len & 1), &error);
    FUZZ_CHECK(kind == 0 || kind == 1 || (kind == -1 && error >= 0));
    FUZZ_CHECK(kind != 1 || q.sid != NULL);
    if (q.sid) {
        uint8_t secret[NWS_EIO_SECRET_LEN] = {1, 2, 3};
        uint64_t id;
        if (nws_eio_sid_decode(q.sid, q.sid_len, secret, &id) == 0) {
            char sid[NWS_EIO_SID_LEN + 1];
            FUZZ_CHECK(nws_eio_sid_encode(id, secret, sid) >= 0);
            FUZZ_CHECK(q.sid_len == NWS_EIO_SID_LEN && memcmp(sid, q.sid, NWS_EIO_SID_LEN) == 0);
        }
    }
    return 0;
}
