/*
 * fuzz_frame.c — the RFC 6455 frame decoder.
 *
 * 1. The input as bytes from a client: decoded whole, and again in pieces cut at points drawn
 *    from the input (a header, a mask key, a control payload or a UTF-8 sequence may be split
 *    anywhere). Both must report the same complete messages, the same control frames and the
 *    same error. Each piece lies against a page the decoder may not touch.
 * 2. The input as payloads: encoded as a client would (fragmented at random, masked with a
 *    key drawn from the input, pings in between), decoded in random pieces, and each payload
 *    must come back as it was.
 */
#include "fuzz_common.h"
#include "nws_error.h"
#include "nws_frame.h"
#include "nws_mask.h"

/* What a decode reports, written out as bytes: each complete message and control frame, and
 * the error that ended it, so that two decodes compare with memcmp. */
typedef struct {
    uint8_t *log;
    size_t log_len, log_cap;
    uint8_t *message;    /* the data message being reassembled */
    size_t message_len, message_cap;
    int error;
} record;

static void put(uint8_t **buf, size_t *len, size_t *cap, const void *p, size_t n) {
    if (*len + n > *cap) {
        *cap = (*len + n) * 2 + 64;
        *buf = realloc(*buf, *cap);
        if (*buf == NULL) abort();
    }
    if (n) memcpy(*buf + *len, p, n);
    *len += n;
}

static void event(record *r, const nws_decoded *out) {
    if (out->kind == NWS_DECODED_DATA) {
        if (out->first) r->message_len = 0;
        put(&r->message, &r->message_len, &r->message_cap, out->data, out->len);
        if (out->last) {
            uint8_t head[2] = {'M', out->opcode};
            put(&r->log, &r->log_len, &r->log_cap, head, 2);
            put(&r->log, &r->log_len, &r->log_cap, &r->message_len, sizeof r->message_len);
            put(&r->log, &r->log_len, &r->log_cap, r->message, r->message_len);
            r->message_len = 0;
        }
    } else if (out->kind == NWS_DECODED_CONTROL) {
        uint8_t head[2] = {'C', out->opcode};
        put(&r->log, &r->log_len, &r->log_cap, head, 2);
        put(&r->log, &r->log_len, &r->log_cap, &out->close_code, sizeof out->close_code);
        put(&r->log, &r->log_len, &r->log_cap, &out->len, sizeof out->len);
        put(&r->log, &r->log_len, &r->log_cap, out->data, out->len);
    }
}

/* Decodes data[0..len) in pieces of at most `piece` bytes (len: whole), drawn from rng. */
static void decode(record *r, const nws_decoder_limits *limits, const uint8_t *data, size_t len, size_t piece,
                   fuzz_rng *rng) {
    nws_decoder d;
    nws_decoder_init(&d, limits);
    size_t at = 0;
    while (at < len && r->error == 0) {
        size_t n = piece >= len ? len - at : 1 + fuzz_next(rng) % piece;
        if (n > len - at) n = len - at;
        uint8_t *buf = fuzz_against_guard(data + at, n);
        size_t used = 0;
        while (used < n) {
            nws_decoded out;
            ssize_t k = nws_decode(&d, buf + used, n - used, &out);
            if (k < 0) {
                r->error = (int)k;
                FUZZ_CHECK(nws_decode(&d, buf + used, n - used, &out) == k);   /* spent: the same again */
                break;
            }
            FUZZ_CHECK(k > 0 && (size_t)k <= n - used);
            event(r, &out);
            used += (size_t)k;
        }
        at += n;
    }
    nws_decoder_free(&d);
}

static int same(const record *a, const record *b) {
    return a->error == b->error && a->log_len == b->log_len && (a->log_len == 0 || memcmp(a->log, b->log, a->log_len) == 0) &&
           (a->error != 0 || a->message_len == b->message_len);
}

static void release(record *r) {
    free(r->log);
    free(r->message);
}

