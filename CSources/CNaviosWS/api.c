/*
 * api.c — the thread-safe entry points: send, close, broadcast, post.
 *
 * On the loop thread that owns a connection each call acts at once. From any other thread
 * it becomes a task in the owning loop's inbox: a send carries its bytes, framed by the loop
 * (which knows whether the connection speaks Engine.IO); a broadcast is split into one task per
 * loop carrying that loop's ids and a reference to the one framed buffer.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static nws_loop *owning_loop(nws_server *s, nws_conn_id id) {
    int index = nws_conn_loop(id);
    return index < s->loop_count ? &s->loops[index] : NULL;
}

int nws_loop_current(const nws_server *s) {
    nws_loop *loop = nws__current_loop;
    return loop != NULL && loop->server == s ? loop->index : -1;
}

/* nws_loop_post's task: the application's function and its argument. */
typedef struct posted {
    void (*fn)(void *);
    void *arg;
} posted;

static void run_posted(nws_loop *loop, void *payload) {
    (void)loop;
    posted *p = payload;
    p->fn(p->arg);
}

int nws_loop_post(nws_server *s, int loop, void (*fn)(void *arg), void *arg) {
    if (loop < 0 || loop >= s->loop_count || fn == NULL) return NWS_EINVAL;
    posted *p = nws__task_new(sizeof *p, run_posted);
    if (p == NULL) return NWS_ENOMEM;
    *p = (posted){fn, arg};
    return nws__task_post(&s->loops[loop], p);
}

/* ---- messages ---- */

/* A text for Engine.IO connections is a message packet: '4', then the text. */
static nws_msg *msg_create(int opcode, const void *data, size_t len, int engine_io) {
    size_t prefix = engine_io && opcode == NWS_OP_TEXT;
    if (len > UINT32_MAX - NWS_FRAME_HEADER_MAX - sizeof(nws_msg) - 1) return NULL;
    uint8_t header[NWS_FRAME_HEADER_MAX];
    size_t hlen = nws_frame_header(header, (uint8_t)opcode, 1, 0, prefix + len, NULL);
    nws_msg *m = malloc(sizeof(nws_msg) + hlen + prefix + len);
    if (m == NULL) return NULL;
    atomic_init(&m->buf.refs, 1);
    m->buf.cap = m->buf.len = (uint32_t)(hlen + prefix + len);
    m->buf.pooled = NWS__POOL_MSG;
    atomic_init(&m->deflated, NULL);
    m->buf.engine_io = (uint16_t)(engine_io != 0);
    memcpy(m->buf.data, header, hlen);
    if (prefix) m->buf.data[hlen] = '4';
    if (len) memcpy(m->buf.data + hlen + prefix, data, len);
    return m;
}

nws_msg *nws_msg_create(int opcode, const void *data, size_t len) {
    return msg_create(opcode, data, len, 0);
}

nws_msg *nws_msg_create_engine_io(int opcode, const void *data, size_t len) {
    return msg_create(opcode, data, len, 1);
}

void nws_msg_release(nws_msg *m) {
    if (m != NULL) nws__buf_release(NULL, &m->buf);
}

/* ---- send and close from another thread ---- */

/* The bytes travel with the task and are framed on the loop, which knows what the connection
 * speaks (an Engine.IO text gets its '4' there). */
typedef struct remote_send {
    nws_conn_id id;
    int opcode;
    unsigned flags;
    size_t len;
    uint8_t data[];
} remote_send;

static void run_remote_send(nws_loop *loop, void *payload) {
    remote_send *op = payload;
    nws_conn *c = nws__loop_conn(loop, op->id);
    if (c != NULL) nws__conn_send(loop, c, op->opcode, op->data, op->len, op->flags);
}

/* Out of line, so that a send on the connection's own thread saves no registers for it. */
__attribute__((noinline)) static int post_send(nws_loop *loop, nws_conn_id id, int opcode, const void *data,
                                               size_t len, unsigned flags) {
    if (len > UINT32_MAX - NWS_FRAME_HEADER_MAX - 1) return NWS_ETOOBIG;
    remote_send *op = nws__task_new(sizeof *op + len, run_remote_send);
    if (op == NULL) return NWS_ENOMEM;
    *op = (remote_send){id, opcode, flags, len};
    if (len) memcpy(op->data, data, len);
    return nws__task_post(loop, op);
}

int nws_send(nws_server *s, nws_conn_id id, int opcode, const void *data, size_t len, unsigned flags) {
    nws_loop *loop = owning_loop(s, id);
    if (loop == NULL) return NWS_ESTALE;
    if (nws__current_loop != loop) return post_send(loop, id, opcode, data, len, flags);
    nws_conn *c = nws__loop_conn(loop, id);
    return c ? nws__conn_send(loop, c, opcode, data, len, flags) : NWS_ESTALE;
}

