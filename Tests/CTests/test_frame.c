/*
 * test_frame.c — RFC 6455 §5 and §7 frame decoder and encoder.
 *
 * Almost every input goes through expect(): decoded whole, then cut in two at every byte
 * offset, then fed one byte per call, and each way must report the same messages, control
 * frames and error. Each piece lives in its own heap block of exactly its size, so under
 * ASan a read past a piece, or a pointer kept into a piece after nws_decode returned, is
 * caught. Frames are built by a small builder here, independent of nws_frame_header.
 *
 * Build (from the repository root):
 *   cc -std=c11 -O2 -ICSources/CNaviosWS/include -ICSources/CNaviosWS Tests/CTests/test_frame.c
 *      CSources/CNaviosWS/frame.c CSources/CNaviosWS/mask.c CSources/CNaviosWS/utf8.c
 *      CSources/CNaviosWS/error.c -o test_frame
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nws_error.h"
#include "nws_frame.h"
#include "nws_mask.h"
#include "nws_test.h"
#include "nws_utf8.h"

#define FIN 0x80
#define RSV1 0x40
#define RSV2 0x20
#define RSV3 0x10

#define OP_CONT NWS_OP_CONTINUATION
#define OP_TEXT NWS_OP_TEXT
#define OP_BIN NWS_OP_BINARY
#define OP_CLOSE NWS_OP_CLOSE
#define OP_PING NWS_OP_PING
#define OP_PONG NWS_OP_PONG

/* Length encodings the builder can be told to use; LEN_MIN picks the minimal one. */
enum { LEN_MIN = 0, LEN_7 = 7, LEN_16 = 16, LEN_64 = 64 };

static const nws_decoder_limits server = {.require_mask = 1};
static const nws_decoder_limits client = {.require_mask = 0};
static const nws_decoder_limits deflate_server = {.require_mask = 1, .allow_rsv1 = 1};

static void fail_at(const char *file, int line, const char *what) {
    nws_test_failed_checks++;
    fprintf(stderr, "  %s:%d: %s\n", file, line, what);
}

/* ---- frame builder ---- */

typedef struct {
    uint8_t *b;
    size_t n, cap;
} wire;

static void put(wire *w, const void *p, size_t n) {
    if (w->n + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->n + n) {
            cap *= 2;
        }
        w->b = realloc(w->b, cap);
        w->cap = cap;
    }
    if (n != 0) {
        memcpy(w->b + w->n, p, n);
    }
    w->n += n;
}

static void wire_free(wire *w) {
    free(w->b);
    *w = (wire){0};
}

static unsigned key_seq;

/* A header declaring `declared` payload bytes. Keys change per frame and have high bits
 * set, so masked ASCII is not ASCII and a wrong phase shows. */
static void header(wire *w, uint8_t b0, uint64_t declared, int masked, int form, uint8_t key[4]) {
    uint8_t h[14];
    size_t n = 2;
    uint8_t m = masked ? 0x80 : 0;
    if (form == LEN_MIN) {
        form = declared < 126 ? LEN_7 : declared <= 0xFFFF ? LEN_16 : LEN_64;
    }
    h[0] = b0;
    if (form == LEN_7) {
        h[1] = (uint8_t)(m | declared);
    } else if (form == LEN_16) {
        h[1] = m | 126;
        h[2] = (uint8_t)(declared >> 8);
        h[3] = (uint8_t)declared;
        n = 4;
    } else {
        h[1] = m | 127;
        for (int i = 0; i < 8; i++) {
            h[2 + i] = (uint8_t)(declared >> (56 - 8 * i));
        }
        n = 10;
    }
    if (masked) {
        key_seq++;
        key[0] = (uint8_t)(0x9B + 37 * key_seq);
        key[1] = (uint8_t)(0xBC ^ (11 * key_seq));
        key[2] = (uint8_t)(0xE7 - 5 * key_seq);
        key[3] = (uint8_t)(0x81 + 73 * key_seq);
        memcpy(h + n, key, 4);
        n += 4;
    }
    put(w, h, n);
}

static void frame_ex(wire *w, uint8_t b0, const void *payload, size_t len, int masked, int form) {
    uint8_t key[4] = {0};
    header(w, b0, len, masked, form, key);
    size_t at = w->n;
    put(w, payload, len);
    if (masked) {
        for (size_t i = 0; i < len; i++) {
            w->b[at + i] ^= key[i & 3];
        }
    }
}

/* A masked frame (what a client sends), minimal length encoding. */
static void frame(wire *w, uint8_t b0, const void *payload, size_t len) {
    frame_ex(w, b0, payload, len, 1, LEN_MIN);
}

static void frame_s(wire *w, uint8_t b0, const char *s) {
    frame(w, b0, s, strlen(s));
}

static void close_frame(wire *w, uint16_t code, const char *reason) {
    uint8_t p[200];
    size_t n = strlen(reason);
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    memcpy(p + 2, reason, n);
    frame(w, FIN | OP_CLOSE, p, n + 2);
}

/* ---- what the decoder reported ---- */

typedef struct {
    uint8_t kind; /* DATA: a whole reassembled message; CONTROL: a control frame */
    uint8_t opcode, compressed;
    uint16_t close_code;
    uint8_t *data;
    size_t len;
} event;

#define MAX_EVENTS 48

typedef struct {
    event ev[MAX_EVENTS];
    int nev;
    int err;
    int data_events;    /* DATA chunks seen */
    const char *broken; /* first chunk-level rule the decoder broke, NULL when none */
    uint8_t *msg;       /* message being reassembled */
    size_t msg_len, msg_cap;
    int in_msg;
    uint8_t msg_opcode, msg_compressed;
} trace;

static void push(trace *t, uint8_t kind, uint8_t opcode, uint8_t compressed, uint16_t code,
                 const void *data, size_t len) {
    if (t->nev == MAX_EVENTS) {
        t->broken = "too many events";
        return;
    }
    event *e = &t->ev[t->nev++];
    *e = (event){kind, opcode, compressed, code, malloc(len ? len : 1), len};
    if (len != 0) {
        memcpy(e->data, data, len);
    }
}

static void trace_free(trace *t) {
    for (int i = 0; i < t->nev; i++) {
        free(t->ev[i].data);
    }
    free(t->msg);
    memset(t, 0, sizeof *t);
}

static void want_msg(trace *t, uint8_t opcode, const void *data, size_t len) {
    push(t, NWS_DECODED_DATA, opcode, 0, 0, data, len);
}
static void want_text(trace *t, const char *s) {
    want_msg(t, OP_TEXT, s, strlen(s));
}
static void want_ctl(trace *t, uint8_t opcode, const void *data, size_t len) {
    push(t, NWS_DECODED_CONTROL, opcode, 0, 0, data, len);
}
static void want_close(trace *t, uint16_t code, const char *reason) {
    push(t, NWS_DECODED_CONTROL, OP_CLOSE, 0, code, reason, strlen(reason));
}

