/*
 * deflate.c — permessage-deflate's streams (RFC 7692 §7.2): messages compressed on the way
 * out, inflated on the way in, with zlib's raw deflate.
 *
 * A side that keeps no context compresses each message on its own. Such messages need no
 * stream of their own, so the loop's streams serve every connection: a compressor per window
 * size, reset before each message, and one decompressor with the largest window, reset
 * likewise. A side that keeps context has its connection's own stream, made when first used.
 *
 * A message is compressed with a sync flush, whose last 4 bytes (00 00 ff ff) are left off
 * the wire (§7.2.1); they are put back before a received message is inflated (§7.2.2). A
 * received message is inflated only once whole, so the loop's decompressor is never left
 * mid-message. Its output grows to max_message bytes and no further: a small frame that
 * would inflate to gigabytes is refused (1009) once it crosses that.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define WINDOWS 8   /* window bits 8..15 */
/* A compressor without context is reset for every message, and the reset clears its hash table,
 * which zlib sizes by the memory level (64 KiB at 8): for a chat line the clearing costs more
 * than the compression. Messages under SMALL_INPUT bytes get a compressor of memory level
 * SMALL_MEM_LEVEL instead (a 4 KiB table): 3.6x fewer instructions per 20-byte echo, and the
 * same output at 20 to 4,000 bytes; larger ones keep the configured level, which is faster there. */
#define SMALL_INPUT 4096u
#define SMALL_MEM_LEVEL 4
/* Compressed messages up to this size are inflated with their tail in one call. */
#define SMALL_MESSAGE 1024u
/* Scratch buffers larger than this are given back after the message that needed them. */
#define SCRATCH_KEEP (256u * 1024u)

typedef struct scratch {
    uint8_t *data;
    size_t cap;
    uint8_t *oversized;   /* the loop's deflate_oversized: set when cap passes SCRATCH_KEEP */
} scratch;

typedef struct nws__deflate_loop {
    z_stream *compressors[WINDOWS][2];   /* no context, by window bits - 8; [1]: for small messages */
    z_stream *decompressor;           /* no context, window 15 */
    scratch deflated, inflated;       /* a compressed payload; an inflated message */
} nws__deflate_loop;

struct nws__deflate_conn {
    z_stream *compressor;             /* context kept: NULL until the first compressed send */
    z_stream *decompressor;           /* context kept: NULL until the first compressed message */
    nws_msg **deferred;               /* shared messages to compress at the flush, oldest first */
    uint32_t deferred_count, deferred_cap;
    uint8_t client_bits;              /* the decompressor's window */
};

static const uint8_t FLUSH_TAIL[4] = {0x00, 0x00, 0xff, 0xff};

/* ---- streams ---- */

static const nws_deflate_config *config(const nws_loop *loop) { return &cfg(loop)->deflate; }

/* zlib's raw deflate cannot use a window of 8 bits (it would write 9). Run-length matches,
 * at distance 1, fit any window: a client that asks for 8 gets those. */
static z_stream *compressor_new(const nws_loop *loop, int bits, int mem_level) {
    z_stream *z = calloc(1, sizeof *z);
    if (z == NULL) return NULL;
    const nws_deflate_config *k = config(loop);
    int strategy = bits == 8 ? Z_RLE : Z_DEFAULT_STRATEGY;
    if (deflateInit2(z, k->level, Z_DEFLATED, -(bits == 8 ? 9 : bits), mem_level, strategy) != Z_OK) {
        free(z);
        return NULL;
    }
    return z;
}

static z_stream *decompressor_new(int bits) {
    z_stream *z = calloc(1, sizeof *z);
    if (z != NULL && inflateInit2(z, -bits) != Z_OK) {
        free(z);
        return NULL;
    }
    return z;
}

static void compressor_free(z_stream *z) {
    if (z == NULL) return;
    deflateEnd(z);
    free(z);
}

static void decompressor_free(z_stream *z) {
    if (z == NULL) return;
    inflateEnd(z);
    free(z);
}

static nws__deflate_loop *loop_state(nws_loop *loop) {
    if (loop->deflate == NULL && (loop->deflate = calloc(1, sizeof *loop->deflate)) != NULL)
        loop->deflate->deflated.oversized = loop->deflate->inflated.oversized = &loop->deflate_oversized;
    return loop->deflate;
}

