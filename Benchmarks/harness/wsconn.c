/*
 * wsconn.c — one RFC 6455 client connection of the harness: the opening handshake, masked
 * frames out, the server's frames in, pings answered, the closing handshake, and teardown.
 *
 * Any RFC 6455 server will do, not only ours: the upgrade is checked as RFC 6455 §4.1 asks
 * of a client (status 101, Upgrade: websocket, Connection: Upgrade, the Sec-WebSocket-Accept
 * of our key, no extension or subprotocol we did not offer). Frames go out like a browser's:
 * a fresh mask key per frame, drawn from a pool refilled in bulk with RAND_bytes, the payload
 * masked with the core's nws_mask_copy while it is copied into the send buffer. Server frames
 * are parsed by the core's nws_decoder with require_mask = 0, so a masked server frame, bad
 * UTF-8 in text, or any other protocol breach is caught exactly as the server would catch
 * it from a client. What the messages mean is the scenario's business (on_data).
 *
 * Sending: frames are appended to `out`; once per loop iteration the worker hands `out` to
 * the ring as one send (the buffers swap, so frames queued meanwhile never move bytes under
 * a send in flight). One send at a time per connection keeps the byte order.
 *
 * Errors are counted once per connection, by the first thing that goes wrong, and the
 * connection is torn down: a dead connection is never reopened in the middle of a run.
 */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "nws_mask.h"

#define HANDSHAKE_MAX 4096

/* ---- sending ------------------------------------------------------------------------ */

/* Room for `more` bytes at the end of b; 0, or -1 when out of memory. */
static int outbuf_reserve(outbuf *b, size_t more) {
    if (b->off == b->len) b->off = b->len = 0;
    if (b->len + more <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more) cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (p == NULL) return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

uint8_t *ws_reserve_frame(worker *w, wsconn *c, uint8_t opcode, size_t len, const uint8_t **key) {
    if (c->deflate != NULL && (opcode == NWS_OP_TEXT || opcode == NWS_OP_BINARY)) return wsd_reserve(w, c, opcode, len, key);
    return ws_reserve_plain_frame(w, c, opcode, 0, len, key);
}

uint8_t *ws_reserve_plain_frame(worker *w, wsconn *c, uint8_t opcode, int rsv1, size_t len, const uint8_t **key) {
    if (outbuf_reserve(&c->out, NWS_FRAME_HEADER_MAX + len) != 0) {
        fprintf(stderr, "navios-ws-bench: out of memory for a send buffer\n");
        abort();   /* a load generator without memory has no meaningful result left */
    }
    *key = worker_mask_key(w);
    uint8_t *p = c->out.data + c->out.len;
    size_t h = nws_frame_header(p, opcode, 1, rsv1, len, *key);
    c->out.len += h;
    return p + h;
}

void ws_commit_frame(worker *w, wsconn *c, size_t len) {
    if (c->deflate != NULL && wsd_commit(w, c, len)) return;
    c->out.len += len;
    worker_mark_dirty(w, c);
}

void ws_send_frame(worker *w, wsconn *c, uint8_t opcode, const uint8_t *data, size_t len) {
    const uint8_t *key;
    uint8_t *p = ws_reserve_frame(w, c, opcode, len, &key);
    nws_mask_copy(p, data, len, key, 0);
    ws_commit_frame(w, c, len);
}

static void queue_raw(worker *w, wsconn *c, const void *data, size_t len) {
    if (outbuf_reserve(&c->out, len) != 0) abort();
    memcpy(c->out.data + c->out.len, data, len);
    c->out.len += len;
    worker_mark_dirty(w, c);
}

void ws_on_send(worker *w, wsconn *c, int res) {
    c->sending = 0;
    if (c->state == WS_DEAD) {
        ws_release_if_idle(w, c);
        return;
    }
    if (res <= 0) {
        int handshaking = c->state == WS_UPGRADING || (c->state == WS_OPEN && !c->counted_open);
    ws_kill(w, c, handshaking ? ERR_HANDSHAKE : ERR_CLOSED);
        return;
    }
    c->wire.off += (size_t)res;
    if (c->wire.off < c->wire.len) {
        /* A short send: the rest goes before anything queued since. */
        c->sending = 1;
        ring_send(&w->ring, c, c->wire.data + c->wire.off, c->wire.len - c->wire.off);
        return;
    }
    c->wire.off = c->wire.len = 0;
    if (c->out.len > c->out.off || (c->tls != NULL && wst_pending(c))) worker_mark_dirty(w, c);
}

/* ---- the opening handshake ------------------------------------------------------------- */

static void send_upgrade_request(worker *w, wsconn *c) {
    uint8_t raw[16], digest[SHA_DIGEST_LENGTH];
    char key[32], cat[80];
    if (RAND_bytes(raw, sizeof raw) != 1) abort();
    EVP_EncodeBlock((unsigned char *)key, raw, sizeof raw);
    snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    SHA1((const unsigned char *)cat, strlen(cat), digest);
    EVP_EncodeBlock((unsigned char *)c->accept, digest, sizeof digest);

    char req[1024];
    int v6 = strchr(w->opt->host, ':') != NULL;   /* an IPv6 literal is bracketed in Host */
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s%s%s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     w->opt->path, v6 ? "[" : "", w->opt->host, v6 ? "]" : "", w->opt->port, key,
                     w->opt->deflate ? wsd_offer_header() : "");
    if (n < 0 || (size_t)n >= sizeof req) abort();   /* the CLI caps what goes in */
    queue_raw(w, c, req, (size_t)n);
}

