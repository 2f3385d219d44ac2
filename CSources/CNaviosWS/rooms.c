/*
 * rooms.c — room membership: the one record of who is in which room.
 *
 * A loop keeps a table of its rooms (chained, power-of-two buckets, FNV-1a of the name); a
 * room holds an array of its local members; a connection holds (room, index) pairs, so
 * leaving is O(rooms of that connection) with a swap-remove, and closing leaves them all.
 * A room left empty is freed at once: a million short-lived "user:<id>" rooms do not
 * accumulate.
 *
 * The server keeps a second table of the same kind, the registry: each room with a member on
 * any loop, and how many members it has in all. It is what tells the application of a
 * room's first member and its last (on_room), and what lists the rooms.
 *
 * Only a loop changes its own rooms, and it does so holding the server's rooms_lock, which
 * also guards the registry and the loops' slot tables. So a loop reads its own rooms without
 * the lock (a fan-out takes none), and any other thread may read anyone's under it. No
 * callback runs under the lock: on_room is told after it is released.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_name(const char *name, size_t len) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)name[i]) * 0x100000001b3ull;
    return h;
}

/* ---- the table ---- */

static nws__room *find_hashed(const nws__room_table *t, const char *name, size_t len, uint64_t hash) {
    if (t->buckets == NULL) return NULL;
    for (nws__room *r = t->buckets[hash & t->mask]; r != NULL; r = r->next) {
        if (r->hash == hash && r->name_len == len && memcmp(r->name, name, len) == 0) return r;
    }
    return NULL;
}

nws__room *nws__room_find(const nws__room_table *t, const char *name, size_t len) {
    return find_hashed(t, name, len, hash_name(name, len));
}

static int grow_buckets(nws__room_table *t) {
    uint32_t old = t->buckets ? t->mask + 1 : 0;
    uint32_t size = old ? old * 2 : 64;
    nws__room **buckets = calloc(size, sizeof *buckets);
    if (buckets == NULL) return NWS_ENOMEM;
    for (uint32_t i = 0; i < old; i++) {
        nws__room *r = t->buckets[i];
        while (r != NULL) {
            nws__room *next = r->next;
            r->next = buckets[r->hash & (size - 1)];
            buckets[r->hash & (size - 1)] = r;
            r = next;
        }
    }
    free(t->buckets);
    t->buckets = buckets;
    t->mask = size - 1;
    return 0;
}

static nws__room *create_room(nws__room_table *t, const char *name, size_t len, uint64_t hash) {
    if ((t->buckets == NULL || t->total > t->mask) && grow_buckets(t) != 0) return NULL;
    nws__room *r = calloc(1, sizeof *r + len);
    if (r == NULL) return NULL;
    r->hash = hash;
    r->name_len = (uint32_t)len;
    memcpy(r->name, name, len);
    nws__room **bucket = &t->buckets[hash & t->mask];
    r->next = *bucket;
    *bucket = r;
    t->total++;
    return r;
}

static void destroy_room(nws__room_table *t, nws__room *r) {
    nws__room **p = &t->buckets[r->hash & t->mask];
    while (*p != r) p = &(*p)->next;
    *p = r->next;
    t->total--;
    free(r->members);
    free(r);
}

static void free_table(nws__room_table *t) {
    for (uint32_t i = 0; t->buckets && i <= t->mask; i++) {
        while (t->buckets[i] != NULL) destroy_room(t, t->buckets[i]);
    }
    free(t->buckets);
    t->buckets = NULL;
}

/* ---- the registry: rooms with a member anywhere on the server (under rooms_lock) ---- */

/* Queues the telling of a room's first member (present = 1) or its last (0): on_room runs
 * after the lock is released (tell_room_events), so it may call anything of the server. */
static void queue_event(nws_server *s, nws__room *event, int present) {
    event->next = NULL;
    event->count = (uint32_t)present;
    if (s->room_events_tail) s->room_events_tail->next = event;
    else s->room_events = event;
    s->room_events_tail = event;
}

static int registry_add(nws_server *s, const nws__room *local) {
    nws__room *r = find_hashed(&s->registry, local->name, local->name_len, local->hash);
    if (r != NULL) {
        r->count++;
        return 0;
    }
    /* The first member: the entry, and the event that tells of it, made before either counts. */
    nws__room *event = s->cb.on_room ? calloc(1, sizeof *event + local->name_len) : NULL;
    if (s->cb.on_room && event == NULL) return NWS_ENOMEM;
    if ((r = create_room(&s->registry, local->name, local->name_len, local->hash)) == NULL) {
        free(event);
        return NWS_ENOMEM;
    }
    r->count = 1;
    if (event != NULL) {
        memcpy(event->name, local->name, local->name_len);
        event->name_len = local->name_len;
        queue_event(s, event, 1);
    }
    return 0;
}

