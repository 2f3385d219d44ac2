/*
 * conn.c — one connection's life once accepted, independent of the I/O backend: frames in,
 * control frames, the close handshake, heartbeat and timeouts, backpressure on sends. The
 * HTTP request before the upgrade, and every HTTP answer, are upgrade.c's.
 *
 * Backends feed bytes in (nws__conn_on_data) and report EOF and drained queues; this file
 * decides what to send and when to tear down, and the backend does the I/O. Nothing here
 * frees a connection while a callback may still hold its id: teardown is handed to the
 * backend, which frees once no I/O refers to the connection any more.
 */
#include "internal.h"
#include "nws_utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>



void nws__conn_mark_dirty(nws_loop *loop, nws_conn *c) {
    if (c->dirty) return;
    c->dirty = 1;
    c->dirty_next = loop->dirty;
    loop->dirty = c;
}

static inline void count(_Atomic uint64_t *counter, uint64_t n) { nws__stat_add(counter, n); }

/* ---- timers ---- */

static nws__liveness liveness_of(const nws_loop *loop, const nws_conn *c) {
    return (nws__liveness){c->state, c->awaiting_pong, nws__ms_from32(loop->now_ms, c->last_in_ms),
                           nws__ms_from32(loop->now_ms, c->ping_sent_ms), c->eio};
}

static void schedule_open_timer(nws_loop *loop, nws_conn *c) {
    nws__liveness l = liveness_of(loop, c);
    uint64_t deadline = nws__liveness_deadline(&l, cfg(loop));
    if (deadline == UINT64_MAX) nws__wheel_cancel(&loop->wheel, &c->timer);
    else nws__wheel_set(&loop->wheel, &c->timer, deadline);
}

/* The upgrade succeeded (upgrade.c): frames from now on, and the connection's timers. */
void nws__conn_opened(nws_loop *loop, nws_conn *c) {
    const nws_server_config *k = cfg(loop);
    nws_decoder_limits limits = {.max_frame = k->max_frame, .max_message = k->max_message, .require_mask = 1,
                                 .allow_rsv1 = c->deflate != 0};
    nws_decoder_init(&c->decoder, &limits);
    c->state = NWS__OPEN;
    c->opened = 1;
    c->ping_sent_ms = nws__ms32(loop->now_ms);
    nws__stat_add(&loop->stats.open, 1);
    schedule_open_timer(loop, c);
}

/* ---- accept ---- */

/* Other threads find connections by slot under rooms_lock (rooms.c), so the table changes
 * under it; the loop itself reads it without. */
static void set_slot(nws_loop *loop, uint32_t slot, nws_conn *c) {
    pthread_mutex_lock(&loop->server->rooms_lock);
    loop->slots[slot] = c;
    pthread_mutex_unlock(&loop->server->rooms_lock);
}

static int slot_alloc(nws_loop *loop, uint32_t *slot) {
    if (loop->free_count > 0) {
        *slot = loop->free_slots[--loop->free_count];
        return 0;
    }
    uint32_t old = loop->slot_cap, cap = old ? old * 2 : 256;
    if (cap > NWS__MAX_SLOTS) return NWS_ENOMEM;
    uint32_t *gens = realloc(loop->generations, cap * sizeof *gens);
    if (gens == NULL) return NWS_ENOMEM;
    loop->generations = gens;
    uint32_t *free_slots = realloc(loop->free_slots, cap * sizeof *free_slots);
    if (free_slots == NULL) return NWS_ENOMEM;
    loop->free_slots = free_slots;
    /* The slot table is built whole, then swapped in with its size under rooms_lock: other
     * threads read it under that lock (rooms.c), and never see a half-filled table. */
    nws_conn **slots = calloc(cap, sizeof *slots);
    if (slots == NULL) return NWS_ENOMEM;
    if (old) memcpy(slots, loop->slots, old * sizeof *slots);
    for (uint32_t i = old; i < cap; i++) gens[i] = 0;
    pthread_mutex_lock(&loop->server->rooms_lock);
    nws_conn **previous = loop->slots;
    loop->slots = slots;
    loop->slot_cap = cap;
    pthread_mutex_unlock(&loop->server->rooms_lock);
    free(previous);
    /* Lowest slots on top of the stack, so ids stay small and slots warm. */
    for (uint32_t i = cap; i > old + 1; i--) free_slots[loop->free_count++] = i - 1;
    *slot = old;
    return 0;
}