static void record(trace *t, const nws_decoded *e) {
    if (e->kind == NWS_DECODED_CONTROL) {
        if (e->opcode != OP_CLOSE && e->close_code != 0) {
            t->broken = "close code on a ping or pong";
        }
        push(t, NWS_DECODED_CONTROL, e->opcode, 0, e->close_code, e->data, e->len);
        return;
    }
    if (e->kind != NWS_DECODED_DATA) {
        return;
    }
    t->data_events++;
    if (e->first) {
        if (t->in_msg) {
            t->broken = "first chunk inside an open message";
        }
        t->in_msg = 1;
        t->msg_len = 0;
        t->msg_opcode = e->opcode;
        t->msg_compressed = e->compressed;
    } else if (!t->in_msg) {
        t->broken = "chunk before the message's first chunk";
    } else if (e->opcode != t->msg_opcode || e->compressed != t->msg_compressed) {
        t->broken = "opcode or compressed flag changed inside a message";
    }
    if (e->len == 0 && !e->last) {
        t->broken = "empty chunk that does not end its message";
    }
    if (t->msg_len + e->len > t->msg_cap) {
        t->msg_cap = (t->msg_len + e->len) * 2 + 16;
        t->msg = realloc(t->msg, t->msg_cap);
    }
    if (e->len != 0) {
        memcpy(t->msg + t->msg_len, e->data, e->len);
    }
    t->msg_len += e->len;
    if (e->last) {
        push(t, NWS_DECODED_DATA, t->msg_opcode, t->msg_compressed, 0, t->msg, t->msg_len);
        t->in_msg = 0;
    }
}

/* Feeds bytes as a first piece of `first` bytes, then pieces of `stride` (0: the rest). */
static void run(const nws_decoder_limits *lim, const uint8_t *bytes, size_t n, size_t first,
                size_t stride, trace *t) {
    memset(t, 0, sizeof *t);
    nws_decoder d;
    nws_decoder_init(&d, lim);
    size_t at = 0;
    while (at < n) {
        size_t plen = at == 0 ? first : stride != 0 ? stride : n - at;
        if (plen == 0 || plen > n - at) {
            plen = n - at;
        }
        uint8_t *piece = malloc(plen);
        memcpy(piece, bytes + at, plen);
        size_t off = 0;
        while (off < plen) {
            nws_decoded e;
            ssize_t r = nws_decode(&d, piece + off, plen - off, &e);
            if (r < 0) {
                t->err = (int)r;
                free(piece);
                nws_decoder_free(&d);
                return;
            }
            if (r == 0 || (size_t)r > plen - off) {
                t->broken = "consumed count out of range";
                free(piece);
                nws_decoder_free(&d);
                return;
            }
            if (e.kind == NWS_DECODED_DATA && e.len != 0 &&
                (e.data < piece + off || e.data + e.len > piece + off + r)) {
                t->broken = "chunk not inside the bytes it consumed";
            }
            /* A control payload lies in what this call consumed, or (split) in the decoder. */
            if (e.kind == NWS_DECODED_CONTROL && e.len != 0 &&
                !(e.data >= piece + off && e.data + e.len <= piece + off + r) &&
                !(d.control != NULL && e.data >= d.control && e.data + e.len <= d.control + NWS_CONTROL_MAX)) {
                t->broken = "control payload neither in the bytes consumed nor in the decoder";
            }
            record(t, &e);
            off += (size_t)r;
        }
        free(piece);
        at += plen;
    }
    nws_decoder_free(&d);
}

static int same(const trace *a, const trace *b) {
    if (a->nev != b->nev || a->err != b->err) {
        return 0;
    }
    for (int i = 0; i < a->nev; i++) {
        const event *x = &a->ev[i], *y = &b->ev[i];
        if (x->kind != y->kind || x->opcode != y->opcode || x->compressed != y->compressed ||
            x->close_code != y->close_code || x->len != y->len ||
            memcmp(x->data, y->data, x->len) != 0) {
            return 0;
        }
    }
    return 1;
}

static void dump(const char *label, const trace *t) {
    fprintf(stderr, "    %s: %d events, err %s%s%s\n", label, t->nev, nws_err_name(t->err),
            t->broken ? ", broken: " : "", t->broken ? t->broken : "");
    for (int i = 0; i < t->nev; i++) {
        const event *e = &t->ev[i];
        fprintf(stderr, "      %s op %u%s code %u len %zu\n",
                e->kind == NWS_DECODED_DATA ? "message" : "control", e->opcode,
                e->compressed ? " compressed" : "", e->close_code, e->len);
    }
}

/* Inputs up to this size are cut at every offset; longer ones at the first and last 64
 * offsets and a stride in between (they are still fed whole and byte by byte). */
#define ALL_SPLITS_MAX 4096

static int check_run(const char *file, int line, const nws_decoder_limits *lim, const wire *w,
                     size_t first, size_t stride, const trace *want, const char *how) {
    trace got;
    run(lim, w->b, w->n, first, stride, &got);
    int ok = same(&got, want) && got.broken == NULL;
    if (!ok) {
        char what[96];
        snprintf(what, sizeof what, "decoded %s (first piece %zu, then %zu) differs", how, first,
                 stride);
        fail_at(file, line, what);
        dump("want", want);
        dump("got ", &got);
    }
    trace_free(&got);
    return ok;
}

/* Whole, every two-piece split, byte by byte: all must equal want. Frees want. */
static void expect_at(const char *file, int line, const nws_decoder_limits *lim, const wire *w,
                      trace *want) {
    if (check_run(file, line, lim, w, w->n, 0, want, "whole")) {
        for (size_t k = 1; k < w->n; k++) {
            if (w->n > ALL_SPLITS_MAX && k > 64 && k < w->n - 64 && k % 509 != 0) {
                continue;
            }
            if (!check_run(file, line, lim, w, k, 0, want, "in two")) {
                break;
            }
        }
        check_run(file, line, lim, w, 1, 1, want, "byte by byte");
    }
    trace_free(want);
}
#define EXPECT(lim, w, want) expect_at(__FILE__, __LINE__, (lim), (w), (want))

/* The error (or 0) from decoding only bytes[0..n): for "fails before the rest arrives". */
static int error_of_prefix(const nws_decoder_limits *lim, const wire *w, size_t n) {
    trace t;
    run(lim, w->b, n, n, 0, &t);
    int err = t.broken ? 1 : t.err;
    trace_free(&t);
    return err;
}

static void expect_error(const char *file, int line, const nws_decoder_limits *lim, const wire *w,
                         int err) {
    trace want = {0};
    want.err = err;
    expect_at(file, line, lim, w, &want);
}
#define EXPECT_ERROR(lim, w, err) expect_error(__FILE__, __LINE__, (lim), (w), (err))

static void fill(uint8_t *p, size_t n, int text) {
    for (size_t i = 0; i < n; i++) {
        p[i] = text ? (uint8_t)('a' + (i * 7 + i / 26) % 26) : (uint8_t)(i * 131 + (i >> 8));
    }
}

/* ---- §5.2 base framing ---- */

