/*
 * test_deflate.c — the negotiation of permessage-deflate (RFC 7692 §5, §7.1): which offer is
 * taken, what the answer says, in both modes, and every offer that must be declined.
 * Then compression in a loop with no sockets (null_loop.h): a room broadcast is compressed once
 * and the same frame reaches every member that compresses without context; a member with its
 * own context gets its own; one without the extension gets the plain frame; short and
 * incompressible messages go plain; inflation stops at max_message.
 * (On the wire, end to end: Tests/Interop/test_deflate.py and Autobahn 12-13.)
 */
#include <string.h>
#include <zlib.h>

#include "nws_deflate.h"
#include "null_loop.h"
#include "nws_rooms.h"
#include "nws_test.h"

static const nws_deflate_config SHARED = {.mode = NWS_DEFLATE_SHARED};
static const nws_deflate_config DEDICATED = {.mode = NWS_DEFLATE_DEDICATED};

/* Negotiates `offer` and checks the answer (NULL: declined). */
static nws_deflate_params expect(const nws_deflate_config *k, const char *offer, const char *answer) {
    nws_deflate_params p = {0};
    char response[NWS_DEFLATE_RESPONSE_MAX];
    size_t len = 0;
    int accepted = nws_deflate_negotiate(k, offer, strlen(offer), &p, response, &len);
    NWS_CHECK_EQ(accepted, answer != NULL);
    if (accepted && answer != NULL) {
        NWS_CHECK_EQ(len, strlen(answer));
        NWS_CHECK(strcmp(response, answer) == 0);
        if (strcmp(response, answer) != 0) fprintf(stderr, "    offer %s\n    answer %s\n    wanted %s\n", offer, response, answer);
    }
    return p;
}

static void deflate_offMode_declinesEverything(void) {
    nws_deflate_config off = {0};
    expect(&off, "permessage-deflate", NULL);
    expect(NULL, "permessage-deflate", NULL);
}