/* A connection in a new slot, with a new generation. */
static nws_conn *conn_new(nws_loop *loop, int fd) {
    uint32_t slot;
    nws_conn *c = NULL;
    if (loop->stopping || slot_alloc(loop, &slot) != 0) return NULL;
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        loop->free_slots[loop->free_count++] = slot;
        return NULL;
    }
    c->fd = fd;
    c->slot = slot;
    /* Generation 0 is never used, so an id of 0 is never valid. */
    c->gen = ++loop->generations[slot];
    if (c->gen == 0) c->gen = ++loop->generations[slot];
    c->state = NWS__HANDSHAKE;
    c->last_in_ms = nws__ms32(loop->now_ms);
    set_slot(loop, slot, c);
    loop->conn_count++;
    return c;
}

nws_conn *nws__conn_new_virtual(nws_loop *loop) {
    return conn_new(loop, -1);
}

/* A TLS session that moved here with its socket; its records wait in its queue. */
static void adopt_tls(nws_loop *loop, nws_conn *c, nws__tls_conn *tls) {
    c->tls = tls;
    uint64_t waiting = 0;
    for (nws__seg *s = tls->wire_head; s != NULL; s = s->next) waiting += s->len;
    c->queued += waiting;
    nws__stat_add(&loop->stats.queued, waiting);
    if (waiting) nws__conn_mark_dirty(loop, c);
}

static nws_conn *accept_with(nws_loop *loop, int fd, nws__tls_conn *tls) {
    nws_conn *c = conn_new(loop, fd);
    if (c == NULL) return NULL;
    if (tls != NULL) adopt_tls(loop, c, tls);
    else if (loop->server->tls_contexts != NULL && nws__tls_accept(loop, c) != 0) {
        nws__conn_abort(loop, c, 0);
        return NULL;
    }
    count(&loop->stats.accepted, 1);
    nws__wheel_set(&loop->wheel, &c->timer, loop->now_ms + cfg(loop)->handshake_timeout_ms);
    if (loop->backend->conn_added(loop, c) != 0) {
        nws__conn_abort(loop, c, 0);
        return NULL;
    }
    return c;
}

nws_conn *nws__conn_accepted(nws_loop *loop, int fd) { return accept_with(loop, fd, NULL); }

nws_conn *nws__conn_adopted(nws_loop *loop, int fd, nws__tls_conn *tls) { return accept_with(loop, fd, tls); }

/* ---- sending ---- */

/* A frame of n bytes is in c's queue: counted, and c is flushed at the end of the iteration. */
static inline int queued(nws_loop *loop, nws_conn *c, size_t n) {
    count(&loop->stats.messages_out, 1);
    count(&loop->stats.bytes_out, n);
    nws__conn_mark_dirty(loop, c);
    return 0;
}

/* A frame of data queued for c: the header is written straight into the queue, in front of
 * the copied payload. small: a frame that comes by the thousand at once (a close), which
 * takes a small buffer where it fits (nws__sendq_reserve_small). */
__attribute__((always_inline)) static inline int put_frame(nws_loop *loop, nws_conn *c, int opcode, const void *data,
                                                           size_t len, int small) {
    size_t hlen = nws__frame_header_len(len);
    uint8_t *dst = small ? nws__sendq_reserve_small(loop, c, hlen + len) : nws__sendq_room(loop, c, hlen + len);
    if (dst == NULL && !small) dst = nws__sendq_reserve(loop, c, hlen + len);
    if (dst == NULL) return NWS_ENOMEM;
    nws__put_frame_header(dst, opcode, 0, len);
    if (len) memcpy(dst + hlen, data, len);
    return queued(loop, c, hlen + len);
}

static int queue_frame(nws_loop *loop, nws_conn *c, int opcode, const void *data, size_t len) {
    return put_frame(loop, c, opcode, data, len, 0);
}

static int queue_message_packet(nws_loop *loop, nws_conn *c, const void *data, size_t len);

/* Whether a message for c is compressed: it negotiated permessage-deflate and the message
 * reaches the threshold. */
static inline int compresses(const nws_loop *loop, const nws_conn *c, size_t len) {
    return c->deflate != 0 && len >= cfg(loop)->deflate.threshold;
}