static void rfc6455_5_2_everyOpcodeIsHandled(void) {
    static const uint8_t close_1000[] = {0x03, 0xE8};
    for (uint8_t op = 0; op < 16; op++) {
        wire w = {0};
        trace want = {0};
        if (op == OP_CLOSE) {
            frame(&w, FIN | op, close_1000, 2);
        } else {
            frame_s(&w, FIN | op, "hi");
        }
        switch (op) {
        case OP_CONT: want.err = NWS_ECONTINUATION; break;
        case OP_TEXT: want_text(&want, "hi"); break;
        case OP_BIN: want_msg(&want, OP_BIN, "hi", 2); break;
        case OP_CLOSE: want_close(&want, 1000, ""); break;
        case OP_PING:
        case OP_PONG: want_ctl(&want, op, "hi", 2); break;
        default: want.err = NWS_EOPCODE; break;
        }
        EXPECT(&server, &w, &want);
        wire_free(&w);
    }
}

static void rfc6455_5_2_everyLengthEncodingIsDecoded(void) {
    static const size_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 70001};
    static uint8_t payload[70001];
    for (int side = 0; side < 2; side++) {
        for (int text = 0; text < 2; text++) {
            fill(payload, sizeof payload, text);
            for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
                wire w = {0};
                trace want = {0};
                frame_ex(&w, FIN | (text ? OP_TEXT : OP_BIN), payload, lens[i], side == 0, LEN_MIN);
                size_t hlen = w.n - lens[i];
                size_t base = lens[i] < 126 ? 2 : lens[i] <= 0xFFFF ? 4 : 10;
                NWS_CHECK_EQ(hlen, base + (side == 0 ? 4 : 0));
                want_msg(&want, text ? OP_TEXT : OP_BIN, payload, lens[i]);
                EXPECT(side == 0 ? &server : &client, &w, &want);
                wire_free(&w);
            }
        }
    }
}

static void rfc6455_5_2_framesBackToBackInOneBuffer(void) {
    static uint8_t big[65536];
    fill(big, sizeof big, 1);
    wire w = {0};
    trace want = {0};
    frame(&w, FIN | OP_TEXT, big, 126);
    frame(&w, FIN | OP_BIN, NULL, 0);
    frame_s(&w, FIN | OP_PING, "p");
    frame(&w, FIN | OP_TEXT, big, 65536);
    frame_s(&w, FIN | OP_TEXT, "tail");
    want_msg(&want, OP_TEXT, big, 126);
    want_msg(&want, OP_BIN, NULL, 0);
    want_ctl(&want, OP_PING, "p", 1);
    want_msg(&want, OP_TEXT, big, 65536);
    want_text(&want, "tail");
    EXPECT(&server, &w, &want);
    wire_free(&w);
}

static void rfc6455_5_2_nonMinimalLengthIsRejected(void) {
    static const struct {
        uint64_t declared;
        int form;
    } cases[] = {
        {0, LEN_16}, {125, LEN_16}, {0, LEN_64}, {125, LEN_64}, {126, LEN_64}, {65535, LEN_64},
        {(1ull << 63) | 5, LEN_64}, {~0ull, LEN_64},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wire w = {0};
        uint8_t key[4];
        header(&w, FIN | OP_BIN, cases[i].declared, 1, cases[i].form, key);
        /* header only: the length is judged before any payload arrives */
        EXPECT_ERROR(&server, &w, NWS_ELENGTH);
        wire_free(&w);
    }
    /* the smallest value of each extended form is minimal */
    static uint8_t p[65536];
    wire w = {0};
    trace want = {0};
    frame_ex(&w, FIN | OP_BIN, p, 126, 1, LEN_16);
    frame_ex(&w, FIN | OP_BIN, p, 65536, 1, LEN_64);
    want_msg(&want, OP_BIN, p, 126);
    want_msg(&want, OP_BIN, p, 65536);
    EXPECT(&server, &w, &want);
    wire_free(&w);
}

/* ---- §5.1 / §5.3 masking ---- */

static void rfc6455_5_1_serverRejectsUnmaskedFrame(void) {
    wire w = {0};
    frame_ex(&w, FIN | OP_TEXT, "hello", 5, 0, LEN_MIN);
    EXPECT_ERROR(&server, &w, NWS_EUNMASKED);
    wire_free(&w);
    frame_ex(&w, FIN | OP_PING, "", 0, 0, LEN_MIN);
    EXPECT_ERROR(&server, &w, NWS_EUNMASKED);
    wire_free(&w);
    /* a masked message, then an unmasked one: the first is delivered */
    trace want = {0};
    frame_s(&w, FIN | OP_TEXT, "ok");
    frame_ex(&w, FIN | OP_TEXT, "bad", 3, 0, LEN_MIN);
    want_text(&want, "ok");
    want.err = NWS_EUNMASKED;
    EXPECT(&server, &w, &want);
    wire_free(&w);
}

static void rfc6455_5_1_clientRejectsMaskedFrame(void) {
    wire w = {0};
    trace want = {0};
    frame_ex(&w, FIN | OP_TEXT, "plain", 5, 0, LEN_MIN);
    frame_ex(&w, FIN | OP_PING, "pp", 2, 0, LEN_MIN);
    want_text(&want, "plain");
    want_ctl(&want, OP_PING, "pp", 2);
    EXPECT(&client, &w, &want);
    wire_free(&w);
    frame_s(&w, FIN | OP_TEXT, "masked");
    EXPECT_ERROR(&client, &w, NWS_EPROTO);
    wire_free(&w);
}

/* ---- §5.2 RSV bits (RFC 7692 §6 for RSV1) ---- */

static void rfc6455_5_2_rsvBitsWithoutExtensionAreRejected(void) {
    static const uint8_t bits[] = {RSV1, RSV2, RSV3, RSV1 | RSV2};
    for (size_t i = 0; i < sizeof bits; i++) {
        wire w = {0};
        frame_s(&w, FIN | bits[i] | OP_TEXT, "x");
        EXPECT_ERROR(&server, &w, NWS_ERSV);
        wire_free(&w);
        frame_s(&w, FIN | bits[i] | OP_PING, "x");
        EXPECT_ERROR(&server, &w, NWS_ERSV);
        wire_free(&w);
    }
    /* RSV2 and RSV3 stay reserved when deflate is negotiated */
    wire w = {0};
    frame_s(&w, FIN | RSV2 | OP_BIN, "x");
    EXPECT_ERROR(&deflate_server, &w, NWS_ERSV);
    wire_free(&w);
    frame_s(&w, FIN | RSV1 | RSV3 | OP_TEXT, "x");
    EXPECT_ERROR(&deflate_server, &w, NWS_ERSV);
    wire_free(&w);
}