/* Part 2: payloads cut from the input, sent as a client would, must come back unchanged. */
static void round_trip(const uint8_t *data, size_t len, fuzz_rng *rng) {
    uint8_t *stream = NULL;
    size_t stream_len = 0, stream_cap = 0;
    size_t at = 0, messages = 0;
    while (at < len && messages < 64) {
        size_t n = fuzz_next(rng) % (len - at + 1);
        size_t fragments = 1 + fuzz_next(rng) % 4, done = 0;
        for (size_t f = 0; f < fragments; f++) {
            size_t part = f + 1 == fragments ? n - done : fuzz_next(rng) % (n - done + 1);
            uint8_t key[4];
            uint64_t k = fuzz_next(rng);
            memcpy(key, &k, 4);
            uint8_t header[NWS_FRAME_HEADER_MAX];
            size_t h = nws_frame_header(header, f == 0 ? NWS_OP_BINARY : NWS_OP_CONTINUATION, f + 1 == fragments, 0,
                                        part, key);
            put(&stream, &stream_len, &stream_cap, header, h);
            size_t body = stream_len;
            put(&stream, &stream_len, &stream_cap, data + at + done, part);
            nws_mask(stream + body, part, key, 0);
            done += part;
            if (fuzz_next(rng) % 4 == 0) {   /* a ping between fragments, as RFC 6455 §5.4 allows */
                size_t ping = fuzz_next(rng) % 126;
                if (ping > len) ping = len;
                h = nws_frame_header(header, NWS_OP_PING, 1, 0, ping, key);
                put(&stream, &stream_len, &stream_cap, header, h);
                body = stream_len;
                put(&stream, &stream_len, &stream_cap, data, ping);
                nws_mask(stream + body, ping, key, 0);
            }
        }
        at += n;
        messages++;
    }
    nws_decoder_limits limits = {0, 0, 1, 0};
    record r = {0};
    decode(&r, &limits, stream, stream_len, 1 + fuzz_next(rng) % 700, rng);
    FUZZ_CHECK(r.error == 0);
    /* The log holds each message as 'M', opcode, length, bytes; pings as 'C' entries. */
    size_t pos = 0;
    at = 0;
    while (pos < r.log_len) {
        uint8_t kind = r.log[pos];
        if (kind == 'M') {
            size_t n;
            memcpy(&n, r.log + pos + 2, sizeof n);
            FUZZ_CHECK(r.log[pos + 1] == NWS_OP_BINARY && at + n <= len && memcmp(r.log + pos + 2 + sizeof n, data + at, n) == 0);
            at += n;
            pos += 2 + sizeof n + n;
        } else {
            size_t n;
            memcpy(&n, r.log + pos + 2 + sizeof(uint16_t), sizeof n);
            FUZZ_CHECK(r.log[pos + 1] == NWS_OP_PING && memcmp(r.log + pos + 2 + sizeof(uint16_t) + sizeof n, data, n) == 0);
            pos += 2 + sizeof(uint16_t) + sizeof n + n;
        }
    }
    release(&r);
    free(stream);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
    fuzz_rng rng = fuzz_seed(data, len);
    uint64_t pick = fuzz_next(&rng);
    /* No limits, or small ones that the fuzzer crosses; permessage-deflate negotiated or not. */
    nws_decoder_limits limits = {pick & 1 ? 0 : 40 + pick % 300, pick & 2 ? 0 : 100 + (pick >> 8) % 1000, 1, (pick >> 4) & 1};
    record whole = {0}, split = {0};
    decode(&whole, &limits, data, len, len, &rng);
    decode(&split, &limits, data, len, 1 + fuzz_next(&rng) % 32, &rng);
    FUZZ_CHECK(same(&whole, &split));
    if (whole.error) FUZZ_CHECK(nws_err_close_code(whole.error) >= 1002);
    release(&whole);
    release(&split);
    round_trip(data, len, &rng);
    return 0;
}