void ws_on_connect(worker *w, wsconn *c, int res) {
    if (c->state == WS_DEAD) {
        ws_release_if_idle(w, c);
        return;
    }
    if (res < 0) {
        ws_kill(w, c, ERR_CONNECT);
        return;
    }
    c->state = WS_UPGRADING;
    c->hs = malloc(HANDSHAKE_MAX);
    if (c->hs == NULL) abort();
    c->hs_len = 0;
    send_upgrade_request(w, c);   /* with --tls: plaintext that waits for the handshake */
    if (w->opt->tls && wst_start(w, c) != 0) {
        ws_kill(w, c, ERR_HANDSHAKE);
        return;
    }
    ring_recv(&w->ring, c);
}

/* The value of a header in a response head (NUL-terminated, lines end with CRLF), or NULL. */
static const char *header_value(const char *head, const char *name, size_t *vlen) {
    size_t nlen = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line != NULL; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, nlen) != 0 || line[nlen] != ':') continue;
        const char *v = line + nlen + 1;
        while (*v == ' ' || *v == '\t') v++;
        const char *e = strstr(v, "\r\n");
        *vlen = e ? (size_t)(e - v) : strlen(v);
        while (*vlen > 0 && (v[*vlen - 1] == ' ' || v[*vlen - 1] == '\t')) (*vlen)--;
        return v;
    }
    return NULL;
}

/* 1 when a comma-separated header value holds `token` (case-insensitive). */
static int has_token(const char *v, size_t len, const char *token) {
    size_t tlen = strlen(token);
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) i++;
        size_t start = i;
        while (i < len && v[i] != ',') i++;
        size_t end = i;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t')) end--;
        if (end - start == tlen && strncasecmp(v + start, token, tlen) == 0) return 1;
    }
    return 0;
}

/* RFC 6455 §4.1, the client's checks of the server's handshake. */
static int upgrade_accepted(wsconn *c, const char *head, int offered_deflate) {
    if (strncmp(head, "HTTP/1.1 101", 12) != 0) return 0;
    size_t len = 0;
    const char *v = header_value(head, "Upgrade", &len);
    if (v == NULL || !has_token(v, len, "websocket")) return 0;
    v = header_value(head, "Connection", &len);
    if (v == NULL || !has_token(v, len, "upgrade")) return 0;
    v = header_value(head, "Sec-WebSocket-Accept", &len);
    if (v == NULL || len != strlen(c->accept) || memcmp(v, c->accept, len) != 0) return 0;
    /* No subprotocol was offered, and no extension but permessage-deflate with --deflate, which
     * the server must then take (a run that meant to measure compression measures it). */
    v = header_value(head, "Sec-WebSocket-Extensions", &len);
    if (offered_deflate != (v != NULL) || (v != NULL && wsd_accept(c, v, len) != 0)) return 0;
    if (header_value(head, "Sec-WebSocket-Protocol", &len) != NULL) return 0;
    return 1;
}

