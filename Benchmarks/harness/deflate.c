/*
 * deflate.c — permessage-deflate on the harness's side (RFC 7692), as a browser does it: every
 * connection offers it (--deflate), every data message it sends is compressed, and every
 * compressed message it receives is inflated before the scenario sees it.
 *
 * The offer asks nothing of the server and says the client keeps no context
 * (client_no_context_takeover), so one compressor per worker serves every connection. What the
 * server keeps is its choice: an answer without server_no_context_takeover gets the
 * connection its own decompressor, kept across messages.
 *
 * A scenario writes its payload masked with the key ws_reserve_frame gives; with deflate that
 * key is all zeros and the payload lands in the worker's scratch buffer, plain. The commit
 * compresses it, then writes the frame (RSV1, a real mask key) into the send buffer.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "nws_mask.h"
#include "nws_utf8.h"

static const uint8_t FLUSH_TAIL[4] = {0x00, 0x00, 0xff, 0xff};
static const uint8_t ZERO_KEY[4] = {0, 0, 0, 0};

struct wsd_conn {
    z_stream *inflater;       /* the server keeps context: this connection's, kept */
    uint8_t *message;         /* a compressed message arriving in several chunks */
    size_t message_len, message_cap;
    uint8_t opcode;           /* of the frame being written (between reserve and commit) */
};

struct wsd_worker {
    z_stream deflater, inflater;   /* no context: reset per message */
    uint8_t *plain, *packed, *inflated;
    size_t plain_cap, packed_cap, inflated_cap;
};

const char *wsd_offer_header(void) {
    return "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n";
}

static int grow(uint8_t **p, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 4096;
    while (n < need) n *= 2;
    uint8_t *q = realloc(*p, n);
    if (q == NULL) return -1;
    *p = q;
    *cap = n;
    return 0;
}

static struct wsd_worker *worker_state(worker *w) {
    if (w->deflate == NULL) {
        struct wsd_worker *d = calloc(1, sizeof *d);
        if (d == NULL || deflateInit2(&d->deflater, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK ||
            inflateInit2(&d->inflater, -15) != Z_OK)
            abort();
        w->deflate = d;
    }
    return w->deflate;
}

int wsd_accept(wsconn *c, const char *answer, size_t len) {
    /* Only what was offered may come back: permessage-deflate, once. */
    if (len < 18 || strncasecmp(answer, "permessage-deflate", 18) != 0 || memchr(answer, ',', len) != NULL) return -1;
    c->deflate = calloc(1, sizeof *c->deflate);
    if (c->deflate == NULL) return -1;
    int server_keeps = 1;
    for (size_t i = 18; i + 26 <= len; i++)
        if (strncasecmp(answer + i, "server_no_context_takeover", 26) == 0) server_keeps = 0;
    if (server_keeps) {
        c->deflate->inflater = calloc(1, sizeof(z_stream));
        if (c->deflate->inflater == NULL || inflateInit2(c->deflate->inflater, -15) != Z_OK) return -1;
    }
    return 0;
}

uint8_t *wsd_reserve(worker *w, wsconn *c, uint8_t opcode, size_t len, const uint8_t **key) {
    struct wsd_worker *d = worker_state(w);
    if (grow(&d->plain, &d->plain_cap, len) != 0) abort();
    c->deflate->opcode = opcode;
    *key = ZERO_KEY;
    return d->plain;
}

int wsd_commit(worker *w, wsconn *c, size_t len) {
    if (c->deflate->opcode == 0) return 0;   /* a control frame, or one deflate.c writes itself */
    uint8_t opcode = c->deflate->opcode;
    c->deflate->opcode = 0;
    struct wsd_worker *d = worker_state(w);
    z_stream *z = &d->deflater;
    if (grow(&d->packed, &d->packed_cap, deflateBound(z, len) + 16) != 0) abort();
    deflateReset(z);
    z->next_in = d->plain;
    z->avail_in = (uInt)len;
    z->next_out = d->packed;
    z->avail_out = (uInt)d->packed_cap;
    if (deflate(z, Z_SYNC_FLUSH) != Z_OK || z->avail_in != 0) abort();
    size_t zlen = d->packed_cap - z->avail_out - 4;   /* the flush's tail stays off the wire */
    const uint8_t *key;
    uint8_t *p = ws_reserve_plain_frame(w, c, opcode, 1, zlen, &key);
    nws_mask_copy(p, d->packed, zlen, key, 0);
    ws_commit_frame(w, c, zlen);
    return 1;
}

/* Inflates in[0..len) and its tail with z into d->inflated. */
static int inflate_message(struct wsd_worker *d, z_stream *z, const uint8_t *in, size_t len, size_t *out_len) {
    const uint8_t *pieces[2] = {in, FLUSH_TAIL};
    size_t sizes[2] = {len, 4}, written = 0;
    for (int i = 0; i < 2; i++) {
        z->next_in = (Bytef *)(uintptr_t)pieces[i];
        z->avail_in = (uInt)sizes[i];
        do {
            if (grow(&d->inflated, &d->inflated_cap, written + 4 * len + 4096) != 0) return -1;
            z->next_out = d->inflated + written;
            z->avail_out = (uInt)(d->inflated_cap - written);
            int rc = inflate(z, Z_SYNC_FLUSH);
            written = (size_t)(z->next_out - d->inflated);
            if (rc != Z_OK && rc != Z_BUF_ERROR) return -1;
        } while (z->avail_in > 0 || z->avail_out == 0);
    }
    *out_len = written;
    return 0;
}

int wsd_on_data(worker *w, wsconn *c, const nws_decoded *in, nws_decoded *whole) {
    struct wsd_conn *s = c->deflate;
    const uint8_t *data = in->data;
    size_t len = in->len;
    if (!(in->first && in->last)) {
        if (grow(&s->message, &s->message_cap, s->message_len + in->len) != 0) return -1;
        memcpy(s->message + s->message_len, in->data, in->len);
        s->message_len += in->len;
        if (!in->last) return 0;
        data = s->message;
        len = s->message_len;
        s->message_len = 0;
    }
    struct wsd_worker *d = worker_state(w);
    z_stream *z = s->inflater;
    if (z == NULL) {
        z = &d->inflater;
        inflateReset(z);
    }
    size_t out_len;
    if (inflate_message(d, z, data, len, &out_len) != 0) return -1;
    if (in->opcode == NWS_OP_TEXT && !nws_utf8_valid(d->inflated, out_len)) return -1;
    *whole = *in;
    whole->first = whole->last = 1;
    whole->compressed = 0;
    whole->data = d->inflated;
    whole->len = out_len;
    return 1;
}

void wsd_conn_free(wsconn *c) {
    if (c->deflate == NULL) return;
    if (c->deflate->inflater != NULL) {
        inflateEnd(c->deflate->inflater);
        free(c->deflate->inflater);
    }
    free(c->deflate->message);
    free(c->deflate);
    c->deflate = NULL;
}

void wsd_worker_free(worker *w) {
    struct wsd_worker *d = w->deflate;
    if (d == NULL) return;
    deflateEnd(&d->deflater);
    inflateEnd(&d->inflater);
    free(d->plain);
    free(d->packed);
    free(d->inflated);
    free(d);
    w->deflate = NULL;
}