int nws__deflate_accept(nws_loop *loop, nws_conn *c, const nws_deflate_params *p) {
    uint8_t flags = NWS__DEFLATE_ON | (uint8_t)((p->server_max_window_bits - 8) << NWS__DEFLATE_BITS_SHIFT);
    if (p->server_no_context_takeover) flags |= NWS__DEFLATE_SHARED_OUT;
    if (p->client_no_context_takeover) flags |= NWS__DEFLATE_SHARED_IN;
    if (!p->server_no_context_takeover || !p->client_no_context_takeover) {
        nws__conn_cold *k = nws__conn_cold_get(loop, c);
        struct nws__deflate_conn *own = k != NULL ? calloc(1, sizeof *own) : NULL;
        if (own == NULL) return NWS_ENOMEM;
        own->client_bits = p->client_max_window_bits;
        k->deflate_state = own;
    }
    c->deflate = flags;
    return 0;
}

void nws__deflate_conn_free(nws_conn *c) {
    struct nws__deflate_conn *own = c->cold != NULL ? c->cold->deflate_state : NULL;
    if (own == NULL) return;
    nws__deflate_deferred_clear(c);
    free(own->deferred);
    compressor_free(own->compressor);
    decompressor_free(own->decompressor);
    free(own);
    c->cold->deflate_state = NULL;
}

/* ---- shared messages that wait for the flush ---- */

int nws__deflate_defer(nws_conn *c, nws_msg *m) {
    struct nws__deflate_conn *own = c->cold->deflate_state;
    if (own->deferred_count == own->deferred_cap) {
        uint32_t cap = own->deferred_cap ? own->deferred_cap * 2 : 4;
        nws_msg **grown = realloc(own->deferred, cap * sizeof *grown);
        if (grown == NULL) return NWS_ENOMEM;
        own->deferred = grown;
        own->deferred_cap = cap;
    }
    atomic_fetch_add_explicit(&m->buf.refs, 1, memory_order_relaxed);
    own->deferred[own->deferred_count++] = m;
    c->deflate |= NWS__DEFLATE_DEFERRED;
    return 0;
}

nws_msg *const *nws__deflate_deferred(const nws_conn *c, uint32_t *count) {
    struct nws__deflate_conn *own = c->cold->deflate_state;
    *count = own->deferred_count;
    return own->deferred;
}

void nws__deflate_deferred_clear(nws_conn *c) {
    struct nws__deflate_conn *own = c->cold->deflate_state;
    for (uint32_t i = 0; i < own->deferred_count; i++) nws__buf_release(NULL, &own->deferred[i]->buf);
    own->deferred_count = 0;
    c->deflate &= (uint8_t)~NWS__DEFLATE_DEFERRED;
}

void nws__deflate_loop_free(nws_loop *loop) {
    nws__deflate_loop *d = loop->deflate;
    if (d == NULL) return;
    for (int i = 0; i < WINDOWS; i++) {
        compressor_free(d->compressors[i][0]);
        compressor_free(d->compressors[i][1]);
    }
    decompressor_free(d->decompressor);
    free(d->deflated.data);
    free(d->inflated.data);
    free(d);
    loop->deflate = NULL;
}

static int server_bits(const nws_conn *c) { return 8 + ((c->deflate >> NWS__DEFLATE_BITS_SHIFT) & 7); }

/* The loop's compressor for a window and a message of len bytes, reset for it. */
static z_stream *shared_compressor(nws_loop *loop, int bits, size_t len) {
    nws__deflate_loop *d = loop_state(loop);
    if (d == NULL) return NULL;
    int mem_level = config(loop)->mem_level, small = len < SMALL_INPUT && mem_level > SMALL_MEM_LEVEL;
    z_stream **z = &d->compressors[bits - 8][small];
    if (*z == NULL) *z = compressor_new(loop, bits, small ? SMALL_MEM_LEVEL : mem_level);
    else deflateReset(*z);
    return *z;
}

/* ---- compressing ---- */

/* Room for exactly `need` bytes in s (callers grow it geometrically), keeping its first
 * `keep`. 0 or NWS_ENOMEM. */
static int scratch_reserve(scratch *s, size_t need, size_t keep) {
    if (need <= s->cap) return 0;
    uint8_t *p = keep ? realloc(s->data, need) : malloc(need);
    if (p == NULL) return NWS_ENOMEM;
    if (!keep) free(s->data);
    s->data = p;
    s->cap = need;
    if (need > SCRATCH_KEEP) *s->oversized = 1;
    return 0;
}

static void scratch_trim(scratch *s) {
    if (s->cap <= SCRATCH_KEEP) return;
    free(s->data);
    s->data = NULL;
    s->cap = 0;
}