static void rfc7692_6_rsv1MarksFirstFrameOfCompressedMessage(void) {
    /* not UTF-8 once compressed: validation belongs after inflate */
    static const uint8_t deflated[] = {0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00};
    wire w = {0};
    trace want = {0};
    frame(&w, FIN | RSV1 | OP_TEXT, deflated, sizeof deflated);
    frame(&w, RSV1 | OP_BIN, deflated, 3);
    frame_s(&w, FIN | OP_PING, "mid");
    frame(&w, FIN | OP_CONT, deflated + 3, 4);
    frame_s(&w, FIN | OP_TEXT, "plain");
    push(&want, NWS_DECODED_DATA, OP_TEXT, 1, 0, deflated, sizeof deflated);
    want_ctl(&want, OP_PING, "mid", 3);
    push(&want, NWS_DECODED_DATA, OP_BIN, 1, 0, deflated, sizeof deflated);
    want_text(&want, "plain");
    EXPECT(&deflate_server, &w, &want);
    wire_free(&w);
}

static void rfc7692_6_rsv1OnContinuationOrControlIsRejected(void) {
    wire w = {0};
    trace want = {0};
    frame_s(&w, RSV1 | OP_TEXT, "a");
    frame_s(&w, FIN | RSV1 | OP_CONT, "b");
    want.err = NWS_ERSV;
    EXPECT(&deflate_server, &w, &want);
    wire_free(&w);
    frame_s(&w, FIN | RSV1 | OP_PING, "x");
    EXPECT_ERROR(&deflate_server, &w, NWS_ERSV);
    wire_free(&w);
}

/* ---- §5.4 fragmentation ---- */

static void rfc6455_5_4_fragmentedMessagesWithControlFramesBetween(void) {
    static uint8_t big[300];
    fill(big, sizeof big, 0);
    wire w = {0};
    trace want = {0};
    frame_s(&w, OP_TEXT, "Hello, ");
    frame_s(&w, FIN | OP_PING, "ping 1");
    frame_s(&w, OP_CONT, "fragmented ");
    frame_s(&w, FIN | OP_PONG, "");
    frame_s(&w, FIN | OP_PING, "ping 2");
    frame_s(&w, FIN | OP_CONT, "world");
    frame(&w, OP_BIN, big, 200);
    frame_s(&w, FIN | OP_PONG, "pong");
    frame(&w, OP_CONT, big + 200, 1);
    frame(&w, FIN | OP_CONT, big + 201, 99);
    want_ctl(&want, OP_PING, "ping 1", 6);
    want_ctl(&want, OP_PONG, "", 0);
    want_ctl(&want, OP_PING, "ping 2", 6);
    want_text(&want, "Hello, fragmented world");
    want_ctl(&want, OP_PONG, "pong", 4);
    want_msg(&want, OP_BIN, big, 300);
    EXPECT(&server, &w, &want);
    wire_free(&w);
}

static void rfc6455_5_4_closeBetweenFragmentsIsReported(void) {
    wire w = {0};
    trace want = {0};
    frame_s(&w, OP_TEXT, "part");
    close_frame(&w, 1001, "going");
    want_close(&want, 1001, "going");
    EXPECT(&server, &w, &want);
    wire_free(&w);
}

static void rfc6455_5_4_continuationWithoutStartIsRejected(void) {
    wire w = {0};
    frame_s(&w, FIN | OP_CONT, "x");
    EXPECT_ERROR(&server, &w, NWS_ECONTINUATION);
    wire_free(&w);
    frame_s(&w, OP_CONT, "x");
    EXPECT_ERROR(&server, &w, NWS_ECONTINUATION);
    wire_free(&w);
    /* after a finished message there is nothing to continue */
    trace want = {0};
    frame_s(&w, OP_TEXT, "a");
    frame_s(&w, FIN | OP_CONT, "b");
    frame_s(&w, FIN | OP_CONT, "c");
    want_text(&want, "ab");
    want.err = NWS_ECONTINUATION;
    EXPECT(&server, &w, &want);
    wire_free(&w);
}

static void rfc6455_5_4_newMessageInsideFragmentedOneIsRejected(void) {
    static const uint8_t second[] = {OP_TEXT, OP_BIN};
    for (size_t i = 0; i < sizeof second; i++) {
        wire w = {0};
        trace want = {0};
        frame_s(&w, OP_TEXT, "a");
        frame_s(&w, FIN | OP_PING, "p");
        frame_s(&w, FIN | second[i], "b");
        want_ctl(&want, OP_PING, "p", 1);
        want.err = NWS_EINTERLEAVED;
        EXPECT(&server, &w, &want);
        wire_free(&w);
    }
}

/* ---- §5.5 control frames ---- */

static void rfc6455_5_5_controlFrameOver125IsRejected(void) {
    static uint8_t p[126];
    static const uint8_t ops[] = {OP_CLOSE, OP_PING, OP_PONG};
    for (size_t i = 0; i < sizeof ops; i++) {
        wire w = {0};
        frame(&w, FIN | ops[i], p, 126);
        EXPECT_ERROR(&server, &w, NWS_ECONTROL);
        /* decided by the second header byte alone */
        NWS_CHECK_EQ(error_of_prefix(&server, &w, 2), NWS_ECONTROL);
        wire_free(&w);
        uint8_t key[4];
        header(&w, FIN | ops[i], 65536, 1, LEN_64, key);
        EXPECT_ERROR(&server, &w, NWS_ECONTROL);
        wire_free(&w);
    }
    /* 125 is allowed */
    memset(p, 'z', sizeof p);
    wire w = {0};
    trace want = {0};
    frame(&w, FIN | OP_PING, p, 125);
    want_ctl(&want, OP_PING, p, 125);
    EXPECT(&server, &w, &want);
    wire_free(&w);
}

static void rfc6455_5_5_fragmentedControlFrameIsRejected(void) {
    static const uint8_t ops[] = {OP_CLOSE, OP_PING, OP_PONG};
    for (size_t i = 0; i < sizeof ops; i++) {
        wire w = {0};
        frame_s(&w, ops[i], "");
        EXPECT_ERROR(&server, &w, NWS_ECONTROL);
        wire_free(&w);
    }
}

static void rfc6455_5_5_2_pingPayloadsOfEverySizeAreReported(void) {
    uint8_t p[125];
    fill(p, sizeof p, 0);
    for (size_t n = 0; n <= 125; n += (n < 10 ? 1 : 23)) {
        wire w = {0};
        trace want = {0};
        frame(&w, FIN | OP_PING, p, n);
        frame(&w, FIN | OP_PONG, p, n);
        want_ctl(&want, OP_PING, p, n);
        want_ctl(&want, OP_PONG, p, n);
        EXPECT(&server, &w, &want);
        wire_free(&w);
    }
}

/* ---- §5.5.1 / §7.4 close ---- */

static void rfc6455_7_4_validCloseCodesAreAccepted(void) {
    static const uint16_t codes[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                     3000, 3999, 4000, 4999};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        wire w = {0};
        trace want = {0};
        close_frame(&w, codes[i], "");
        close_frame(&w, codes[i], "bye");
        want_close(&want, codes[i], "");
        want_close(&want, codes[i], "bye");
        EXPECT(&server, &w, &want);
        wire_free(&w);
    }
}