static void deflate_sharedMode_saysNoContextForBothSides(void) {
    nws_deflate_params p = expect(&SHARED, "permessage-deflate",
                                  "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    NWS_CHECK_EQ(p.server_no_context_takeover, 1);
    NWS_CHECK_EQ(p.client_no_context_takeover, 1);
    NWS_CHECK_EQ(p.server_max_window_bits, 15);
    NWS_CHECK_EQ(p.client_max_window_bits, 15);
    /* The browsers' offer. Shared mode never limits the client: its decompressor has 15 bits. */
    p = expect(&SHARED, "permessage-deflate; client_max_window_bits",
               "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    NWS_CHECK_EQ(p.client_max_window_bits, 15);
}

static void deflate_dedicatedMode_keepsContextUnlessAsked(void) {
    nws_deflate_params p = expect(&DEDICATED, "permessage-deflate; client_max_window_bits", "permessage-deflate");
    NWS_CHECK_EQ(p.server_no_context_takeover, 0);
    NWS_CHECK_EQ(p.client_no_context_takeover, 0);
    p = expect(&DEDICATED, "permessage-deflate; server_no_context_takeover",
               "permessage-deflate; server_no_context_takeover");
    NWS_CHECK_EQ(p.server_no_context_takeover, 1);
    NWS_CHECK_EQ(p.client_no_context_takeover, 0);
    p = expect(&DEDICATED, "permessage-deflate; client_no_context_takeover",
               "permessage-deflate; client_no_context_takeover");
    NWS_CHECK_EQ(p.client_no_context_takeover, 1);
}

static void deflate_serverWindow_isAnsweredAtMostAsAsked(void) {
    nws_deflate_params p = expect(&DEDICATED, "permessage-deflate; server_max_window_bits=10",
                                  "permessage-deflate; server_max_window_bits=10");
    NWS_CHECK_EQ(p.server_max_window_bits, 10);
    p = expect(&DEDICATED, "permessage-deflate; server_max_window_bits=8", "permessage-deflate; server_max_window_bits=8");
    NWS_CHECK_EQ(p.server_max_window_bits, 8);
    /* A server configured smaller says so even when not asked (§7.1.2.1). */
    nws_deflate_config small = {.mode = NWS_DEFLATE_DEDICATED, .window_bits = 12};
    p = expect(&small, "permessage-deflate", "permessage-deflate; server_max_window_bits=12");
    NWS_CHECK_EQ(p.server_max_window_bits, 12);
    p = expect(&small, "permessage-deflate; server_max_window_bits=14", "permessage-deflate; server_max_window_bits=12");
    /* Quoted values are the same values (§7.1.2: the value after unquoting). */
    p = expect(&DEDICATED, "permessage-deflate; server_max_window_bits=\"9\"",
               "permessage-deflate; server_max_window_bits=9");
    NWS_CHECK_EQ(p.server_max_window_bits, 9);
}

static void deflate_clientWindow_isLimitedOnlyWhenTheOfferAllowsIt(void) {
    nws_deflate_config k = {.mode = NWS_DEFLATE_DEDICATED, .client_window_bits = 10};
    /* Not offered: the answer must not name it (§7.1.2.2), and the decompressor takes 15. */
    nws_deflate_params p = expect(&k, "permessage-deflate", "permessage-deflate");
    NWS_CHECK_EQ(p.client_max_window_bits, 15);
    p = expect(&k, "permessage-deflate; client_max_window_bits", "permessage-deflate; client_max_window_bits=10");
    NWS_CHECK_EQ(p.client_max_window_bits, 10);
    p = expect(&k, "permessage-deflate; client_max_window_bits=9", "permessage-deflate; client_max_window_bits=9");
    NWS_CHECK_EQ(p.client_max_window_bits, 9);
    p = expect(&k, "permessage-deflate; client_max_window_bits=12", "permessage-deflate; client_max_window_bits=10");
    NWS_CHECK_EQ(p.client_max_window_bits, 10);
}

static void deflate_badOffers_areDeclinedAndTheNextOneTaken(void) {
    static const char *const declined[] = {
        "permessage-deflate; foo",                                        /* unknown parameter */
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",   /* repeated */
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        "permessage-deflate; server_no_context_takeover=1",               /* value where none is allowed */
        "permessage-deflate; client_no_context_takeover=\"x\"",
        "permessage-deflate; server_max_window_bits",                     /* value required */
        "permessage-deflate; server_max_window_bits=7",                   /* outside 8..15 */
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=010",                 /* a leading zero */
        "permessage-deflate; server_max_window_bits=1a",
        "permessage-deflate; client_max_window_bits=0",
        "permessage-deflate; client_max_window_bits=\"16\"",
        "permessage-deflate;",                                            /* an empty parameter */
        "x-webkit-deflate-frame",                                         /* another extension */
        "permessage-deflatex",
        "",
    };
    for (size_t i = 0; i < sizeof declined / sizeof *declined; i++) expect(&DEDICATED, declined[i], NULL);
    /* Several offers: the first acceptable one wins (§5). */
    nws_deflate_params p = expect(&DEDICATED,
                                  "permessage-deflate; server_max_window_bits=7, "
                                  "permessage-deflate; server_max_window_bits=11; client_no_context_takeover, "
                                  "permessage-deflate",
                                  "permessage-deflate; client_no_context_takeover; server_max_window_bits=11");
    NWS_CHECK_EQ(p.server_max_window_bits, 11);
    expect(&DEDICATED, "x-webkit-deflate-frame, permessage-deflate; Server_No_Context_Takeover",
           "permessage-deflate; server_no_context_takeover");
    /* Spaces and tabs around names, '=' and values are allowed. */
    expect(&DEDICATED, "permessage-deflate ;\tserver_max_window_bits = 12 ", "permessage-deflate; server_max_window_bits=12");
}

static void deflate_everyAnswerFitsItsBuffer(void) {
    nws_deflate_config k = {.mode = NWS_DEFLATE_DEDICATED, .window_bits = 9, .client_window_bits = 9};
    const char *longest = "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                          "server_max_window_bits=8; client_max_window_bits=8";
    expect(&k, longest,
           "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8; "
           "client_max_window_bits=8");
}

/* ---- compression in a loop ---- */

static const nws_deflate_params NO_CONTEXT = {1, 1, 15, 15};
static const nws_deflate_params WITH_CONTEXT = {0, 0, 15, 15};

static nws_conn_id open_compressing(const nws_deflate_params *p) {
    nws_conn_id id = open_conn();
    if (p != NULL && nws__deflate_accept(loop, conn_of(id), p) != 0) abort();
    NWS_CHECK_EQ(nws_room_join(server, id, "r", 1), 0);
    return id;
}

/* The first frame of the queue's first segment: its buffer, header byte 0, payload. */
typedef struct queued_frame {
    const nws_buf *buf;
    uint8_t b0;
    const uint8_t *payload;
    size_t len;
} queued_frame;

static queued_frame frame_at(const nws_conn *c, size_t skip) {
    const nws__seg *s = c->head;
    for (; skip > 0 && s != NULL; skip--) s = s->next;   /* (private frames share a segment) */
    if (s == NULL) abort();
    const uint8_t *f = s->buf->data + s->off;
    uint8_t len7 = f[1] & 0x7f;
    size_t h = len7 < 126 ? 2 : len7 == 126 ? 4 : 10;
    return (queued_frame){s->buf, f[0], f + h, s->len - h};
}

/* Inflates one message with z, its flush tail put back (RFC 7692 §7.2.2). */
static size_t inflate_message(z_stream *z, const uint8_t *in, size_t len, uint8_t *out, size_t cap) {
    static const uint8_t tail[4] = {0, 0, 0xff, 0xff};
    z->next_out = out;
    z->avail_out = (uInt)cap;
    z->next_in = (Bytef *)(uintptr_t)in;
    z->avail_in = (uInt)len;
    NWS_CHECK(inflate(z, Z_SYNC_FLUSH) == Z_OK);
    z->next_in = (Bytef *)(uintptr_t)tail;
    z->avail_in = 4;
    int rc = inflate(z, Z_SYNC_FLUSH);
    NWS_CHECK(rc == Z_OK || rc == Z_BUF_ERROR);
    return cap - z->avail_out;
}

/* c's queue holds exactly these messages, each one compressed final frame of opcode whose
 * length takes the fewest bytes (RFC 6455 §5.2), in order, inflating with one stream of window
 * `bits`. Their compressed lengths go to zlens. */
static void expect_compressed_queue(nws_conn *c, uint8_t opcode, int bits, const uint8_t *const *messages,
                                    const size_t *lens, int count, size_t *zlens) {
    static uint8_t bytes[16384], out[4096];
    int slices;
    size_t n = queue_bytes(c, bytes, sizeof bytes, &slices), at = 0;
    NWS_CHECK_EQ(c->queued, n);
    z_stream z = {0};
    NWS_CHECK(inflateInit2(&z, -bits) == Z_OK);
    for (int i = 0; i < count; i++) {
        NWS_CHECK(at + 2 <= n);
        NWS_CHECK_EQ(bytes[at], 0x80 | 0x40 | opcode);
        size_t h = 2, len = bytes[at + 1];
        if (len == 126) h = 4, len = (size_t)bytes[at + 2] << 8 | bytes[at + 3];
        NWS_CHECK(len >= 126 || h == 2);
        NWS_CHECK(at + h + len <= n);
        NWS_CHECK_EQ(inflate_message(&z, bytes + at + h, len, out, sizeof out), lens[i]);
        NWS_CHECK_MEM(out, messages[i], lens[i]);
        zlens[i] = len;
        at += h + len;
    }
    NWS_CHECK_EQ(at, n);
    inflateEnd(&z);
}

/* Words drawn at random from a small vocabulary: compresses a few times over, as chat does,
 * and the same text again compresses to a few back-references when context is kept. */
static void chat_text(char *out, size_t len, int variant) {
    static const char *const words[] = {"hello ", "world ", "chat ", "room ", "message ", "the ", "a ", "is ",
                                        "socket ", "deflate ", "window ", "frame ", "server ", "client ", "ok ", "yes "};
    uint32_t x = 2463534242u + (uint32_t)variant * 7919u;
    size_t at = 0;
    while (at < len) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        const char *w = words[x % 16];
        for (size_t i = 0; w[i] && at < len; i++) out[at++] = w[i];
    }
}

static void broadcast(const char *text, size_t len) {
    nws_msg *m = nws_msg_create(NWS_OP_TEXT, text, len);
    nws_room_ref r = {"r", 1};
    NWS_CHECK(nws_room_broadcast(server, m, &r, 1, NULL, 0, 0, 0) > 0);
    nws_msg_release(m);
}

static void deflate_aBroadcastIsCompressedOnceForEveryMemberWithoutContext(void) {
    nws_server_config config = {.loops = 1, .deflate = {.mode = NWS_DEFLATE_SHARED, .level = 9}};
    nws_server_callbacks callbacks = {0};
    setup_with(&config, &callbacks);
    nws_conn *a = conn_of(open_compressing(&NO_CONTEXT));
    nws_conn *b = conn_of(open_compressing(&NO_CONTEXT));
    nws_conn *own = conn_of(open_compressing(&WITH_CONTEXT));
    nws_conn *plain = conn_of(open_compressing(NULL));
    char text[4000];
    chat_text(text, sizeof text, 0);
    broadcast(text, sizeof text);
    NWS_CHECK_EQ(own->queued, 0);               /* its own compression waits for the flush */
    nws__conn_compress_deferred(loop, own);
    queued_frame fa = frame_at(a, 0), fb = frame_at(b, 0), fown = frame_at(own, 0), fplain = frame_at(plain, 0);
    NWS_CHECK(fa.buf == fb.buf);                 /* one compressed frame, shared */
    NWS_CHECK_EQ(fa.b0, 0x80 | 0x40 | NWS_OP_TEXT);   /* FIN, RSV1, text */
    NWS_CHECK(fa.len < sizeof text / 2);
    NWS_CHECK(fown.buf != fa.buf);               /* its own context: its own compression */
    NWS_CHECK_EQ(fown.b0, 0x80 | 0x40 | NWS_OP_TEXT);
    NWS_CHECK_EQ(fplain.b0, 0x80 | NWS_OP_TEXT); /* not negotiated: the plain frame */
    NWS_CHECK_EQ(fplain.len, sizeof text);
    NWS_CHECK(fplain.buf != fa.buf && fplain.buf != fown.buf);
    uint8_t out[8192];
    z_stream shared = {0}, mine = {0};
    NWS_CHECK(inflateInit2(&shared, -15) == Z_OK && inflateInit2(&mine, -15) == Z_OK);
    NWS_CHECK_EQ(inflate_message(&shared, fa.payload, fa.len, out, sizeof out), sizeof text);
    NWS_CHECK_MEM(out, text, sizeof text);
    NWS_CHECK_EQ(inflate_message(&mine, fown.payload, fown.len, out, sizeof out), sizeof text);
    NWS_CHECK_MEM(out, text, sizeof text);
    /* The same text again: the member with context sends a back-reference, far shorter. */
    size_t first_len = fown.len;
    nws_conn *all[] = {a, b, own, plain};
    for (int i = 0; i < 4; i++) nws__sendq_consume(loop, all[i], all[i]->queued);
    broadcast(text, sizeof text);
    nws__conn_compress_deferred(loop, own);
    queued_frame again = frame_at(own, 0), shared_again = frame_at(a, 0);
    NWS_CHECK(again.len < first_len / 4);
    NWS_CHECK_EQ(inflate_message(&mine, again.payload, again.len, out, sizeof out), sizeof text);
    NWS_CHECK_MEM(out, text, sizeof text);
    NWS_CHECK(shared_again.buf == frame_at(b, 0).buf);
    NWS_CHECK(inflateReset(&shared) == Z_OK);
    NWS_CHECK_EQ(inflate_message(&shared, shared_again.payload, shared_again.len, out, sizeof out), sizeof text);
    inflateEnd(&shared);
    inflateEnd(&mine);
    teardown();
}

static void deflate_shortAndIncompressibleMessagesGoPlain(void) {
    nws_server_config config = {.loops = 1, .deflate = {.mode = NWS_DEFLATE_SHARED, .threshold = 100}};
    nws_server_callbacks callbacks = {0};
    setup_with(&config, &callbacks);
    nws_conn_id id = open_compressing(&NO_CONTEXT);
    nws_conn *c = conn_of(id);
    char text[99];
    chat_text(text, sizeof text, 1);
    broadcast(text, sizeof text);                       /* under the threshold */
    NWS_CHECK_EQ(frame_at(c, 0).b0, 0x80 | NWS_OP_TEXT);
    uint8_t noise[3000];
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < sizeof noise; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        noise[i] = (uint8_t)x;
    }
    NWS_CHECK_EQ(nws_send(server, id, NWS_OP_BINARY, noise, sizeof noise, 0), 0);   /* would grow */
    int slices;
    uint8_t bytes[8192];
    size_t n = queue_bytes(c, bytes, sizeof bytes, &slices);
    NWS_CHECK_EQ(n, 2 + sizeof text + 4 + sizeof noise);
    NWS_CHECK_EQ(bytes[2 + sizeof text], 0x80 | NWS_OP_BINARY);
    teardown();
}