static void on_frames(worker *w, wsconn *c, uint8_t *buf, size_t len);

static void on_upgrade_bytes(worker *w, wsconn *c, uint8_t *buf, size_t len) {
    size_t room = HANDSHAKE_MAX - 1 - c->hs_len;
    size_t take = len < room ? len : room;
    memcpy(c->hs + c->hs_len, buf, take);
    c->hs_len += take;
    c->hs[c->hs_len] = '\0';
    char *end = strstr(c->hs, "\r\n\r\n");
    if (end == NULL) {
        if (c->hs_len == HANDSHAKE_MAX - 1) ws_kill(w, c, ERR_HANDSHAKE);
        return;
    }
    size_t head_len = (size_t)(end - c->hs) + 4;
    end[2] = '\0';   /* header_value stops at the blank line */
    if (!upgrade_accepted(c, c->hs, w->opt->deflate)) {
        ws_kill(w, c, ERR_HANDSHAKE);
        return;
    }
    /* Bytes after the head that came in this read already belong to the frame stream. */
    size_t used_of_buf = head_len - (c->hs_len - take);
    free(c->hs);
    c->hs = NULL;
    c->state = WS_OPEN;
    c->msg_len = 0;
    nws_decoder_limits lim = {.max_frame = 0, .max_message = 0, .require_mask = 0, .allow_rsv1 = c->deflate != NULL};
    nws_decoder_init(&c->dec, &lim);
    /* With a Socket.IO session the connection is open for the scenario once it is connected. */
    c->sio = w->opt->protocol == PROTO_SOCKETIO ? SIO_WAIT_OPEN : SIO_NONE;
    if (c->sio == SIO_NONE) ws_opened(w, c);
    if (used_of_buf < len && c->state != WS_DEAD) on_frames(w, c, buf + used_of_buf, len - used_of_buf);
}

void ws_opened(worker *w, wsconn *c) {
    c->opened = now_ns();
    w->connecting--;
    w->open++;
    c->counted_open = 1;
    if (w->sc->on_open) w->sc->on_open(w, c);
}

/* ---- frames in ----------------------------------------------------------------------- */

static void on_control(worker *w, wsconn *c, const nws_decoded *d) {
    if (d->opcode == NWS_OP_PING) {
        /* RFC 6455 §5.5.2; after our close frame nothing more may be sent (§5.5.1). */
        if (c->state == WS_OPEN) ws_send_frame(w, c, NWS_OP_PONG, d->data, d->len);
        return;
    }
    if (d->opcode != NWS_OP_CLOSE) return;   /* an unsolicited pong is allowed (§5.5.3) */
    if (c->state == WS_CLOSING) {
        c->state = WS_CLOSE_WAIT;   /* the server ends TCP next (§7.1.1) */
        return;
    }
    ws_kill(w, c, ERR_CLOSE_FRAME);
}

static void on_frames(worker *w, wsconn *c, uint8_t *buf, size_t len) {
    while (len > 0 && (c->state == WS_OPEN || c->state == WS_CLOSING)) {
        nws_decoded d;
        ssize_t n = nws_decode(&c->dec, buf, len, &d);
        if (n < 0) {
            ws_kill(w, c, ERR_PROTOCOL);
            return;
        }
        buf += n;
        len -= (size_t)n;
        if (d.kind == NWS_DECODED_DATA && d.compressed) {
            nws_decoded whole;
            int got = wsd_on_data(w, c, &d, &whole);
            if (got < 0) {
                ws_kill(w, c, ERR_PROTOCOL);
                return;
            }
            if (got == 0) continue;
            d = whole;
        }
        if (d.kind == NWS_DECODED_DATA) {
            if (c->sio != SIO_NONE && sio_on_message(w, c, &d)) continue;
            if (c->state == WS_OPEN && w->sc->on_data) w->sc->on_data(w, c, &d);
        } else if (d.kind == NWS_DECODED_CONTROL) {
            on_control(w, c, &d);
        }
    }
    if (len > 0 && c->state == WS_CLOSE_WAIT) ws_kill(w, c, ERR_PROTOCOL);   /* bytes after close */
}