static void rfc6455_7_4_invalidCloseCodesAreRejected(void) {
    static const uint16_t codes[] = {0, 1, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015,
                                     1016, 1100, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        wire w = {0};
        close_frame(&w, codes[i], "x");
        EXPECT_ERROR(&server, &w, NWS_ECLOSECODE);
        wire_free(&w);
    }
    for (uint32_t c = 0; c <= 0xFFFF; c++) {
        int want = (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1011) || (c >= 3000 && c <= 4999);
        if (nws_close_code_valid((uint16_t)c) != want) {
            fprintf(stderr, "  close code %u\n", c);
            NWS_CHECK(0);
            break;
        }
    }
}

static void rfc6455_5_5_1_closeOfOneByteIsRejected(void) {
    wire w = {0};
    frame_s(&w, FIN | OP_CLOSE, "\x03");
    EXPECT_ERROR(&server, &w, NWS_ECLOSECODE);
    wire_free(&w);
}

static void rfc6455_7_1_5_emptyCloseReportsNoStatus(void) {
    wire w = {0};
    trace want = {0};
    frame(&w, FIN | OP_CLOSE, NULL, 0);
    want_close(&want, NWS_CLOSE_NO_STATUS, "");
    EXPECT(&server, &w, &want);
    wire_free(&w);
}

static void rfc6455_7_1_6_closeReasonMustBeUtf8(void) {
    char longest[124];
    memset(longest, 'r', 123);
    longest[123] = 0;
    static const char *good[] = {"Gr\xC3\xBC\xC3\x9F" "e \xE2\x82\xAC", "\xF0\x9F\x8E\x89"};
    for (size_t i = 0; i < 2; i++) {
        wire w = {0};
        trace want = {0};
        close_frame(&w, 1000, good[i]);
        want_close(&want, 1000, good[i]);
        EXPECT(&server, &w, &want);
        wire_free(&w);
    }
    wire w = {0};
    trace want = {0};
    close_frame(&w, 4000, longest);
    want_close(&want, 4000, longest);
    EXPECT(&server, &w, &want);
    wire_free(&w);
    static const char *bad[] = {"\xFF", "ok\xE2\x82", "\xED\xA0\x80", "\xC0\xAF"};
    for (size_t i = 0; i < 4; i++) {
        close_frame(&w, 1000, bad[i]);
        EXPECT_ERROR(&server, &w, NWS_EUTF8);
        wire_free(&w);
    }
}

/* ---- §5.6 data frames ---- */

static void rfc6455_5_6_emptyMessagesAreDelivered(void) {
    wire w = {0};
    trace want = {0};
    frame(&w, FIN | OP_TEXT, NULL, 0);
    frame(&w, FIN | OP_BIN, NULL, 0);
    frame(&w, OP_TEXT, NULL, 0);      /* empty first fragment */
    frame_s(&w, OP_CONT, "abc");
    frame(&w, OP_CONT, NULL, 0);      /* empty middle fragment */
    frame(&w, FIN | OP_CONT, NULL, 0); /* empty final fragment */
    frame(&w, OP_BIN, NULL, 0);
    frame(&w, OP_CONT, NULL, 0);
    frame(&w, FIN | OP_CONT, NULL, 0);
    want_msg(&want, OP_TEXT, NULL, 0);
    want_msg(&want, OP_BIN, NULL, 0);
    want_text(&want, "abc");
    want_msg(&want, OP_BIN, NULL, 0);
    EXPECT(&server, &w, &want);
    /* whole: one chunk per message, except "abc" (chunk + empty final chunk) */
    trace t;
    run(&server, w.b, w.n, w.n, 0, &t);
    NWS_CHECK_EQ(t.data_events, 5);
    trace_free(&t);
    wire_free(&w);
}

static void rfc6455_8_1_binaryIsNotValidated(void) {
    static const uint8_t junk[] = {0xFF, 0xFE, 0xC0, 0x80, 0xED, 0xA0, 0x80};
    wire w = {0};
    trace want = {0};
    frame(&w, FIN | OP_BIN, junk, sizeof junk);
    want_msg(&want, OP_BIN, junk, sizeof junk);
    EXPECT(&server, &w, &want);
    wire_free(&w);
}

/* ---- §8.1 UTF-8 in text messages ---- */

static void rfc6455_8_1_characterSplitAcrossFragmentsIsValid(void) {
    wire w = {0};
    trace want = {0};
    frame_s(&w, OP_TEXT, "a\xE2");
    frame_s(&w, OP_CONT, "\x82");
    frame_s(&w, FIN | OP_PING, "");
    frame_s(&w, FIN | OP_CONT, "\xAC b");
    frame_s(&w, OP_TEXT, "\xF0");
    frame_s(&w, OP_CONT, "\x9D");
    frame_s(&w, OP_CONT, "\x84");
    frame_s(&w, FIN | OP_CONT, "\x9E");
    want_ctl(&want, OP_PING, "", 0);
    want_text(&want, "a\xE2\x82\xAC b");
    want_text(&want, "\xF0\x9D\x84\x9E");
    EXPECT(&server, &w, &want);
    wire_free(&w);
}

static void rfc6455_8_1_invalidUtf8FailsAtFirstFragmentContainingIt(void) {
    static const char *bad[] = {"abc\xC0\xAF", "x\xED\xA0\x80", "\xF4\x90", "ok\xFF", "\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wire w = {0};
        frame_s(&w, OP_TEXT, bad[i]);
        size_t first = w.n;
        frame_s(&w, FIN | OP_CONT, "def");
        EXPECT_ERROR(&server, &w, NWS_EUTF8);
        /* without waiting for the rest of the message */
        NWS_CHECK_EQ(error_of_prefix(&server, &w, first), NWS_EUTF8);
        wire_free(&w);
    }
    /* valid first fragment, invalid second: the first alone is fine */
    wire w = {0};
    frame_s(&w, OP_TEXT, "caf\xC3");
    size_t first = w.n;
    frame_s(&w, FIN | OP_CONT, "\xA9 \xFF");
    EXPECT_ERROR(&server, &w, NWS_EUTF8);
    NWS_CHECK_EQ(error_of_prefix(&server, &w, first), 0);
    wire_free(&w);
    /* inside one frame: caught before the frame's payload is complete */
    uint8_t p[200];
    fill(p, sizeof p, 1);
    p[10] = 0xC1;
    frame(&w, FIN | OP_TEXT, p, sizeof p);
    EXPECT_ERROR(&server, &w, NWS_EUTF8);
    NWS_CHECK_EQ(error_of_prefix(&server, &w, 4 + 4 + 11), NWS_EUTF8);
    wire_free(&w);
}