/* A message compressed for c (prefix: Engine.IO's '4', or none), or plain when compressing
 * did not shorten it. Inlined into the two sends that compress, both off the plain path. */
__attribute__((always_inline)) static inline int queue_compressed(nws_loop *loop, nws_conn *c, int opcode, const uint8_t *prefix,
                                                      size_t prefix_len, const void *data, size_t len) {
    ssize_t n = nws__deflate_queue(loop, c, opcode, prefix, prefix_len, data, len, 0);
    int rc = n > 0 ? queued(loop, c, (size_t)n) : (int)n;
    if (n == 0 && prefix_len == 0) rc = queue_frame(loop, c, opcode, data, len);
    else if (n == 0) rc = queue_message_packet(loop, c, data, len);
    nws__deflate_done(loop);
    return rc;
}

/* An Engine.IO text: a message packet, '4' and the text, in one frame. Apart from queue_frame,
 * and never inlined, so that plain WebSocket sends pay nothing for it (inlined, its registers
 * were saved and restored on every send). */
__attribute__((noinline)) static int queue_message_packet(nws_loop *loop, nws_conn *c, const void *data, size_t len) {
    size_t total = len + 1;
    size_t hlen = nws__frame_header_len(total);
    uint8_t *dst = nws__sendq_reserve(loop, c, hlen + total);
    if (dst == NULL) return NWS_ENOMEM;
    nws__put_frame_header(dst, NWS_OP_TEXT, 0, total);
    dst[hlen] = '4';
    if (len) memcpy(dst + hlen + 1, data, len);
    return queued(loop, c, hlen + total);
}

int nws__conn_queue(nws_loop *loop, nws_conn *c, int opcode, const void *data, size_t len) {
    /* Only Engine.IO's own packets come this way (eio.c, eio_polling.c). */
    uint64_t mark = nws__bytes_out_mark(loop);
    int rc = queue_frame(loop, c, opcode, data, len);
    nws__eio_bytes_out_since(loop, mark);
    return rc;
}

/* Applies the backpressure policy to a message of len bytes. 0 to go on. Inlined where it is
 * called: as a call it costs the plain send path its saved registers (23 instructions). */
__attribute__((always_inline)) static inline int admit(nws_loop *loop, nws_conn *c, size_t len, unsigned flags) {
    if (c->state != NWS__OPEN || c->close_sent) return NWS_ECLOSED;
    const nws_server_config *k = cfg(loop);
    /* An empty queue always takes one message, so one large message can still be sent. */
    if (c->queued == 0 || c->queued + len <= k->max_backlog) return 0;
    if ((flags & NWS_SEND_DROPPABLE) || k->backpressure_policy == NWS_BACKPRESSURE_DROP) {
        count(&loop->stats.dropped, 1);
        return NWS_EDROPPED;
    }
    if (!(flags & NWS__SEND_DEFER_CLOSE)) nws__conn_close_overflowed(loop, c);
    return NWS_EBACKPRESSURE;
}

void nws__conn_close_overflowed(nws_loop *loop, nws_conn *c) {
    count(&loop->stats.backpressure_closes, 1);
    nws__conn_close(loop, c, NWS_CLOSE_POLICY, "send queue over its limit", 25);
}

/* Where a send to an Engine.IO connection goes: itself, or the carrier of a long-polling
 * session that upgraded (whose queue the backlog policy then reads); NULL for a carrier, which
 * is not the application's to address (its session is). */
static nws_conn *engine_io_target(nws_conn *c) {
    if (c->eio == NWS__EIO_CARRIER) return NULL;
    nws__eio_session *s = c->eio == NWS__EIO_POLLING ? nws__conn_session(c) : NULL;
    if (s && s->upgraded && s->carrier) return s->carrier;
    return c;
}

/* A send to an Engine.IO connection: a text is a message packet; a long-polling session's go to
 * its carrier once it has one, else wait for a GET. Out of line: see queue_message_packet. */