static void registry_remove(nws_server *s, const nws__room *local) {
    nws__room *r = find_hashed(&s->registry, local->name, local->name_len, local->hash);
    if (r == NULL || --r->count > 0) return;
    /* The last member: the entry leaves the table and becomes the event that tells of it. */
    nws__room **p = &s->registry.buckets[r->hash & s->registry.mask];
    while (*p != r) p = &(*p)->next;
    *p = r->next;
    s->registry.total--;
    if (s->cb.on_room) queue_event(s, r, 0);
    else free(r);
}

/* Tells what was queued, in order, with rooms_lock released: one thread at a time (a call that
 * finds another telling leaves its events to it, and one from inside on_room returns at once). */
static void tell_room_events(nws_server *s) {
    pthread_mutex_lock(&s->rooms_lock);
    if (s->room_events_telling) {
        pthread_mutex_unlock(&s->rooms_lock);
        return;
    }
    s->room_events_telling = 1;
    nws__room *event;
    while ((event = s->room_events) != NULL) {
        s->room_events = event->next;
        if (s->room_events == NULL) s->room_events_tail = NULL;
        pthread_mutex_unlock(&s->rooms_lock);
        s->cb.on_room(s->cb.ctx, event->name, event->name_len, (int)event->count);
        free(event);
        pthread_mutex_lock(&s->rooms_lock);
    }
    s->room_events_telling = 0;
    pthread_mutex_unlock(&s->rooms_lock);
}

/* Releases rooms_lock, then tells of the rooms the change started or ended, if any. */
static void unlock_and_tell(nws_server *s) {
    int queued = s->room_events != NULL;
    pthread_mutex_unlock(&s->rooms_lock);
    if (queued) tell_room_events(s);
}

/* ---- membership, on the loop that owns the connection (under rooms_lock) ---- */

static int conn_membership(const nws_conn *c, const nws__room *r) {
    const nws__conn_cold *k = c->cold;
    for (uint32_t i = 0; k != NULL && i < k->room_count; i++) {
        if (k->rooms[i].room == r) return (int)i;
    }
    return -1;
}

static int reserve(void **array, uint32_t *cap, uint32_t count, size_t item, uint32_t first) {
    if (count < *cap) return 0;
    uint32_t grown = *cap ? *cap * 2 : first;
    void *more = realloc(*array, grown * item);
    if (more == NULL) return NWS_ENOMEM;
    *array = more;
    *cap = grown;
    return 0;
}

/* Room for one more of the connection's rooms: the first in first_room, more in an array. */
static int reserve_membership(nws__conn_cold *k) {
    if (k->room_count < k->room_cap) return 0;
    if (k->room_cap == 0) {
        k->rooms = &k->first_room;
        k->room_cap = 1;
        return 0;
    }
    int inline_list = k->rooms == &k->first_room;
    nws__membership *more = realloc(inline_list ? NULL : k->rooms, 2 * (size_t)k->room_cap * sizeof *more);
    if (more == NULL) return NWS_ENOMEM;
    if (inline_list) more[0] = k->first_room;
    k->rooms = more;
    k->room_cap *= 2;
    return 0;
}

static int join_locked(nws_loop *loop, nws_conn *c, const char *name, size_t len) {
    uint64_t hash = hash_name(name, len);
    nws__room *r = find_hashed(&loop->rooms, name, len, hash);
    if (r != NULL && conn_membership(c, r) >= 0) return 0;
    if (!c->opened) return NWS_ESTALE;   /* reported closed: it is leaving its rooms, not joining */
    nws__conn_cold *k = nws__conn_cold_get_locked(c);
    if (k == NULL) return NWS_ENOMEM;
    uint32_t limit = loop->server->config.max_rooms_per_conn;
    if (limit != 0 && k->room_count >= limit) return NWS_ELIMIT;
    if (r == NULL && (r = create_room(&loop->rooms, name, len, hash)) == NULL) return NWS_ENOMEM;
    if (reserve((void **)&r->members, &r->cap, r->count, sizeof *r->members, 4) != 0 ||
        reserve_membership(k) != 0 ||
        registry_add(loop->server, r) != 0) {
        if (r->count == 0) destroy_room(&loop->rooms, r);
        return NWS_ENOMEM;
    }
    k->rooms[k->room_count++] = (nws__membership){r, r->count};
    r->members[r->count++] = c;
    return 0;
}

/* Removes membership i of c: swap-remove in the room, and in the connection's list. */
static void leave_at(nws_loop *loop, nws_conn *c, uint32_t i) {
    nws__conn_cold *k = c->cold;
    nws__room *r = k->rooms[i].room;
    uint32_t at = k->rooms[i].index;
    nws_conn *moved = r->members[--r->count];
    if (moved != c) {
        r->members[at] = moved;
        moved->cold->rooms[conn_membership(moved, r)].index = at;
    }
    k->rooms[i] = k->rooms[--k->room_count];
    registry_remove(loop->server, r);
    if (r->count == 0) destroy_room(&loop->rooms, r);
}

/* A connection in no room keeps no list. */
static void drop_list_if_empty(nws__conn_cold *k) {
    if (k == NULL || k->room_count > 0) return;
    if (k->rooms != &k->first_room) free(k->rooms);
    k->rooms = NULL;
    k->room_cap = 0;
}