static void rfc6455_8_1_textEndingInsideCharacterIsRejected(void) {
    wire w = {0};
    frame_s(&w, FIN | OP_TEXT, "a\xE2\x82");
    EXPECT_ERROR(&server, &w, NWS_EUTF8);
    wire_free(&w);
    frame_s(&w, OP_TEXT, "a\xE2");
    size_t first = w.n;
    frame_s(&w, FIN | OP_CONT, "\x82");
    EXPECT_ERROR(&server, &w, NWS_EUTF8);
    NWS_CHECK_EQ(error_of_prefix(&server, &w, first), 0);
    wire_free(&w);
    /* an empty final fragment still closes the open character */
    frame_s(&w, OP_TEXT, "\xF0\x9F\x8E");
    frame(&w, FIN | OP_CONT, NULL, 0);
    EXPECT_ERROR(&server, &w, NWS_EUTF8);
    wire_free(&w);
}

/* ---- size limits (§10.4: an endpoint may cap frame and message size, answered with 1009) ---- */

static void rfc6455_10_4_maxFrameSizeBoundary(void) {
    static uint8_t p[2000]; /* zeros, so two 1000-byte frames reassemble to p[0..2000) */
    const nws_decoder_limits lim = {.max_frame = 1000, .require_mask = 1};
    wire w = {0};
    trace want = {0};
    frame(&w, FIN | OP_BIN, p, 1000);
    frame(&w, OP_BIN, p, 1000);
    frame(&w, FIN | OP_CONT, p, 1000);
    want_msg(&want, OP_BIN, p, 1000);
    want_msg(&want, OP_BIN, p, 2000);
    EXPECT(&lim, &w, &want);
    wire_free(&w);
    frame(&w, FIN | OP_BIN, p, 1001);
    EXPECT_ERROR(&lim, &w, NWS_ETOOBIG);
    /* judged from the header: no payload byte needed */
    NWS_CHECK_EQ(error_of_prefix(&lim, &w, 8), NWS_ETOOBIG);
    wire_free(&w);
    /* limits under a small frame's 125 bytes hold for whole small frames too */
    const nws_decoder_limits small_frame = {.max_frame = 10, .require_mask = 1};
    const nws_decoder_limits small_message = {.max_message = 10, .require_mask = 1};
    frame(&w, FIN | OP_BIN, p, 11);
    EXPECT_ERROR(&small_frame, &w, NWS_ETOOBIG);
    EXPECT_ERROR(&small_message, &w, NWS_ETOOBIG);
    wire_free(&w);
    frame(&w, FIN | OP_BIN, p, 10);
    want_msg(&want, OP_BIN, p, 10);
    EXPECT(&small_frame, &w, &want);
    wire_free(&w);
    /* control frames are capped by §5.5 alone */
    const nws_decoder_limits tiny = {.max_frame = 4, .require_mask = 1};
    frame_s(&w, FIN | OP_PING, "longer than four");
    want_ctl(&want, OP_PING, "longer than four", 16);
    EXPECT(&tiny, &w, &want);
    wire_free(&w);
}

/* A decoder keeps its limits in 32 bits: a larger one is read as NWS_DECODER_LIMIT_MAX, so a
 * frame of 4 GiB is refused from its header, and one just under passes the header. */
static void rfc6455_10_4_limitsOver4GiBAreReadAsTheLargestKept(void) {
    const nws_decoder_limits lim = {.max_frame = 1ull << 40, .max_message = 1ull << 40, .require_mask = 1};
    nws_decoder d;
    nws_decoder_init(&d, &lim);
    NWS_CHECK_EQ(d.max_frame, NWS_DECODER_LIMIT_MAX);
    NWS_CHECK_EQ(d.max_message, NWS_DECODER_LIMIT_MAX);
    nws_decoder_free(&d);
    for (uint64_t len = (uint64_t)NWS_DECODER_LIMIT_MAX; len <= (uint64_t)NWS_DECODER_LIMIT_MAX + 1; len++) {
        wire w = {0};
        uint8_t head[14] = {FIN | OP_BIN, 0x80 | 127};
        for (int i = 0; i < 8; i++) head[2 + i] = (uint8_t)(len >> (56 - 8 * i));
        put(&w, head, sizeof head);   /* the header and its mask, no payload */
        NWS_CHECK_EQ(error_of_prefix(&lim, &w, sizeof head), len > NWS_DECODER_LIMIT_MAX ? NWS_ETOOBIG : 0);
        wire_free(&w);
    }
}

static void rfc6455_10_4_maxMessageSizeBoundary(void) {
    static uint8_t p[1001];
    fill(p, sizeof p, 1);
    const nws_decoder_limits lim = {.max_message = 1000, .require_mask = 1};
    wire w = {0};
    trace want = {0};
    frame(&w, FIN | OP_TEXT, p, 1000);
    frame(&w, OP_TEXT, p, 600);
    frame_s(&w, FIN | OP_PING, "");
    frame(&w, FIN | OP_CONT, p + 600, 400);
    want_msg(&want, OP_TEXT, p, 1000);
    want_ctl(&want, OP_PING, "", 0);
    want_msg(&want, OP_TEXT, p, 1000);
    EXPECT(&lim, &w, &want);
    wire_free(&w);
    frame(&w, FIN | OP_TEXT, p, 1001);
    EXPECT_ERROR(&lim, &w, NWS_ETOOBIG);
    wire_free(&w);
    frame(&w, OP_TEXT, p, 600);
    frame(&w, FIN | OP_CONT, p + 600, 401);
    EXPECT_ERROR(&lim, &w, NWS_ETOOBIG);
    /* at the second header, before its payload */
    NWS_CHECK_EQ(error_of_prefix(&lim, &w, 8 + 600 + 8), NWS_ETOOBIG);
    NWS_CHECK_EQ(error_of_prefix(&lim, &w, 8 + 600 + 7), 0);
    wire_free(&w);
    /* both caps at once */
    const nws_decoder_limits both = {.max_frame = 500, .max_message = 1000, .require_mask = 1};
    frame(&w, OP_BIN, p, 500);
    frame(&w, FIN | OP_CONT, p + 500, 500);
    want_msg(&want, OP_BIN, p, 1000);
    EXPECT(&both, &w, &want);
    wire_free(&w);
    frame(&w, OP_BIN, p, 500);
    frame(&w, OP_CONT, p + 500, 500);
    frame(&w, FIN | OP_CONT, p, 1);
    want.err = NWS_ETOOBIG;
    EXPECT(&both, &w, &want);
    wire_free(&w);
}

/* ---- the decoder's calling contract ---- */