static void deflate_directSendsKeepTheConnectionsContext(void) {
    /* Level 9: its long match search finds the repeat (level 1 settles for nearer, shorter ones). */
    nws_server_config config = {.loops = 1, .deflate = {.mode = NWS_DEFLATE_DEDICATED, .level = 9}};
    nws_server_callbacks callbacks = {0};
    setup_with(&config, &callbacks);
    nws_conn_id id = open_compressing(&WITH_CONTEXT);
    z_stream z = {0};
    NWS_CHECK(inflateInit2(&z, -15) == Z_OK);
    char text[2000];
    size_t first = 0;
    for (int i = 0; i < 6; i++) {
        chat_text(text, sizeof text, i % 2);   /* two texts, each sent three times */
        NWS_CHECK_EQ(nws_send(server, id, NWS_OP_TEXT, text, sizeof text, 0), 0);
        queued_frame f = frame_at(conn_of(id), 0);
        NWS_CHECK_EQ(f.b0, 0x80 | 0x40 | NWS_OP_TEXT);
        uint8_t out[4096];
        NWS_CHECK_EQ(inflate_message(&z, f.payload, f.len, out, sizeof out), sizeof text);
        NWS_CHECK_MEM(out, text, sizeof text);
        if (i == 0) first = f.len;
        if (i >= 2) NWS_CHECK(f.len < first / 4);   /* a repeat: back-references into the context */
        nws__sendq_consume(loop, conn_of(id), conn_of(id)->queued);
    }
    inflateEnd(&z);
    teardown();
}