__attribute__((noinline)) static int send_engine_io(nws_loop *loop, nws_conn *c, int opcode, const void *data,
                                                    size_t len, unsigned flags) {
    nws_conn *target = engine_io_target(c);
    if (target == NULL) return NWS_EINVAL;
    int rc = admit(loop, target, len, flags);
    if (rc != 0) return rc;
    count(&loop->stats.eio_messages_out, 1);
    if (target->eio == NWS__EIO_POLLING) return nws__eio_session_send(loop, target, opcode, data, len);
    uint64_t mark = nws__bytes_out_mark(loop);
    int text = opcode == NWS_OP_TEXT;
    if (compresses(loop, target, len + text) && opcode <= NWS_OP_BINARY)
        rc = queue_compressed(loop, target, opcode, (const uint8_t *)"4", (size_t)text, data, len);
    else
        rc = text ? queue_message_packet(loop, target, data, len) : queue_frame(loop, target, opcode, data, len);
    nws__eio_bytes_out_since(loop, mark);
    return rc;
}

/* A send that is not one plain frame: Engine.IO's framing, or a connection that compresses. */
int nws__conn_send_transformed(nws_loop *loop, nws_conn *c, int opcode, const void *data, size_t len,
                               unsigned flags) {
    if (len > UINT32_MAX - NWS_FRAME_HEADER_MAX - 1) return NWS_ETOOBIG;
    if (c->eio != 0) return send_engine_io(loop, c, opcode, data, len, flags);
    int rc = admit(loop, c, len, flags);
    if (rc != 0) return rc;
    if (compresses(loop, c, len) && opcode <= NWS_OP_BINARY) return queue_compressed(loop, c, opcode, NULL, 0, data, len);
    return queue_frame(loop, c, opcode, data, len);
}

int nws__conn_send_plain(nws_loop *loop, nws_conn *c, int opcode, const void *data, size_t len, unsigned flags) {
    if (len > UINT32_MAX - NWS_FRAME_HEADER_MAX - 1) return NWS_ETOOBIG;
    int rc = admit(loop, c, len, flags);
    if (rc != 0) return rc;
    return put_frame(loop, c, opcode, data, len, 0);   /* inlined: the common send */
}

/* A framed buffer shared with other queues. */
static inline int send_shared(nws_loop *loop, nws_conn *c, nws_buf *b) {
    int rc = nws__sendq_append_shared(loop, c, b);
    return rc != 0 ? rc : queued(loop, c, b->len);
}

/* A shared message to a connection that compresses: the message's one compressed frame when
 * the connection compresses without context at the full window (every shared-mode one);
 * with its own context, its own compression; plain when compressing does not shorten it. */
static int compress_msg_now(nws_loop *loop, nws_conn *c, nws_msg *m) {
    const uint8_t *frame = m->buf.data;
    if ((frame[0] & 0x0f) > NWS_OP_BINARY) return send_shared(loop, c, &m->buf);
    size_t hlen = nws__server_header_len(frame);
    if (m->buf.len - hlen < cfg(loop)->deflate.threshold) return send_shared(loop, c, &m->buf);
    if ((c->deflate & NWS__DEFLATE_SHARED_OUT) && ((c->deflate >> NWS__DEFLATE_BITS_SHIFT) & 7) == 7) {
        nws_buf *z = nws__deflate_shared_frame(loop, m);
        return send_shared(loop, c, z != NULL ? z : &m->buf);
    }
    ssize_t n = nws__deflate_queue(loop, c, frame[0] & 0x0f, NULL, 0, frame + hlen, m->buf.len - hlen, 1);
    int rc = n > 0 ? queued(loop, c, (size_t)n) : n == 0 ? send_shared(loop, c, &m->buf) : (int)n;
    nws__deflate_done(loop);
    return rc;
}

/* With its own compressor, the connection compresses at the flush (nws__deflate_defer). */
__attribute__((noinline)) static int send_msg_compressed(nws_loop *loop, nws_conn *c, nws_msg *m) {
    if (c->deflate & NWS__DEFLATE_SHARED_OUT) return compress_msg_now(loop, c, m);
    int rc = nws__deflate_defer(c, m);
    if (rc == 0) nws__conn_mark_dirty(loop, c);
    return rc;
}

void nws__conn_compress_deferred(nws_loop *loop, nws_conn *c) {
    uint32_t count;
    nws_msg *const *deferred = nws__deflate_deferred(c, &count);
    c->deflate &= (uint8_t)~NWS__DEFLATE_DEFERRED;   /* what this queues does not come back here */
    int rc = 0;
    for (uint32_t i = 0; i < count && rc == 0; i++) rc = compress_msg_now(loop, c, deferred[i]);
    nws__deflate_deferred_clear(c);
    /* The stream may hold part of a message the peer never gets: nothing after it would
     * inflate. The flush closes the connection (not here: a caller may be walking a room). */
    if (rc != 0) {
        c->deflate |= NWS__DEFLATE_FAILED;
        nws__conn_mark_dirty(loop, c);
    }
}

