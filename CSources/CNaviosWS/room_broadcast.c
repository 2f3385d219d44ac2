/*
 * room_broadcast.c — one framed message to the members of some rooms, each reached once.
 *
 * Every loop walks its own members (rooms.c keeps them), so a broadcast from another thread
 * is posted to each loop with the room names copied. A member of several of the rooms is
 * seen several times but queued once: the loop numbers its broadcasts and stamps each
 * connection it queues to (conn->mark). Exclusions use the same stamp, put on the excluded
 * rooms' members before the walk, so there is no cap on how many rooms are excluded.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* A number no connection of the loop carries in its mark yet (0 is every new connection's). */
static uint32_t next_broadcast_seq(nws_loop *loop) {
    uint32_t seq = ++loop->broadcast_seq;
    return seq != 0 ? seq : ++loop->broadcast_seq;
}

static int fan_out_here(nws_loop *loop, nws_msg *m, const nws_room_ref *rooms, size_t count,
                        const nws_room_ref *except, size_t except_count, nws_conn_id except_id, unsigned flags) {
    uint32_t seq = next_broadcast_seq(loop);
    /* Whoever must not get the message is stamped before the walk, which skips every stamped
     * connection: any number of excluded rooms costs one pass over their members, no more. */
    for (size_t i = 0; i < except_count; i++) {
        nws__room *r = nws__room_find(&loop->rooms, except[i].name, except[i].len);
        for (uint32_t k = 0; r != NULL && k < r->count; k++) r->members[k]->mark = seq;
    }
    nws_conn *skip = except_id ? nws__loop_conn(loop, except_id) : NULL;
    if (skip != NULL) skip->mark = seq;
    nws__fanout fanout = nws__fanout_begin(loop, m);
    if (count == 0) {
        for (uint32_t s = 0; s < loop->slot_cap; s++) {
            nws_conn *c = loop->slots[s];
            if (c == NULL || c->mark == seq || c->state != NWS__OPEN) continue;
            nws__fanout_send(&fanout, c, m, flags);
        }
    }
    for (size_t i = 0; i < count; i++) {
        nws__room *r = nws__room_find(&loop->rooms, rooms[i].name, rooms[i].len);
        for (uint32_t k = 0; r != NULL && k < r->count; k++) {
            nws_conn *c = r->members[k];
            if (c->mark == seq) continue;   /* excluded, or reached through an earlier room */
            c->mark = seq;
            nws__fanout_send(&fanout, c, m, flags);
        }
    }
    return nws__fanout_end(&fanout);
}


/* A room broadcast posted to one loop: the room refs point into the names after them, copied
 * with the task. */
typedef struct room_fanout {
    nws_msg *msg;
    unsigned flags;
    nws_conn_id except_id;
    size_t count, except_count;
    nws_room_ref refs[];      /* count rooms, then except_count excluded rooms; then the names */
} room_fanout;

static void run_room_fanout(nws_loop *loop, void *payload) {
    room_fanout *f = payload;
    fan_out_here(loop, f->msg, f->refs, f->count, f->refs + f->count, f->except_count, f->except_id, f->flags);
    nws_msg_release(f->msg);
}

static room_fanout *copy_fanout(nws_msg *m, const nws_room_ref *rooms, size_t count,
                                const nws_room_ref *except, size_t except_count, nws_conn_id except_id, unsigned flags) {
    size_t bytes = 0;
    for (size_t i = 0; i < count; i++) bytes += rooms[i].len;
    for (size_t i = 0; i < except_count; i++) bytes += except[i].len;
    size_t n = count + except_count;
    room_fanout *f = nws__task_new(sizeof *f + n * sizeof(nws_room_ref) + bytes, run_room_fanout);
    if (f == NULL) return NULL;
    char *at = (char *)(f->refs + n);
    for (size_t i = 0; i < n; i++) {
        const nws_room_ref *src = i < count ? &rooms[i] : &except[i - count];
        memcpy(at, src->name, src->len);
        f->refs[i] = (nws_room_ref){at, src->len};
        at += src->len;
    }
    f->msg = m;
    f->flags = flags;
    f->except_id = except_id;
    f->count = count;
    f->except_count = except_count;
    atomic_fetch_add_explicit(&m->buf.refs, 1, memory_order_relaxed);
    return f;
}

int nws_room_broadcast(nws_server *s, nws_msg *m, const nws_room_ref *rooms, size_t count,
                       const nws_room_ref *except, size_t except_count, nws_conn_id except_id, unsigned flags) {
    int result = 0;
    for (int l = 0; l < s->loop_count; l++) {
        nws_loop *loop = &s->loops[l];
        if (loop == nws__current_loop) {
            result += fan_out_here(loop, m, rooms, count, except, except_count, except_id, flags);
            continue;
        }
        room_fanout *f = copy_fanout(m, rooms, count, except, except_count, except_id, flags);
        if (f == NULL) return NWS_ENOMEM;
        if (nws__task_post(loop, f) != 0) {
            nws_msg_release(m);
            continue;
        }
        result++;
    }
    return result;
}