/* The server ended TCP (res 0) or the socket failed (res < 0). */
static void on_end_of_stream(worker *w, wsconn *c, int res) {
    if (c->state == WS_CLOSE_WAIT && res == 0) {
        c->state = WS_DEAD;
        if (c->counted_open) w->open--;
        c->counted_open = 0;
        if (w->sc->on_end) w->sc->on_end(w, c, 1);
        if (c->inflight > 0) ring_cancel(&w->ring, c);   /* e.g. a send still in the ring */
        ws_release_if_idle(w, c);
        return;
    }
    int handshaking = c->state == WS_UPGRADING || (c->state == WS_OPEN && !c->counted_open);
    ws_kill(w, c, handshaking ? ERR_HANDSHAKE : ERR_CLOSED);
}

/* Plaintext from the server: the upgrade's answer, then frames. */
static void on_bytes(worker *w, wsconn *c, uint8_t *buf, size_t len) {
    if (c->state == WS_UPGRADING) on_upgrade_bytes(w, c, buf, len);
    else on_frames(w, c, buf, len);
}

void ws_on_recv(worker *w, wsconn *c, struct io_uring_cqe *cqe) {
    int more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    if (cqe->flags & IORING_CQE_F_BUFFER) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        if (cqe->res > 0 && c->state != WS_DEAD) {
            uint8_t *buf = ring_buffer(&w->ring, bid);
            if (c->tls == NULL) on_bytes(w, c, buf, (size_t)cqe->res);
            else if (wst_input(w, c, buf, (size_t)cqe->res, on_bytes) != 0)
                ws_kill(w, c, c->state == WS_UPGRADING ? ERR_HANDSHAKE : ERR_PROTOCOL);
        }
        ring_recycle(&w->ring, bid);
    }
    if (c->state == WS_DEAD) {
        ws_release_if_idle(w, c);
        return;
    }
    if (cqe->res == 0 || (cqe->res < 0 && cqe->res != -ENOBUFS)) {
        on_end_of_stream(w, c, cqe->res);
        return;
    }
    /* Out of buffers (recycled above) or the kernel ended the multishot: re-arm. */
    if (!more) ring_recv(&w->ring, c);
}

/* ---- closing and teardown --------------------------------------------------------------- */

void ws_close(worker *w, wsconn *c) {
    if (c->state != WS_OPEN) return;
    uint8_t body[2] = {NWS_CLOSE_NORMAL >> 8, NWS_CLOSE_NORMAL & 0xFF};
    ws_send_frame(w, c, NWS_OP_CLOSE, body, sizeof body);
    c->state = WS_CLOSING;
}

void ws_kill(worker *w, wsconn *c, int err) {
    if (c->state == WS_DEAD || c->state == WS_FREE) return;
    if (err >= 0) w->errors[err]++;
    /* Still connecting: before the 101, or open but in its Socket.IO handshake. */
    if (c->state == WS_CONNECTING || c->state == WS_UPGRADING || (c->state == WS_OPEN && !c->counted_open))
        w->connecting--;
    if (c->counted_open) w->open--;
    c->counted_open = 0;
    c->state = WS_DEAD;
    free(c->hs);
    c->hs = NULL;
    if (w->sc->on_end) w->sc->on_end(w, c, 0);
    if (c->inflight > 0) ring_cancel(&w->ring, c);
    ws_release_if_idle(w, c);
}

void ws_free_buffers(wsconn *c) {
    nws_decoder_free(&c->dec);
    free(c->out.data);
    free(c->wire.data);
    free(c->hs);
    c->out = (outbuf){0};
    c->wire = (outbuf){0};
    c->hs = NULL;
    wsd_conn_free(c);
    wst_free(c);
}