/* Feeds in[0..len) to z with `flush`, growing out as needed; *written counts its bytes. */
static int deflate_into(z_stream *z, scratch *out, size_t *written, const uint8_t *in, size_t len, int flush) {
    z->next_in = (Bytef *)(uintptr_t)in;
    z->avail_in = (uInt)len;
    for (;;) {
        /* Deflate never grows data by more than its stored blocks' 5-byte headers (one per 128
         * bytes at the smallest memory level) and a flush's few bytes; should a pending block
         * need more, the loop comes round with more room. (deflateBound, which says the same
         * for a whole stream, cost 60 instructions a message.) */
        size_t bound = len + (len >> 4) + 64;
        if (out->cap - *written < bound && scratch_reserve(out, *written + bound, *written) != 0) return NWS_ENOMEM;
        z->next_out = out->data + *written;
        z->avail_out = (uInt)(out->cap - *written);
        int rc = deflate(z, flush);
        *written = (size_t)(z->next_out - out->data);
        if (rc == Z_STREAM_ERROR) return NWS_ENOMEM;
        /* Done when the input is taken and the flush's output fitted (room was left over). */
        if (z->avail_in == 0 && z->avail_out > 0) return 0;
        len = z->avail_in;
    }
}

/* The payload's length once the flush's tail (4 bytes) is left off, or NWS_ENOMEM when the
 * output does not end with it. */
static inline ssize_t without_tail(const uint8_t *out, size_t written) {
    if (written < 4 || memcmp(out + written - 4, FLUSH_TAIL, 4) != 0) return NWS_ENOMEM;
    return (ssize_t)(written - 4);
}

/* Compresses one message with z into d->deflated: the payload's length, the flush's tail left
 * off, or NWS_E*. */
static ssize_t compress_message(nws__deflate_loop *d, z_stream *z, const uint8_t *prefix, size_t prefix_len,
                                const void *data, size_t len) {
    size_t written = 0;
    int rc = 0;
    if (prefix_len) rc = deflate_into(z, &d->deflated, &written, prefix, prefix_len, Z_NO_FLUSH);
    if (rc == 0) rc = deflate_into(z, &d->deflated, &written, data, len, Z_SYNC_FLUSH);
    return rc != 0 ? rc : without_tail(d->deflated.data, written);
}

/* The common case of nws__deflate_queue: a message without prefix, compressed straight into
 * `room` bytes at out, which the caller reserved at the tail of the queue (no copy out of the
 * loop's buffer). The room takes any message that compresses; one that does not (random or
 * compressed data) can outgrow it by its stored blocks' headers, and spills: what fitted is
 * copied to the loop's buffer and the rest follows it there (*in_place 0). The payload's
 * length, or NWS_E*. */
static ssize_t compress_in_place(nws__deflate_loop *d, z_stream *z, uint8_t *out, size_t room, const void *data,
                                 size_t len, int *in_place) {
    z->next_in = (Bytef *)(uintptr_t)data;
    z->avail_in = (uInt)len;
    z->next_out = out;
    z->avail_out = (uInt)room;
    if (deflate(z, Z_SYNC_FLUSH) == Z_STREAM_ERROR) return NWS_ENOMEM;
    size_t written = room - z->avail_out;
    *in_place = z->avail_in == 0 && z->avail_out > 0;
    if (*in_place) return without_tail(out, written);
    if (scratch_reserve(&d->deflated, written + z->avail_in + 64, 0) != 0) return NWS_ENOMEM;
    memcpy(d->deflated.data, out, written);
    int rc = deflate_into(z, &d->deflated, &written, z->next_in, z->avail_in, Z_SYNC_FLUSH);
    return rc != 0 ? rc : without_tail(d->deflated.data, written);
}