int nws__conn_send_msg(nws_loop *loop, nws_conn *c, nws_msg *m, unsigned flags) {
    /* A message framed for the other protocol is not this connection's: plain (eio 0) takes
     * plain, Engine.IO sessions (1, 2) take Engine.IO's, a carrier (3) takes none. */
    if (m->buf.engine_io != (c->eio + 1u) >> 1) return NWS_EINVAL;
    if (__builtin_expect(c->eio == NWS__EIO_POLLING, 0)) {
        c = engine_io_target(c);
        if (c->eio == NWS__EIO_POLLING) {
            int rc = admit(loop, c, m->buf.len, flags);
            return rc != 0 ? rc : nws__eio_session_send_msg(loop, c, m);
        }
    }
    int rc = admit(loop, c, m->buf.len, flags);
    if (rc != 0) return rc;
    if (__builtin_expect(compresses(loop, c, m->buf.len), 0)) return send_msg_compressed(loop, c, m);
    return send_shared(loop, c, &m->buf);
}

/* ---- closing ---- */

static void report_close(nws_loop *loop, nws_conn *c, uint16_t code, const uint8_t *reason, size_t len) {
    if (c->eio == NWS__EIO_CARRIER) nws__eio_carrier_closed(loop, c, code, reason, len);   /* never opened itself */
    if (!c->opened) return;
    c->opened = 0;
    /* Closing from now on, whichever side began: nothing is queued to it any more (on_close runs
     * before it leaves its rooms, and a broadcast from there must not reach it). */
    c->state = NWS__CLOSING;
    nws__stat_sub(&loop->stats.open, 1);
    /* The callback still finds the connection in its rooms (what it left, for the
     * application to tell); then no room names it any more. */
    if (cbs(loop)->on_close) cbs(loop)->on_close(cbs(loop)->ctx, conn_id(loop, c), code, reason, len);
    nws__rooms_leave_all(loop, c);
}

/* How long a closed session with no waiting GET lingers for one: the server's last packets
 * and its "1" wait for the client's next poll; after the client's own "1", a GET it sent before
 * may still be on its way (through another loop, handoff.c) and gets a noop. */
#define SESSION_LINGER_MS 1000

/* The end of a long-polling session: its GET and carrier are told, then the application. */
static void end_session(nws_loop *loop, nws_conn *c, uint16_t code, const uint8_t *reason, size_t len, int dropped) {
    /* Graceful: a normal close, going away, or an application's own code; not an error. */
    int graceful = code == NWS_CLOSE_NORMAL || code == NWS_CLOSE_GOING_AWAY || code >= 3000;
    int lingers = nws__eio_session_closing(loop, c, dropped ? NWS__EIO_END_DROPPED
                                                    : graceful ? NWS__EIO_END_GRACEFUL : NWS__EIO_END_ERROR);
    report_close(loop, c, code, reason, len);
    if (lingers && !c->close_sent) {
        c->close_sent = 1;   /* lingering: its timer (CLOSING) ends it */
        nws__wheel_set(&loop->wheel, &c->timer, loop->now_ms + SESSION_LINGER_MS);
        return;
    }
    c->dead = 1;
    nws__wheel_cancel(&loop->wheel, &c->timer);
    nws__loop_bury(loop, c);   /* no socket: nothing for a backend to stop */
}

void nws__conn_abort(nws_loop *loop, nws_conn *c, uint16_t reported_code) {
    if (c->dead) return;
    if (c->eio == NWS__EIO_POLLING) {
        end_session(loop, c, reported_code ? reported_code : NWS_CLOSE_ABNORMAL, NULL, 0, 0);
        return;
    }
    report_close(loop, c, reported_code ? reported_code : NWS_CLOSE_ABNORMAL, NULL, 0);
    /* A waiting GET that dies is no session's any more from now on, not when it is freed. */
    if (nws__conn_session(c)) nws__eio_conn_gone(loop, c);
    c->dead = 1;
    nws__wheel_cancel(&loop->wheel, &c->timer);
    loop->backend->teardown(loop, c);
}