/* Broadcasts to a member with its own context wait for the flush, which compresses all of an
 * iteration's at once; anything else sent to it meanwhile first puts them in its queue, so the
 * order in which they were sent, and the one stream they are compressed with, hold. A member
 * freed with broadcasts still waiting releases them (the ASan build finds a leak otherwise). */
static void deflate_broadcastsToAnOwnContextWaitForTheFlushInOrder(void) {
    nws_server_config config = {.loops = 1, .deflate = {.mode = NWS_DEFLATE_DEDICATED}};
    nws_server_callbacks callbacks = {0};
    setup_with(&config, &callbacks);
    nws_conn_id id = open_compressing(&WITH_CONTEXT);
    nws_conn *c = conn_of(id);
    char texts[5][1500];
    for (int i = 0; i < 5; i++) chat_text(texts[i], sizeof texts[i], i);
    broadcast(texts[0], sizeof texts[0]);
    broadcast(texts[1], sizeof texts[1]);
    NWS_CHECK_EQ(c->queued, 0);
    NWS_CHECK(c->dirty);                                   /* the flush will come to it */
    NWS_CHECK_EQ(nws_send(server, id, NWS_OP_TEXT, texts[2], sizeof texts[2], 0), 0);   /* after them */
    broadcast(texts[3], sizeof texts[3]);
    nws__conn_compress_deferred(loop, c);                  /* what the flush does first */
    const uint8_t *sent[] = {(uint8_t *)texts[0], (uint8_t *)texts[1], (uint8_t *)texts[2], (uint8_t *)texts[3]};
    const size_t lens[] = {sizeof texts[0], sizeof texts[1], sizeof texts[2], sizeof texts[3]};
    size_t zlens[4];
    expect_compressed_queue(c, NWS_OP_TEXT, 15, sent, lens, 4, zlens);
    for (int i = 0; i < 4; i++) NWS_CHECK(zlens[i] >= 126);   /* compressed 1,500 bytes: 126..65535 */
    broadcast(texts[4], sizeof texts[4]);                  /* still waiting at the teardown */
    teardown();
}