static void decoder_oneEventPerCallAndUnmasksInPlace(void) {
    wire w = {0};
    frame_s(&w, FIN | OP_TEXT, "one");
    frame_s(&w, FIN | OP_PING, "two");
    frame_s(&w, FIN | OP_BIN, "three");
    nws_decoder d;
    nws_decoder_init(&d, &server);
    nws_decoded e;
    NWS_CHECK_EQ(nws_decode(&d, w.b, 0, &e), 0);
    NWS_CHECK_EQ(e.kind, NWS_DECODED_NONE);
    ssize_t r = nws_decode(&d, w.b, w.n, &e);
    NWS_CHECK_EQ(r, 6 + 3);
    NWS_CHECK_EQ(e.kind, NWS_DECODED_DATA);
    NWS_CHECK(e.data == w.b + 6 && e.len == 3 && e.first && e.last && !e.compressed);
    NWS_CHECK_MEM(w.b + 6, "one", 3);
    size_t at = (size_t)r;
    r = nws_decode(&d, w.b + at, w.n - at, &e);
    NWS_CHECK_EQ(r, 6 + 3);
    NWS_CHECK(e.kind == NWS_DECODED_CONTROL && e.opcode == OP_PING && e.len == 3);
    /* a control payload whole in the buffer is unmasked where it lies, like data */
    NWS_CHECK(e.data == w.b + at + 6);
    NWS_CHECK_MEM(e.data, "two", 3);
    NWS_CHECK(d.control == NULL);
    at += (size_t)r;
    r = nws_decode(&d, w.b + at, w.n - at, &e);
    NWS_CHECK_EQ(r, 6 + 5);
    NWS_CHECK(e.kind == NWS_DECODED_DATA && e.opcode == OP_BIN && e.len == 5);
    wire_free(&w);
    /* a control payload cut by a read boundary is gathered in the decoder, whose buffer is
     * made then and kept for the next one */
    frame_s(&w, FIN | OP_PING, "split ping");
    frame_s(&w, FIN | OP_PONG, "cut pong");
    nws_decoder_init(&d, &server);
    NWS_CHECK_EQ(nws_decode(&d, w.b, 6 + 4, &e), 6 + 4);
    NWS_CHECK_EQ(e.kind, NWS_DECODED_NONE);
    NWS_CHECK(d.control != NULL);
    NWS_CHECK_EQ(nws_decode(&d, w.b + 10, 6, &e), 6);
    NWS_CHECK(e.kind == NWS_DECODED_CONTROL && e.opcode == OP_PING && e.len == 10);
    NWS_CHECK(e.data == d.control);
    NWS_CHECK_MEM(e.data, "split ping", 10);
    const uint8_t *kept = d.control;
    NWS_CHECK_EQ(nws_decode(&d, w.b + 16, 6 + 3, &e), 6 + 3);
    NWS_CHECK_EQ(nws_decode(&d, w.b + 25, 5, &e), 5);
    NWS_CHECK(e.kind == NWS_DECODED_CONTROL && e.opcode == OP_PONG && e.len == 8 && e.data == kept);
    NWS_CHECK_MEM(e.data, "cut pong", 8);
    nws_decoder_free(&d);
    NWS_CHECK(d.control == NULL);
    wire_free(&w);
    /* a header cut after its length byte: consumed, nothing to report */
    frame_s(&w, FIN | OP_TEXT, "abc");
    nws_decoder_init(&d, &server);
    NWS_CHECK_EQ(nws_decode(&d, w.b, 2, &e), 2);
    NWS_CHECK_EQ(e.kind, NWS_DECODED_NONE);
    NWS_CHECK_EQ(nws_decode(&d, w.b + 2, 4, &e), 4);
    NWS_CHECK_EQ(e.kind, NWS_DECODED_NONE);
    NWS_CHECK_EQ(nws_decode(&d, w.b + 6, 2, &e), 2);
    NWS_CHECK(e.kind == NWS_DECODED_DATA && e.first && !e.last && e.len == 2);
    NWS_CHECK_EQ(nws_decode(&d, w.b + 8, 1, &e), 1);
    NWS_CHECK(e.kind == NWS_DECODED_DATA && !e.first && e.last && e.len == 1);
    NWS_CHECK_MEM(w.b + 6, "abc", 3);
    wire_free(&w);
}

static void decoder_errorIsSticky(void) {
    wire w = {0};
    frame_s(&w, FIN | 0x3, "x");
    nws_decoder d;
    nws_decoder_init(&d, &server);
    nws_decoded e;
    NWS_CHECK_EQ(nws_decode(&d, w.b, w.n, &e), NWS_EOPCODE);
    NWS_CHECK_EQ(nws_err_close_code(NWS_EOPCODE), 1002);
    wire_free(&w);
    frame_s(&w, FIN | OP_TEXT, "fine");
    NWS_CHECK_EQ(nws_decode(&d, w.b, w.n, &e), NWS_EOPCODE);
    NWS_CHECK_EQ(e.kind, NWS_DECODED_NONE);
    wire_free(&w);
}

/* ---- encoder ---- */

static void rfc6455_5_2_encoderWritesEachLengthClass(void) {
    uint8_t h[NWS_FRAME_HEADER_MAX];
    NWS_CHECK_EQ(nws_frame_header(h, OP_TEXT, 1, 0, 0, NULL), 2);
    NWS_CHECK_MEM(h, "\x81\x00", 2);
    NWS_CHECK_EQ(nws_frame_header(h, OP_TEXT, 1, 0, 125, NULL), 2);
    NWS_CHECK_MEM(h, "\x81\x7D", 2);
    NWS_CHECK_EQ(nws_frame_header(h, OP_BIN, 1, 0, 126, NULL), 4);
    NWS_CHECK_MEM(h, "\x82\x7E\x00\x7E", 4);
    NWS_CHECK_EQ(nws_frame_header(h, OP_BIN, 1, 0, 65535, NULL), 4);
    NWS_CHECK_MEM(h, "\x82\x7E\xFF\xFF", 4);
    NWS_CHECK_EQ(nws_frame_header(h, OP_BIN, 1, 0, 65536, NULL), 10);
    NWS_CHECK_MEM(h, "\x82\x7F\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    NWS_CHECK_EQ(nws_frame_header(h, OP_BIN, 0, 0, 0x0102030405060708ull, NULL), 10);
    NWS_CHECK_MEM(h, "\x02\x7F\x01\x02\x03\x04\x05\x06\x07\x08", 10);
    NWS_CHECK_EQ(nws_frame_header(h, OP_TEXT, 1, 1, 5, NULL), 2);
    NWS_CHECK_MEM(h, "\xC1\x05", 2);
    NWS_CHECK_EQ(nws_frame_header(h, OP_CONT, 0, 0, 1, NULL), 2);
    NWS_CHECK_MEM(h, "\x00\x01", 2);
    NWS_CHECK_EQ(nws_frame_header(h, OP_PING, 1, 0, 0, NULL), 2);
    NWS_CHECK_MEM(h, "\x89\x00", 2);
}

static void rfc6455_5_3_encoderWritesClientMaskKey(void) {
    const uint8_t key[4] = {0x37, 0xFA, 0x21, 0x3D};
    uint8_t h[NWS_FRAME_HEADER_MAX];
    NWS_CHECK_EQ(nws_frame_header(h, OP_TEXT, 1, 0, 5, key), 6);
    NWS_CHECK_MEM(h, "\x81\x85\x37\xFA\x21\x3D", 6);
    NWS_CHECK_EQ(nws_frame_header(h, OP_BIN, 1, 0, 300, key), 8);
    NWS_CHECK_MEM(h, "\x82\xFE\x01\x2C\x37\xFA\x21\x3D", 8);
    NWS_CHECK_EQ(nws_frame_header(h, OP_BIN, 1, 0, 70000, key), 14);
    NWS_CHECK_MEM(h + 1, "\xFF\x00\x00\x00\x00\x00\x01\x11\x70\x37\xFA\x21\x3D", 13);
    /* RFC 6455 §5.7 example: a masked "Hello" */
    uint8_t hello[5] = {'H', 'e', 'l', 'l', 'o'};
    nws_mask(hello, 5, key, 0);
    NWS_CHECK_MEM(hello, "\x7f\x9f\x4d\x51\x58", 5);
}

static void rfc6455_5_2_encodedFramesRoundTrip(void) {
    static const size_t lens[] = {0, 3, 125, 126, 1000, 65535, 65536};
    static uint8_t payload[65536], buf[65536 + NWS_FRAME_HEADER_MAX];
    const uint8_t key[4] = {0xDE, 0xAD, 0xBE, 0xEF};
    fill(payload, sizeof payload, 1);
    for (int masked = 0; masked < 2; masked++) {
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            size_t n = nws_frame_header(buf, OP_TEXT, 1, 0, lens[i], masked ? key : NULL);
            memcpy(buf + n, payload, lens[i]);
            if (masked) {
                nws_mask(buf + n, lens[i], key, 0);
            }
            wire w = {0};
            trace want = {0};
            put(&w, buf, n + lens[i]);
            want_msg(&want, OP_TEXT, payload, lens[i]);
            EXPECT(masked ? &server : &client, &w, &want);
            wire_free(&w);
        }
    }
}