/* Sends a close frame and starts waiting for the peer's (or its FIN), within close_timeout. */
static void send_close(nws_loop *loop, nws_conn *c, uint16_t code, const char *reason, size_t len) {
    uint8_t payload[NWS_CONTROL_MAX];
    size_t plen = nws_close_payload(payload, code, reason, len);
    c->close_sent = 1;
    c->state = NWS__CLOSING;
    /* An Engine.IO connection's frames go through nws__conn_queue, which counts them as its.
     * Others take a small buffer: a shutdown closes every connection at once, and a pooled
     * 16 KiB buffer each would be 160 MiB for 10,000 of them. */
    int rc = c->eio ? nws__conn_queue(loop, c, NWS_OP_CLOSE, payload, plen)
                    : put_frame(loop, c, NWS_OP_CLOSE, payload, plen, 1);
    if (rc != 0) {
        nws__conn_abort(loop, c, code);
        return;
    }
    nws__wheel_set(&loop->wheel, &c->timer, loop->now_ms + cfg(loop)->close_timeout_ms);
}

void nws__conn_close(nws_loop *loop, nws_conn *c, uint16_t code, const char *reason, size_t len) {
    if (c->dead || c->close_sent) return;
    /* 1006 is never sent (RFC 6455 §7.4.1): asked for, it drops the connection as a network
     * failure would, with no close frame and no Engine.IO close packet. */
    int dropped = code == NWS_CLOSE_ABNORMAL;
    if (c->eio == NWS__EIO_POLLING) {   /* (close_sent: a session lingering after the client's close) */
        end_session(loop, c, code ? code : NWS_CLOSE_NORMAL, (const uint8_t *)reason, len, dropped);
        return;
    }
    if (dropped || (c->state != NWS__OPEN && c->state != NWS__CLOSING)) {
        nws__conn_abort(loop, c, code);
        return;
    }
    if (code == 0) code = NWS_CLOSE_NORMAL;
    send_close(loop, c, code, reason, len);
    report_close(loop, c, code, (const uint8_t *)reason, len);
}

/* The peer broke the protocol: answer with the error's close code and read no further. */
void nws__conn_fail(nws_loop *loop, nws_conn *c, int err) {
    count(&loop->stats.protocol_errors, 1);
    const char *msg = nws_strerror(err);
    c->discard_input = 1;
    nws__conn_close(loop, c, nws_err_close_code(err), msg, strlen(msg));
}

static void on_close_frame(nws_loop *loop, nws_conn *c, uint16_t code, const uint8_t *reason, size_t len) {
    c->close_received = 1;
    if (!c->close_sent) {
        /* Echo the peer's code (RFC 6455 §5.5.1); an empty close is answered with an empty one. */
        report_close(loop, c, code, reason, len);
        /* Unless on_close closed it already (one close frame only). */
        if (!c->close_sent) send_close(loop, c, code == NWS_CLOSE_NO_STATUS ? 0 : code, NULL, 0);
    } else if (c->queued == 0) {
        nws__conn_sent_all(loop, c);
    }
}

void nws__conn_sent_all(nws_loop *loop, nws_conn *c) {
    if (c->dead) return;
    if (!c->close_sent && c->state != NWS__REFUSING) return;
    if (c->tls != NULL && nws__tls_close_notify(loop, c)) {
        nws__conn_mark_dirty(loop, c);   /* its close_notify goes first */
        return;
    }
    if (!c->write_shut) {
        c->write_shut = 1;
        loop->backend->shutdown_write(loop, c);
    }
    /* Both closes have crossed (or there is no WebSocket to close): nothing more to wait for. */
    if (c->close_received || c->state == NWS__REFUSING) nws__conn_abort(loop, c, 0);
}

void nws__conn_on_eof(nws_loop *loop, nws_conn *c) {
    nws__conn_abort(loop, c, NWS_CLOSE_ABNORMAL);
}

/* ---- frames ---- */

static inline void deliver_message(nws_loop *loop, nws_conn *c, int opcode, const uint8_t *data, size_t len) {
    count(&loop->stats.messages_in, 1);
    const nws_server_callbacks *cb = cbs(loop);
    if (cb->on_message) cb->on_message(cb->ctx, conn_id(loop, c), opcode, data, len, c->user);
}

