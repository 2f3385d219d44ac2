/*
 * rooms.c — the per-loop room index and room fan-out.
 *
 * A loop keeps a hash table of its rooms (chained, power-of-two buckets, FNV-1a of the name);
 * a room holds an array of its local members; a connection holds (room, index) pairs, so
 * leaving is O(rooms of that connection) with a swap-remove, and closing leaves them all.
 * A room left empty is freed at once: a million short-lived "user:<id>" rooms do not
 * accumulate.
 *
 * A broadcast to several rooms reaches each connection once: the loop numbers its
 * broadcasts and stamps each connection it queues to (conn->mark), so a member of two of
 * the rooms is seen twice but queued once. Exclusions use the same stamp, put on the
 * excluded rooms' members before the walk, so there is no cap on how many rooms are excluded.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

struct nws__room {
    nws__room *next;          /* bucket chain */
    uint64_t hash;
    nws_conn **members;
    uint32_t count, cap;
    uint32_t name_len;
    char name[];
};

static uint64_t hash_name(const char *name, size_t len) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)name[i]) * 0x100000001b3ull;
    return h;
}

static nws__room *find_room(nws_loop *loop, const char *name, size_t len, uint64_t hash) {
    if (loop->room_buckets == NULL) return NULL;
    for (nws__room *r = loop->room_buckets[hash & loop->room_bucket_mask]; r != NULL; r = r->next) {
        if (r->hash == hash && r->name_len == len && memcmp(r->name, name, len) == 0) return r;
    }
    return NULL;
}

static int grow_buckets(nws_loop *loop) {
    uint32_t old = loop->room_buckets ? loop->room_bucket_mask + 1 : 0;
    uint32_t size = old ? old * 2 : 64;
    nws__room **buckets = calloc(size, sizeof *buckets);
    if (buckets == NULL) return NWS_ENOMEM;
    for (uint32_t i = 0; i < old; i++) {
        nws__room *r = loop->room_buckets[i];
        while (r != NULL) {
            nws__room *next = r->next;
            r->next = buckets[r->hash & (size - 1)];
            buckets[r->hash & (size - 1)] = r;
            r = next;
        }
    }
    free(loop->room_buckets);
    loop->room_buckets = buckets;
    loop->room_bucket_mask = size - 1;
    return 0;
}

static nws__room *create_room(nws_loop *loop, const char *name, size_t len, uint64_t hash) {
    if ((loop->room_buckets == NULL || loop->room_total > loop->room_bucket_mask) && grow_buckets(loop) != 0)
        return NULL;
    nws__room *r = calloc(1, sizeof *r + len);
    if (r == NULL) return NULL;
    r->hash = hash;
    r->name_len = (uint32_t)len;
    memcpy(r->name, name, len);
    nws__room **bucket = &loop->room_buckets[hash & loop->room_bucket_mask];
    r->next = *bucket;
    *bucket = r;
    loop->room_total++;
    return r;
}

static void destroy_room(nws_loop *loop, nws__room *r) {
    nws__room **p = &loop->room_buckets[r->hash & loop->room_bucket_mask];
    while (*p != r) p = &(*p)->next;
    *p = r->next;
    loop->room_total--;
    free(r->members);
    free(r);
}

static int conn_membership(const nws_conn *c, const nws__room *r) {
    for (uint32_t i = 0; i < c->room_count; i++) {
        if (c->rooms[i].room == r) return (int)i;
    }
    return -1;
}

static int join_here(nws_loop *loop, nws_conn *c, const char *name, size_t len) {
    uint64_t hash = hash_name(name, len);
    nws__room *r = find_room(loop, name, len, hash);
    if (r != NULL && conn_membership(c, r) >= 0) return 0;
    if (r == NULL && (r = create_room(loop, name, len, hash)) == NULL) return NWS_ENOMEM;
    if (r->count == r->cap) {
        uint32_t cap = r->cap ? r->cap * 2 : 4;
        nws_conn **members = realloc(r->members, cap * sizeof *members);
        if (members == NULL) goto fail;
        r->members = members;
        r->cap = cap;
    }
    if (c->room_count == c->room_cap) {
        uint32_t cap = c->room_cap ? c->room_cap * 2 : 2;
        nws__membership *rooms = realloc(c->rooms, cap * sizeof *rooms);
        if (rooms == NULL) goto fail;
        c->rooms = rooms;
        c->room_cap = cap;
    }
    c->rooms[c->room_count++] = (nws__membership){r, r->count};
    r->members[r->count++] = c;
    return 0;
fail:
    if (r->count == 0) destroy_room(loop, r);
    return NWS_ENOMEM;
}