ssize_t nws__deflate_queue(nws_loop *loop, nws_conn *c, int opcode, const uint8_t *prefix, size_t prefix_len,
                           const void *data, size_t len, int small) {
    nws__deflate_loop *d = loop_state(loop);
    if (d == NULL) return NWS_ENOMEM;
    int own = !(c->deflate & NWS__DEFLATE_SHARED_OUT);
    z_stream *z;
    if (own) {
        /* Broadcasts waiting for this stream go into it, and the queue, before this message. */
        nws__conn_compress_waiting(loop, c);
        z_stream **mine = &c->cold->deflate_state->compressor;
        if (*mine == NULL) *mine = compressor_new(loop, server_bits(c), config(loop)->mem_level);
        z = *mine;
    } else {
        z = shared_compressor(loop, server_bits(c), prefix_len + len);
    }
    if (z == NULL) return NWS_ENOMEM;
    size_t in = prefix_len + len;
    if (in == 0) {
        /* An empty message is an empty stored block, 0x00 (RFC 7692 §7.2.3.6), written here:
         * a sync flush right after another gives zlib nothing to write. Without context it
         * goes plain, a byte shorter. */
        if (!own) return 0;
        uint8_t *frame = small ? nws__sendq_reserve_small(loop, c, 3) : nws__sendq_reserve(loop, c, 3);
        if (frame == NULL) return NWS_ENOMEM;
        nws__put_frame_header(frame, opcode, 1, 1);
        frame[2] = 0;
        return 3;
    }
    /* Where the queue's tail has room, the frame is compressed into it, its header written in
     * front once the length is known; else into the loop's buffer, and copied. */
    size_t room = in + 64, hmax = nws__frame_header_len(room);
    uint8_t *frame = prefix_len == 0 ? nws__sendq_room(loop, c, hmax + room) : NULL;
    int in_place = 0;
    ssize_t zlen = frame != NULL ? compress_in_place(d, z, frame + hmax, room, data, len, &in_place)
                                 : compress_message(d, z, prefix, prefix_len, data, len);
    /* With its own context the peer's decompressor must see every byte its compressor took;
     * without, a message that did not shrink goes out plain and saves the peer the work. */
    int plain = zlen >= 0 && !own && (size_t)zlen >= in;
    if (frame != NULL && (!in_place || zlen < 0 || plain)) nws__sendq_unreserve(loop, c, hmax + room);
    if (zlen < 0 || plain) return zlen < 0 ? zlen : 0;
    size_t hlen = nws__frame_header_len((size_t)zlen);
    if (in_place) {
        if (hlen < hmax) memmove(frame + hlen, frame + hmax, (size_t)zlen);
        nws__sendq_unreserve(loop, c, hmax + room - hlen - (size_t)zlen);
    } else {
        frame = small ? nws__sendq_reserve_small(loop, c, hlen + (size_t)zlen) : nws__sendq_reserve(loop, c, hlen + (size_t)zlen);
        if (frame == NULL) return NWS_ENOMEM;
        memcpy(frame + hlen, d->deflated.data, (size_t)zlen);
    }
    nws__put_frame_header(frame, opcode, 1, (size_t)zlen);
    return (ssize_t)(hlen + (size_t)zlen);
}