void nws__conn_deliver(nws_loop *loop, nws_conn *c, int opcode, const uint8_t *data, size_t len) {
    count(&loop->stats.eio_messages_in, 1);   /* Engine.IO's own entry (eio.c, eio_polling.c) */
    deliver_message(loop, c, opcode, data, len);
}

/* A whole message: the application's, or an Engine.IO packet that eio.c reads first. */
static inline void deliver(nws_loop *loop, nws_conn *c, int opcode, const uint8_t *data, size_t len) {
    if (c->eio) nws__eio_input(loop, c, opcode, data, len);
    else deliver_message(loop, c, opcode, data, len);
}

/* A chunk of a compressed message: the message is inflated once whole (the decoder did not
 * check its text, which is compressed), then checked and delivered. */
__attribute__((noinline)) static void on_compressed_chunk(nws_loop *loop, nws_conn *c, const nws_decoded *ev) {
    const uint8_t *in = ev->data;
    size_t in_len = ev->len;
    int whole = ev->first && ev->last;
    if (!whole) {
        if (nws__message_append(loop, c, ev->data, ev->len, ev->len + c->decoder.remaining) != 0) {
            nws__conn_fail(loop, c, NWS_ENOMEM);
            return;
        }
        if (!ev->last) return;
        in = c->cold->message;
        in_len = c->cold->message_len;
    }
    const uint8_t *text;
    size_t len;
    int rc = nws__deflate_inflate(loop, c, in, in_len, &text, &len);
    if (!whole) nws__message_release(loop, c);
    if (rc == 0 && ev->opcode == NWS_OP_TEXT && !nws_utf8_valid(text, len)) rc = NWS_EUTF8;
    if (rc != 0) nws__conn_fail(loop, c, rc);
    else deliver(loop, c, ev->opcode, text, len);
    nws__deflate_done(loop);
}

static void on_data_chunk(nws_loop *loop, nws_conn *c, const nws_decoded *ev) {
    if (c->close_sent || c->close_received) return;   /* §5.5.1: nothing after a close */
    if (__builtin_expect(ev->compressed, 0)) {
        on_compressed_chunk(loop, c, ev);
        return;
    }
    if (ev->first && ev->last) {
        deliver(loop, c, ev->opcode, ev->data, ev->len);   /* whole message in this read: no copy */
        return;
    }
    /* The frame's announced length sizes the first allocation: one split frame, one buffer. */
    if (nws__message_append(loop, c, ev->data, ev->len, ev->len + c->decoder.remaining) != 0) {
        nws__conn_fail(loop, c, NWS_ENOMEM);
        return;
    }
    if (ev->last) {
        deliver(loop, c, ev->opcode, c->cold->message, c->cold->message_len);
        nws__message_release(loop, c);
    }
}

void nws__conn_pong(nws_loop *loop, nws_conn *c) {
    if (!c->awaiting_pong) return;
    c->awaiting_pong = 0;
    if (c->state == NWS__OPEN && !c->close_sent) schedule_open_timer(loop, c);
}

static void on_control(nws_loop *loop, nws_conn *c, const nws_decoded *ev) {
    switch (ev->opcode) {
    case NWS_OP_PING:
        /* Pongs meet the backlog policy like any message: a peer that pings and never reads
         * would otherwise grow the queue without bound. */
        if (admit(loop, c, ev->len, 0) != 0) break;
        if (c->eio) nws__conn_queue(loop, c, NWS_OP_PONG, ev->data, ev->len);
        else queue_frame(loop, c, NWS_OP_PONG, ev->data, ev->len);
        break;
    case NWS_OP_PONG:
        if (!c->eio) nws__conn_pong(loop, c);   /* an Engine.IO session's pong is its "3" */
        break;
    case NWS_OP_CLOSE:
        on_close_frame(loop, c, ev->close_code, ev->data, ev->len);
        break;
    }
}

void nws__conn_frames_input(nws_loop *loop, nws_conn *c, uint8_t *data, size_t len) {
    while (len > 0 && !c->dead && !c->discard_input) {
        nws_decoded ev;
        ssize_t n = nws_decode(&c->decoder, data, len, &ev);
        if (n < 0) {
            nws__conn_fail(loop, c, (int)n);
            return;
        }
        data += n;
        len -= (size_t)n;
        if (ev.kind == NWS_DECODED_DATA) on_data_chunk(loop, c, &ev);
        else if (ev.kind == NWS_DECODED_CONTROL) on_control(loop, c, &ev);
    }
}