/* The connection of id when the caller is its loop's thread, else NULL. */
static nws_conn *own_conn(nws_server *s, nws_conn_id id) {
    nws_loop *loop = owning_loop(s, id);
    return loop != NULL && nws__current_loop == loop ? nws__loop_conn(loop, id) : NULL;
}

int nws_conn_set_user(nws_server *s, nws_conn_id id, void *user) {
    nws_conn *c = own_conn(s, id);
    if (c == NULL) return NWS_ESTALE;
    c->user = user;
    return 0;
}

void *nws_conn_user(nws_server *s, nws_conn_id id) {
    nws_conn *c = own_conn(s, id);
    return c ? c->user : NULL;
}

typedef struct remote_close {
    nws_conn_id id;
    uint16_t code;
    uint16_t reason_len;
    char reason[NWS_CONTROL_MAX - 2];
} remote_close;

static void run_remote_close(nws_loop *loop, void *payload) {
    remote_close *op = payload;
    nws_conn *c = nws__loop_conn(loop, op->id);
    if (c != NULL) nws__conn_close(loop, c, op->code, op->reason, op->reason_len);
}

int nws_close(nws_server *s, nws_conn_id id, uint16_t code, const char *reason, size_t reason_len) {
    nws_loop *loop = owning_loop(s, id);
    if (loop == NULL) return NWS_ESTALE;
    if (reason_len > NWS_CONTROL_MAX - 2) reason_len = NWS_CONTROL_MAX - 2;
    if (nws__current_loop == loop) {
        nws_conn *c = nws__loop_conn(loop, id);
        if (c == NULL) return NWS_ESTALE;
        if (c->close_sent) return NWS_ECLOSED;
        nws__conn_close(loop, c, code, reason, reason_len);
        return 0;
    }
    remote_close *op = nws__task_new(sizeof *op, run_remote_close);
    if (op == NULL) return NWS_ENOMEM;
    op->id = id;
    op->code = code;
    op->reason_len = (uint16_t)reason_len;
    if (reason_len) memcpy(op->reason, reason, reason_len);
    return nws__task_post(loop, op);
}

/* ---- broadcast ---- */

/* One loop's share of a broadcast to ids: its own ids, and a reference to the framed message. */
typedef struct id_fanout {
    nws_msg *msg;
    unsigned flags;
    size_t count;
    nws_conn_id ids[];
} id_fanout;

static int fan_out_to_ids(nws_loop *loop, nws_msg *m, const nws_conn_id *ids, size_t count, int l, unsigned flags) {
    nws__fanout fanout = nws__fanout_begin(loop, m);
    for (size_t i = 0; i < count; i++) {
        nws_conn *c = nws_conn_loop(ids[i]) == l ? nws__loop_conn(loop, ids[i]) : NULL;
        if (c != NULL) nws__fanout_send(&fanout, c, m, flags);
    }
    return nws__fanout_end(&fanout);
}

static void run_id_fanout(nws_loop *loop, void *payload) {
    id_fanout *f = payload;
    fan_out_to_ids(loop, f->msg, f->ids, f->count, loop->index, f->flags);
    nws_msg_release(f->msg);
}

int nws_broadcast(nws_server *s, nws_msg *m, const nws_conn_id *ids, size_t count, unsigned flags) {
    int queued = 0;
    nws_loop *here = nws__current_loop;
    for (int l = 0; l < s->loop_count; l++) {
        nws_loop *loop = &s->loops[l];
        size_t n = 0;
        for (size_t i = 0; i < count; i++) n += nws_conn_loop(ids[i]) == l;
        if (n == 0) continue;
        if (loop == here) {
            queued += fan_out_to_ids(loop, m, ids, count, l, flags);
            continue;
        }
        id_fanout *f = nws__task_new(sizeof *f + n * sizeof(nws_conn_id), run_id_fanout);
        if (f == NULL) return NWS_ENOMEM;
        f->flags = flags;
        f->count = 0;
        for (size_t i = 0; i < count; i++) {
            if (nws_conn_loop(ids[i]) == l) f->ids[f->count++] = ids[i];
        }
        atomic_fetch_add_explicit(&m->buf.refs, 1, memory_order_relaxed);
        f->msg = m;
        if (nws__task_post(loop, f) != 0) {
            nws_msg_release(m);
            continue;
        }
        queued += (int)n;
    }
    return queued;
}