/* Sends queued back to back are compressed straight into the room at the tail of the queue:
 * a short text (its frame header shrinks to 2 bytes once the length is known), a 2,000-byte
 * text, noise that does not compress and outgrows the room (at memory level 1 its stored
 * blocks cost 5 bytes every 127), so it spills to the loop's buffer, and a text after it.
 * The queue holds each as one frame with the fewest length bytes, in order, and they inflate
 * with one stream. */
static void deflate_sendsCompressIntoTheQueueAndSpillWhenTheyOutgrowIt(void) {
    nws_server_config config = {
        .loops = 1, .deflate = {.mode = NWS_DEFLATE_DEDICATED, .level = 6, .window_bits = 9, .mem_level = 1}};
    nws_server_callbacks callbacks = {0};
    setup_with(&config, &callbacks);
    nws_conn_id id = open_compressing(&(nws_deflate_params){0, 0, 9, 15});
    nws_conn *c = conn_of(id);
    static uint8_t messages[5][3000];
    static const size_t lens[5] = {90, 90, 2000, 3000, 500};
    chat_text((char *)messages[0], 90, 0);
    chat_text((char *)messages[1], 90, 0);        /* the same again: a back-reference */
    chat_text((char *)messages[2], 2000, 1);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < 3000; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        messages[3][i] = (uint8_t)x;
    }
    chat_text((char *)messages[4], 500, 2);
    for (int i = 0; i < 5; i++) NWS_CHECK_EQ(nws_send(server, id, NWS_OP_BINARY, messages[i], lens[i], 0), 0);
    const uint8_t *sent[] = {messages[0], messages[1], messages[2], messages[3], messages[4]};
    size_t zlens[5];
    expect_compressed_queue(c, NWS_OP_BINARY, 9, sent, lens, 5, zlens);
    NWS_CHECK(zlens[3] > lens[3] + 64);   /* the noise did outgrow the room */
    teardown();
}