void nws__conn_on_data(nws_loop *loop, nws_conn *c, uint8_t *data, size_t len) {
    if (c->dead) return;
    c->last_in_ms = nws__ms32(loop->now_ms);
    count(&loop->stats.bytes_in, len);
    /* Engine.IO's share: its WebSocket connections' bytes here, its HTTP requests' in eio.c. */
    if (__builtin_expect(c->eio != 0, 0)) count(&loop->stats.eio_bytes_in, len);
    if (__builtin_expect(c->tls != NULL, 0)) nws__tls_input(loop, c, data, len);
    else nws__conn_on_plain(loop, c, data, len);
}

void nws__conn_on_plain(nws_loop *loop, nws_conn *c, uint8_t *data, size_t len) {
    switch (c->state) {
    case NWS__HANDSHAKE: nws__upgrade_input(loop, c, data, len); break;
    case NWS__OPEN:
    case NWS__CLOSING: nws__conn_frames_input(loop, c, data, len); break;
    default: break;   /* refusing: the request was answered; what follows is ignored */
    }
}

/* ---- timers ---- */

void nws__conn_on_timer(nws_loop *loop, nws_conn *c) {
    nws__liveness l = liveness_of(loop, c);
    switch (nws__liveness_on_timer(&l, cfg(loop), loop->now_ms)) {
    case NWS__TIMER_HANDSHAKE_TIMEOUT:
        if (c->tls != NULL && !c->tls->established) {   /* stalled in the TLS handshake: no HTTP to answer with */
            count(&loop->stats.handshake_timeouts, 1);
            nws__conn_abort(loop, c, 0);
            return;
        }
        if (c->kept_alive && (c->cold == NULL || c->cold->http_len == 0)) {   /* an idle kept-alive connection: just closed */
            nws__conn_abort(loop, c, 0);
            return;
        }
        count(&loop->stats.handshake_timeouts, 1);
        nws__upgrade_refuse(loop, c, 408, NULL);
        return;
    case NWS__TIMER_ABORT:
        nws__conn_abort(loop, c, 0);
        return;
    case NWS__TIMER_CLOSE_IDLE:
        count(&loop->stats.idle_timeouts, 1);
        nws__conn_close(loop, c, NWS_CLOSE_GOING_AWAY, "idle timeout", 12);
        return;
    case NWS__TIMER_PONG_TIMEOUT:
        count(&loop->stats.heartbeat_timeouts, 1);
        nws__conn_abort(loop, c, NWS_CLOSE_ABNORMAL);
        return;
    case NWS__TIMER_PING:
        c->awaiting_pong = 1;
        c->ping_sent_ms = nws__ms32(nws__liveness_ping_time(&l, cfg(loop), loop->now_ms));
        if (c->eio == NWS__EIO_POLLING) nws__eio_session_packet(loop, c, '2');   /* to its GET or carrier */
        else if (c->eio) nws__conn_queue(loop, c, NWS_OP_TEXT, "2", 1);          /* Engine.IO's ping packet */
        else queue_frame(loop, c, NWS_OP_PING, NULL, 0);
        break;
    case NWS__TIMER_REARM:
        break;
    }
    schedule_open_timer(loop, c);
}

void nws__conn_catch_up(nws_loop *loop, nws_conn *c) {
    loop->now_ms = nws__now_ms();
    nws__liveness l = liveness_of(loop, c);
    if (nws__liveness_deadline(&l, cfg(loop)) <= loop->now_ms) nws__conn_on_timer(loop, c);
}

/* ---- freeing ---- */

void nws__conn_free(nws_loop *loop, nws_conn *c) {
    if (nws__conn_session(c)) nws__eio_conn_gone(loop, c);
    nws__wheel_cancel(&loop->wheel, &c->timer);
    nws__sendq_clear(loop, c);
    nws__tls_free(loop, c);
    nws__rooms_leave_all(loop, c);
    nws__message_release(loop, c);
    nws_decoder_free(&c->decoder);
    nws__deflate_conn_free(c);
    set_slot(loop, c->slot, NULL);   /* first: other threads read the cold part through the slot */
    nws__conn_cold_free(c);
    loop->free_slots[loop->free_count++] = c->slot;
    loop->conn_count--;
    free(c);
}