nws_buf *nws__deflate_shared_frame(nws_loop *loop, nws_msg *m) {
    nws_buf *ready = atomic_load_explicit(&m->deflated, memory_order_acquire);
    if (ready != NULL) return ready == NWS__NO_GAIN ? NULL : ready;
    const uint8_t *frame = m->buf.data;
    size_t hlen = nws__server_header_len(frame);
    size_t len = m->buf.len - hlen;
    nws__deflate_loop *d = loop_state(loop);
    z_stream *z = shared_compressor(loop, 15, len);
    ssize_t compressed = d != NULL && z != NULL ? compress_message(d, z, NULL, 0, frame + hlen, len) : NWS_ENOMEM;
    if (compressed < 0) return NULL;
    size_t zlen = (size_t)compressed;
    nws_buf *made = NWS__NO_GAIN;
    if (zlen < len && (made = malloc(sizeof(nws_buf) + NWS_FRAME_HEADER_MAX + zlen)) != NULL) {
        size_t zh = nws_frame_header(made->data, frame[0] & 0x0f, 1, 1, zlen, NULL);
        memcpy(made->data + zh, d->deflated.data, zlen);
        atomic_init(&made->refs, 1);
        made->cap = made->len = (uint32_t)(zh + zlen);
        made->pooled = NWS__POOL_NONE;
        made->engine_io = m->buf.engine_io;
    }
    nws__deflate_done(loop);
    if (made == NULL) return NULL;   /* out of memory: plain this time, tried again next time */
    /* Another loop may have made it meanwhile: the first one stays. */
    nws_buf *expected = NULL;
    if (!atomic_compare_exchange_strong_explicit(&m->deflated, &expected, made, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        if (made != NWS__NO_GAIN) free(made);
        made = expected;
    }
    return made == NWS__NO_GAIN ? NULL : made;
}

void nws__msg_free(nws_buf *b) {
    nws_msg *m = nws__msg_of(b);
    nws_buf *z = atomic_load_explicit(&m->deflated, memory_order_acquire);
    if (z != NULL && z != NWS__NO_GAIN) nws__buf_release(NULL, z);
    free(m);
}

/* ---- inflating ---- */

/* Inflates in[0..len) into d->inflated from *written on, never past limit + 1 bytes. 1 when
 * the stream ended (a final block), else 0; or NWS_E*. */
__attribute__((always_inline)) static inline int inflate_into(z_stream *z, scratch *out, size_t *written, const uint8_t *in, size_t len,
                        uint64_t limit) {
    z->next_in = (Bytef *)(uintptr_t)in;
    z->avail_in = (uInt)len;
    for (;;) {
        if (*written == out->cap) {
            if (out->cap > limit) return NWS_ETOOBIG;
            size_t want = out->cap ? out->cap * 2 : 4096;   /* geometric: a large message reallocs a few times */
            if (want < len * 4) want = len * 4;
            if (want > limit + 1) want = (size_t)limit + 1;
            if (scratch_reserve(out, want, *written) != 0) return NWS_ENOMEM;
        }
        z->next_out = out->data + *written;
        z->avail_out = (uInt)(out->cap - *written);
        int rc = inflate(z, Z_SYNC_FLUSH);
        *written = (size_t)(z->next_out - out->data);
        if (*written > limit) return NWS_ETOOBIG;
        if (rc == Z_STREAM_END) return 1;
        if (rc == Z_BUF_ERROR && z->avail_out > 0) return 0;   /* input taken, nothing more to write */
        if (rc != Z_OK && rc != Z_BUF_ERROR) return rc == Z_MEM_ERROR ? NWS_ENOMEM : NWS_EINFLATE;
        if (z->avail_in == 0 && z->avail_out > 0) return 0;
    }
}

/* A stream the peer ended with a final block: ready for its next message, with the window
 * kept when the peer keeps context. */
static int restart(z_stream *z, int keep_window) {
    uint8_t window[32768];
    uInt window_len = 0;
    if (keep_window && inflateGetDictionary(z, window, &window_len) != Z_OK) return NWS_EINFLATE;
    if (inflateReset(z) != Z_OK) return NWS_EINFLATE;
    if (window_len && inflateSetDictionary(z, window, window_len) != Z_OK) return NWS_EINFLATE;
    return 0;
}

int nws__deflate_inflate(nws_loop *loop, nws_conn *c, const uint8_t *in, size_t len, const uint8_t **out,
                         size_t *out_len) {
    nws__deflate_loop *d = loop_state(loop);
    if (d == NULL) return NWS_ENOMEM;
    int own = !(c->deflate & NWS__DEFLATE_SHARED_IN);
    z_stream **zp = own ? &c->cold->deflate_state->decompressor : &d->decompressor;
    if (*zp == NULL) *zp = decompressor_new(own ? c->cold->deflate_state->client_bits : 15);
    else if (!own) inflateReset(*zp);
    z_stream *z = *zp;
    if (z == NULL) return NWS_ENOMEM;
    uint64_t limit = cfg(loop)->max_message;
    size_t written = 0;
    int rc;
    if (len <= SMALL_MESSAGE) {
        /* A short message and its tail in one buffer: one call into zlib instead of two (each
         * call has a fixed cost that a chat line would notice). */
        uint8_t joined[SMALL_MESSAGE + sizeof FLUSH_TAIL];
        memcpy(joined, in, len);
        memcpy(joined + len, FLUSH_TAIL, sizeof FLUSH_TAIL);
        rc = inflate_into(z, &d->inflated, &written, joined, len + sizeof FLUSH_TAIL, limit);
        /* A final block inside: what follows it must be the tail alone. */
        int tail_only = z->avail_in == sizeof FLUSH_TAIL && memcmp(z->next_in, FLUSH_TAIL, sizeof FLUSH_TAIL) == 0;
        if (rc == 1) rc = tail_only ? restart(z, own) : NWS_EINFLATE;
    } else {
        rc = inflate_into(z, &d->inflated, &written, in, len, limit);
        /* The tail goes after the message (§7.2.2) unless the message ended the stream itself. */
        if (rc == 0) rc = inflate_into(z, &d->inflated, &written, FLUSH_TAIL, sizeof FLUSH_TAIL, limit);
        if (rc == 1) rc = z->avail_in == 0 ? restart(z, own) : NWS_EINFLATE;   /* nothing after the final block */
    }
    if (rc != 0) return rc;
    *out = d->inflated.data;
    *out_len = written;
    return 0;
}

void nws__deflate_trim(nws_loop *loop) {
    loop->deflate_oversized = 0;
    scratch_trim(&loop->deflate->inflated);
    scratch_trim(&loop->deflate->deflated);
}