/* Raw deflate of n zero bytes, the flush tail left off as on the wire. */
static uint8_t *zeros_compressed(size_t n, size_t *len) {
    z_stream z = {0};
    deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY);
    size_t cap = n / 500 + 1024;
    uint8_t *out = malloc(cap), chunk[65536] = {0};
    z.next_out = out;
    z.avail_out = (uInt)cap;
    for (size_t left = n; left > 0;) {
        size_t k = left < sizeof chunk ? left : sizeof chunk;
        left -= k;
        z.next_in = chunk;
        z.avail_in = (uInt)k;
        deflate(&z, left ? Z_NO_FLUSH : Z_SYNC_FLUSH);
    }
    *len = cap - z.avail_out - 4;
    deflateEnd(&z);
    return out;
}

static void deflate_inflationStopsAtMaxMessage(void) {
    nws_server_config config = {.loops = 1, .max_message = 64 * 1024, .deflate = {.mode = NWS_DEFLATE_SHARED}};
    nws_server_callbacks callbacks = {0};
    setup_with(&config, &callbacks);
    nws_conn *c = conn_of(open_compressing(&NO_CONTEXT));
    size_t len;
    uint8_t *bomb = zeros_compressed(64u << 20, &len);   /* 64 MiB of zeros in about 64 KiB */
    const uint8_t *out;
    size_t out_len;
    NWS_CHECK_EQ(nws__deflate_inflate(loop, c, bomb, len, &out, &out_len), NWS_ETOOBIG);
    free(bomb);
    bomb = zeros_compressed(64 * 1024, &len);             /* exactly the limit: taken */
    NWS_CHECK_EQ(nws__deflate_inflate(loop, c, bomb, len, &out, &out_len), 0);
    NWS_CHECK_EQ(out_len, 64 * 1024);
    free(bomb);
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x13};
    NWS_CHECK_EQ(nws__deflate_inflate(loop, c, garbage, sizeof garbage, &out, &out_len), NWS_EINFLATE);
    teardown();
}

int main(void) {
    NWS_RUN(deflate_offMode_declinesEverything);
    NWS_RUN(deflate_sharedMode_saysNoContextForBothSides);
    NWS_RUN(deflate_dedicatedMode_keepsContextUnlessAsked);
    NWS_RUN(deflate_serverWindow_isAnsweredAtMostAsAsked);
    NWS_RUN(deflate_clientWindow_isLimitedOnlyWhenTheOfferAllowsIt);
    NWS_RUN(deflate_badOffers_areDeclinedAndTheNextOneTaken);
    NWS_RUN(deflate_everyAnswerFitsItsBuffer);
    NWS_RUN(deflate_aBroadcastIsCompressedOnceForEveryMemberWithoutContext);
    NWS_RUN(deflate_shortAndIncompressibleMessagesGoPlain);
    NWS_RUN(deflate_directSendsKeepTheConnectionsContext);
    NWS_RUN(deflate_broadcastsToAnOwnContextWaitForTheFlushInOrder);
    NWS_RUN(deflate_sendsCompressIntoTheQueueAndSpillWhenTheyOutgrowIt);
    NWS_RUN(deflate_inflationStopsAtMaxMessage);
    return nws_test_summary("deflate");
}