/* Removes membership i of c: swap-remove in the room, and in the connection's list. */
static void leave_at(nws_loop *loop, nws_conn *c, uint32_t i) {
    nws__room *r = c->rooms[i].room;
    uint32_t at = c->rooms[i].index;
    nws_conn *moved = r->members[--r->count];
    if (moved != c) {
        r->members[at] = moved;
        moved->rooms[conn_membership(moved, r)].index = at;
    }
    c->rooms[i] = c->rooms[--c->room_count];
    if (r->count == 0) destroy_room(loop, r);
}

static int leave_here(nws_loop *loop, nws_conn *c, const char *name, size_t len) {
    nws__room *r = find_room(loop, name, len, hash_name(name, len));
    int i = r ? conn_membership(c, r) : -1;
    if (i >= 0) leave_at(loop, c, (uint32_t)i);
    return 0;
}

void nws__rooms_leave_all(nws_loop *loop, nws_conn *c) {
    while (c->room_count > 0) leave_at(loop, c, c->room_count - 1);
    free(c->rooms);
    c->rooms = NULL;
    c->room_cap = 0;
}

void nws__rooms_free(nws_loop *loop) {
    for (uint32_t i = 0; loop->room_buckets && i <= loop->room_bucket_mask; i++) {
        while (loop->room_buckets[i] != NULL) destroy_room(loop, loop->room_buckets[i]);
    }
    free(loop->room_buckets);
    loop->room_buckets = NULL;
}

/* ---- fan-out on one loop ---- */

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
        nws__room *r = find_room(loop, except[i].name, except[i].len, hash_name(except[i].name, except[i].len));
        for (uint32_t k = 0; r != NULL && k < r->count; k++) r->members[k]->mark = seq;
    }
    nws_conn *skip = except_id ? nws__loop_conn(loop, except_id) : NULL;
    if (skip != NULL) skip->mark = seq;
    nws__fanout fanout = nws__fanout_begin(loop);
    if (count == 0) {
        for (uint32_t s = 0; s < loop->slot_cap; s++) {
            nws_conn *c = loop->slots[s];
            if (c == NULL || c->mark == seq || c->state != NWS__OPEN) continue;
            nws__fanout_send(&fanout, c, m, flags);
        }
    }
    for (size_t i = 0; i < count; i++) {
        nws__room *r = find_room(loop, rooms[i].name, rooms[i].len, hash_name(rooms[i].name, rooms[i].len));
        for (uint32_t k = 0; r != NULL && k < r->count; k++) {
            nws_conn *c = r->members[k];
            if (c->mark == seq) continue;   /* excluded, or reached through an earlier room */
            c->mark = seq;
            nws__fanout_send(&fanout, c, m, flags);
        }
    }
    return nws__fanout_end(&fanout);
}

long nws_room_local_size(nws_server *s, const char *room, size_t len) {
    nws_loop *loop = nws__current_loop;
    if (loop == NULL || loop->server != s) return -1;
    nws__room *r = find_room(loop, room, len, hash_name(room, len));
    return r ? (long)r->count : 0;
}

/* ---- posting from other threads ---- */

typedef struct room_change {
    nws_conn_id id;
    int join;
    size_t len;
    char name[];
} room_change;

static void run_room_change(nws_loop *loop, void *payload) {
    room_change *op = payload;
    nws_conn *c = nws__loop_conn(loop, op->id);
    if (c == NULL) return;
    if (op->join) join_here(loop, c, op->name, op->len);
    else leave_here(loop, c, op->name, op->len);
}

static int room_call(nws_server *s, nws_conn_id id, const char *name, size_t len, int join) {
    if (len == 0 || name == NULL) return NWS_EINVAL;
    int index = nws_conn_loop(id);
    if (index >= s->loop_count) return NWS_ESTALE;
    nws_loop *loop = &s->loops[index];
    if (nws__current_loop == loop) {
        nws_conn *c = nws__loop_conn(loop, id);
        if (c == NULL) return NWS_ESTALE;
        return join ? join_here(loop, c, name, len) : leave_here(loop, c, name, len);
    }
    room_change *op = nws__task_new(sizeof *op + len, run_room_change);
    if (op == NULL) return NWS_ENOMEM;
    op->id = id;
    op->join = join;
    op->len = len;
    memcpy(op->name, name, len);
    return nws__task_post(loop, op);
}

int nws_room_join(nws_server *s, nws_conn_id id, const char *room, size_t len) { return room_call(s, id, room, len, 1); }
int nws_room_leave(nws_server *s, nws_conn_id id, const char *room, size_t len) { return room_call(s, id, room, len, 0); }

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