static void rfc6455_7_4_closePayloadTruncatesAtUtf8Boundary(void) {
    uint8_t out[NWS_CONTROL_MAX];
    char r[200];
    NWS_CHECK_EQ(nws_close_payload(out, 0, "ignored", 7), 0);
    NWS_CHECK_EQ(nws_close_payload(out, 1000, NULL, 0), 2);
    NWS_CHECK_MEM(out, "\x03\xE8", 2);
    NWS_CHECK_EQ(nws_close_payload(out, 1001, "bye", 3), 5);
    NWS_CHECK_MEM(out, "\x03\xE9" "bye", 5);
    memset(r, 'a', sizeof r);
    NWS_CHECK_EQ(nws_close_payload(out, 1000, r, 200), 125);
    NWS_CHECK_EQ(nws_close_payload(out, 1000, r, 123), 125);
    /* a 3-byte character straddling the 123-byte limit, then one that ends exactly on it */
    static const struct {
        size_t ascii;
        const char *ch;
        size_t want_reason;
    } cases[] = {
        {122, "\xE2\x82\xAC", 122}, {121, "\xE2\x82\xAC", 121}, {120, "\xE2\x82\xAC", 123},
        {122, "\xC3\xA9", 122}, {121, "\xC3\xA9", 123},
        {120, "\xF0\x9F\x8E\x89", 120}, {119, "\xF0\x9F\x8E\x89", 123},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t cl = strlen(cases[i].ch);
        memset(r, 'a', cases[i].ascii);
        memcpy(r + cases[i].ascii, cases[i].ch, cl);
        memcpy(r + cases[i].ascii + cl, "zz", 2);
        size_t n = nws_close_payload(out, 1000, r, cases[i].ascii + cl + 2);
        NWS_CHECK_EQ(n, 2 + cases[i].want_reason);
        NWS_CHECK(nws_utf8_valid(out + 2, n - 2));
        /* and a peer accepts it */
        wire w = {0};
        trace want = {0};
        frame(&w, FIN | OP_CLOSE, out, n);
        push(&want, NWS_DECODED_CONTROL, OP_CLOSE, 0, 1000, out + 2, n - 2);
        EXPECT(&server, &w, &want);
        wire_free(&w);
    }
}

int main(void) {
    NWS_RUN(rfc6455_5_2_everyOpcodeIsHandled);
    NWS_RUN(rfc6455_5_2_everyLengthEncodingIsDecoded);
    NWS_RUN(rfc6455_5_2_framesBackToBackInOneBuffer);
    NWS_RUN(rfc6455_5_2_nonMinimalLengthIsRejected);
    NWS_RUN(rfc6455_5_1_serverRejectsUnmaskedFrame);
    NWS_RUN(rfc6455_5_1_clientRejectsMaskedFrame);
    NWS_RUN(rfc6455_5_2_rsvBitsWithoutExtensionAreRejected);
    NWS_RUN(rfc7692_6_rsv1MarksFirstFrameOfCompressedMessage);
    NWS_RUN(rfc7692_6_rsv1OnContinuationOrControlIsRejected);
    NWS_RUN(rfc6455_5_4_fragmentedMessagesWithControlFramesBetween);
    NWS_RUN(rfc6455_5_4_closeBetweenFragmentsIsReported);
    NWS_RUN(rfc6455_5_4_continuationWithoutStartIsRejected);
    NWS_RUN(rfc6455_5_4_newMessageInsideFragmentedOneIsRejected);
    NWS_RUN(rfc6455_5_5_controlFrameOver125IsRejected);
    NWS_RUN(rfc6455_5_5_fragmentedControlFrameIsRejected);
    NWS_RUN(rfc6455_5_5_2_pingPayloadsOfEverySizeAreReported);
    NWS_RUN(rfc6455_7_4_validCloseCodesAreAccepted);
    NWS_RUN(rfc6455_7_4_invalidCloseCodesAreRejected);
    NWS_RUN(rfc6455_5_5_1_closeOfOneByteIsRejected);
    NWS_RUN(rfc6455_7_1_5_emptyCloseReportsNoStatus);
    NWS_RUN(rfc6455_7_1_6_closeReasonMustBeUtf8);
    NWS_RUN(rfc6455_5_6_emptyMessagesAreDelivered);
    NWS_RUN(rfc6455_8_1_binaryIsNotValidated);
    NWS_RUN(rfc6455_8_1_characterSplitAcrossFragmentsIsValid);
    NWS_RUN(rfc6455_8_1_invalidUtf8FailsAtFirstFragmentContainingIt);
    NWS_RUN(rfc6455_8_1_textEndingInsideCharacterIsRejected);
    NWS_RUN(rfc6455_10_4_maxFrameSizeBoundary);
    NWS_RUN(rfc6455_10_4_maxMessageSizeBoundary);
    NWS_RUN(rfc6455_10_4_limitsOver4GiBAreReadAsTheLargestKept);
    NWS_RUN(decoder_oneEventPerCallAndUnmasksInPlace);
    NWS_RUN(decoder_errorIsSticky);
    NWS_RUN(rfc6455_5_2_encoderWritesEachLengthClass);
    NWS_RUN(rfc6455_5_3_encoderWritesClientMaskKey);
    NWS_RUN(rfc6455_5_2_encodedFramesRoundTrip);
    NWS_RUN(rfc6455_7_4_closePayloadTruncatesAtUtf8Boundary);
    return nws_test_summary("frame");
}