static int leave_locked(nws_loop *loop, nws_conn *c, const char *name, size_t len) {
    nws__room *r = nws__room_find(&loop->rooms, name, len);
    int i = r ? conn_membership(c, r) : -1;
    if (i >= 0) leave_at(loop, c, (uint32_t)i);
    drop_list_if_empty(c->cold);
    return 0;
}

static int change_here(nws_loop *loop, nws_conn *c, const char *name, size_t len, int join) {
    pthread_mutex_lock(&loop->server->rooms_lock);
    int rc = join ? join_locked(loop, c, name, len) : leave_locked(loop, c, name, len);
    nws__conn_cold_trim_locked(c);   /* a refused join or the last leave may leave it empty */
    unlock_and_tell(loop->server);
    return rc;
}

void nws__rooms_leave_all(nws_loop *loop, nws_conn *c) {
    nws__conn_cold *k = c->cold;
    if (k == NULL) return;
    if (k->room_count > 0) {
        pthread_mutex_lock(&loop->server->rooms_lock);
        while (k->room_count > 0) leave_at(loop, c, k->room_count - 1);
        unlock_and_tell(loop->server);
    }
    drop_list_if_empty(k);
}

void nws__rooms_free(nws_loop *loop) { free_table(&loop->rooms); }
void nws__registry_free(nws_server *s) {
    free_table(&s->registry);
    while (s->room_events != NULL) {   /* told to no one: the server is going */
        nws__room *event = s->room_events;
        s->room_events = event->next;
        free(event);
    }
    s->room_events_tail = NULL;
}

/* ---- joining and leaving from any thread ---- */

typedef struct room_change {
    nws_conn_id id;
    int join;
    size_t len;
    char name[];
} room_change;

static void run_room_change(nws_loop *loop, void *payload) {
    room_change *op = payload;
    nws_conn *c = nws__loop_conn(loop, op->id);
    if (c != NULL) change_here(loop, c, op->name, op->len, op->join);
}

static int room_call(nws_server *s, nws_conn_id id, const char *name, size_t len, int join) {
    if (len == 0 || name == NULL) return NWS_EINVAL;
    int index = nws_conn_loop(id);
    if (index >= s->loop_count) return NWS_ESTALE;
    nws_loop *loop = &s->loops[index];
    if (nws__current_loop == loop) {
        nws_conn *c = nws__loop_conn(loop, id);
        if (c == NULL) return NWS_ESTALE;
        return change_here(loop, c, name, len, join);
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

/* ---- reading, from any thread ---- */

long nws_room_local_size(nws_server *s, const char *room, size_t len) {
    nws_loop *loop = nws__current_loop;
    if (loop == NULL || loop->server != s) return -1;
    nws__room *r = nws__room_find(&loop->rooms, room, len);
    return r ? (long)r->count : 0;
}

/* The connection of id for a reader under rooms_lock: the slot table and a connection's id
 * change only under it (conn.c), and a connection is freed only after its slot is cleared. */
static const nws_conn *conn_locked(nws_server *s, nws_conn_id id) {
    int index = nws_conn_loop(id);
    if (index >= s->loop_count) return NULL;
    return nws__slot_conn(&s->loops[index], nws__id_slot(id), nws__id_gen(id));
}

int nws_conn_rooms(nws_server *s, nws_conn_id id, nws_room_name_fn each, void *ctx) {
    pthread_mutex_lock(&s->rooms_lock);
    const nws_conn *c = conn_locked(s, id);
    const nws__conn_cold *k = c != NULL ? c->cold : NULL;
    for (uint32_t i = 0; k != NULL && i < k->room_count; i++) {
        each(ctx, k->rooms[i].room->name, k->rooms[i].room->name_len, 1);
    }
    pthread_mutex_unlock(&s->rooms_lock);
    return c != NULL ? 0 : NWS_ESTALE;
}

void nws_room_members(nws_server *s, const char *room, size_t len, nws_room_member_fn each, void *ctx) {
    pthread_mutex_lock(&s->rooms_lock);
    for (int l = 0; l < s->loop_count; l++) {
        nws_loop *loop = &s->loops[l];
        nws__room *r = nws__room_find(&loop->rooms, room, len);
        for (uint32_t k = 0; r != NULL && k < r->count; k++) each(ctx, nws__make_id(l, r->members[k]->slot, r->members[k]->gen));
    }
    pthread_mutex_unlock(&s->rooms_lock);
}

void nws_room_list(nws_server *s, nws_room_name_fn each, void *ctx) {
    pthread_mutex_lock(&s->rooms_lock);
    const nws__room_table *t = &s->registry;
    for (uint32_t i = 0; t->buckets && i <= t->mask; i++) {
        for (const nws__room *r = t->buckets[i]; r != NULL; r = r->next) each(ctx, r->name, r->name_len, r->count);
    }
    pthread_mutex_unlock(&s->rooms_lock);
}
