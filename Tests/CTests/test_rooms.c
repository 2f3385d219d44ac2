/*
 * test_rooms.c — the room index at scale, without sockets: one loop whose I/O backend
 * completes every write at once (the index, the queues and the fan-out are the real code).
 * Proves that a room of 100,000 members gets each broadcast exactly once per member, that
 * multi-room broadcasts reach a member of several rooms once (40 rooms), that exclusions hold
 * (100 excluded rooms), and
 * that leaving and closing clean the index up (empty rooms disappear), that the server hears
 * of a room's first member and its last, that the readers other threads use see the index
 * whole while a loop changes it, and that broadcasts
 * queued behind a backlog keep their order with direct sends while being copied, not chained.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "null_loop.h"
#include "nws_test.h"

static nws_room_ref ref(const char *name) { return (nws_room_ref){name, strlen(name)}; }

static void rooms_aRoomOf100000MembersGetsEachBroadcastOncePerMember(void) {
    setup();
    enum { N = 100000 };
    nws_conn_id *ids = malloc(N * sizeof *ids);
    for (int i = 0; i < N; i++) {
        ids[i] = open_conn();
        NWS_CHECK_EQ(nws_room_join(server, ids[i], "big", 3), 0);
    }
    nws_conn_id outsider = open_conn();
    NWS_CHECK_EQ(nws_room_local_size(server, "big", 3), N);
    nws_msg *m = nws_msg_create(NWS_OP_TEXT, "hello", 5);
    nws_room_ref big = ref("big");
    NWS_CHECK_EQ(nws_room_broadcast(server, m, &big, 1, NULL, 0, 0, 0), N);
    int once = 0;
    for (int i = 0; i < N; i++) once += conn_of(ids[i])->queued == 7;   /* 2-byte header + 5 */
    NWS_CHECK_EQ(once, N);
    NWS_CHECK_EQ(conn_of(outsider)->queued, 0);
    /* One framed buffer shared by every queue, plus the caller's reference. */
    NWS_CHECK_EQ(atomic_load(&m->buf.refs), N + 1);
    nws__loop_flush_dirty(loop);
    NWS_CHECK_EQ(atomic_load(&m->buf.refs), 1);
    nws_msg_release(m);
    free(ids);
    teardown();
}

static void rooms_aMemberOfSeveralRoomsGetsOneCopyAndExclusionsHold(void) {
    setup();
    nws_conn_id a = open_conn(), b = open_conn(), c = open_conn(), d = open_conn();
    nws_room_join(server, a, "red", 3);
    nws_room_join(server, b, "red", 3);
    nws_room_join(server, b, "blue", 4);
    nws_room_join(server, c, "blue", 4);
    nws_room_join(server, d, "blue", 4);
    nws_room_join(server, d, "muted", 5);
    nws_room_join(server, a, "red", 3);   /* twice: still one membership */
    NWS_CHECK_EQ(nws_room_local_size(server, "red", 3), 2);
    nws_msg *m = nws_msg_create(NWS_OP_TEXT, "x", 1);
    nws_room_ref rooms[] = {ref("red"), ref("blue")}, except[] = {ref("muted")};
    NWS_CHECK_EQ(nws_room_broadcast(server, m, rooms, 2, except, 1, c, 0), 2);
    NWS_CHECK_EQ(conn_of(a)->queued, 3);
    NWS_CHECK_EQ(conn_of(b)->queued, 3);   /* in both rooms, queued once */
    NWS_CHECK_EQ(conn_of(c)->queued, 0);   /* the excepted id */
    NWS_CHECK_EQ(conn_of(d)->queued, 0);   /* in an excepted room */
    nws__loop_flush_dirty(loop);
    nws_msg_release(m);
    teardown();
}

static void rooms_leavingAndClosingCleanTheIndex(void) {
    setup();
    nws_conn_id a = open_conn(), b = open_conn();
    nws_room_join(server, a, "lobby", 5);
    nws_room_join(server, b, "lobby", 5);
    nws_room_join(server, b, "only-b", 6);
    NWS_CHECK_EQ(nws_room_leave(server, a, "lobby", 5), 0);
    NWS_CHECK_EQ(nws_room_leave(server, a, "lobby", 5), 0);   /* not a member: nothing */
    NWS_CHECK_EQ(nws_room_local_size(server, "lobby", 5), 1);
    uint32_t rooms_before = loop->rooms.total;
    nws__conn_abort(loop, conn_of(b), 0);                      /* b closes */
    NWS_CHECK_EQ(nws_room_local_size(server, "lobby", 5), 0);
    NWS_CHECK_EQ(nws_room_local_size(server, "only-b", 6), 0);
    NWS_CHECK_EQ(loop->rooms.total, rooms_before - 2);          /* empty rooms are freed */
    NWS_CHECK_EQ(nws_room_join(server, b, "lobby", 5), NWS_ESTALE);
    NWS_CHECK_EQ(nws_room_join(server, a, "", 0), NWS_EINVAL);
    nws__loop_tick(loop);
    teardown();
}

static void rooms_swapRemoveKeepsEveryOtherMembership(void) {
    setup();
    enum { N = 1000 };
    nws_conn_id ids[N];
    for (int i = 0; i < N; i++) {
        ids[i] = open_conn();
        nws_room_join(server, ids[i], "r", 1);
    }
    for (int i = 0; i < N; i += 2) nws_room_leave(server, ids[i], "r", 1);   /* every other one */
    NWS_CHECK_EQ(nws_room_local_size(server, "r", 1), N / 2);
    nws_msg *m = nws_msg_create(NWS_OP_TEXT, "y", 1);
    nws_room_ref r = ref("r");
    NWS_CHECK_EQ(nws_room_broadcast(server, m, &r, 1, NULL, 0, 0, 0), N / 2);
    int right = 0;
    for (int i = 0; i < N; i++) right += conn_of(ids[i])->queued == (i % 2 ? 3u : 0u);
    NWS_CHECK_EQ(right, N);
    nws__loop_flush_dirty(loop);
    nws_msg_release(m);
    teardown();
}

static size_t append_frame(uint8_t *out, size_t at, const char *text, size_t len) {
    at += nws_frame_header(out + at, NWS_OP_TEXT, 1, 0, len, NULL);
    memcpy(out + at, text, len);
    return at + len;
}

static void sendq_broadcastsBehindABacklogAreCopiedInOrderAndShareWhenTheQueueIsEmpty(void) {
    setup();
    nws_conn_id id = open_conn();
    nws_conn *c = conn_of(id);
    nws_room_join(server, id, "r", 1);
    nws_room_ref r = ref("r");
    static char large[600];
    memset(large, 'L', sizeof large);
    nws_msg *first = nws_msg_create(NWS_OP_TEXT, "first", 5);
    nws_msg *second = nws_msg_create(NWS_OP_TEXT, "second", 6);
    nws_msg *big = nws_msg_create(NWS_OP_TEXT, large, sizeof large);
    nws_msg *last = nws_msg_create(NWS_OP_TEXT, "last", 4);
    /* Nothing is flushed: the connection is behind after the first message. */
    nws_room_broadcast(server, first, &r, 1, NULL, 0, 0, 0);
    NWS_CHECK_EQ(atomic_load(&first->buf.refs), 2);        /* empty queue: a shared slice */
    NWS_CHECK(c->head == &c->first_seg);                    /* in the connection's own segment */
    nws_room_broadcast(server, second, &r, 1, NULL, 0, 0, 0);
    NWS_CHECK_EQ(atomic_load(&second->buf.refs), 1);       /* behind: copied */
    NWS_CHECK_EQ(atomic_load(&first->buf.refs), 1);        /* and the slice before it with it: one */
    NWS_CHECK(c->head == &c->first_seg && c->head == c->tail);   /* slice, one plain send */
    NWS_CHECK_EQ(nws__conn_send(loop, c, NWS_OP_TEXT, "direct", 6, 0), 0);
    nws_room_broadcast(server, big, &r, 1, NULL, 0, 0, 0);
    NWS_CHECK_EQ(atomic_load(&big->buf.refs), 2);          /* large: shared even when behind */
    nws_room_broadcast(server, last, &r, 1, NULL, 0, 0, 0);
    static uint8_t want[2048], got[8192];
    size_t want_len = append_frame(want, 0, "first", 5);
    want_len = append_frame(want, want_len, "second", 6);
    want_len = append_frame(want, want_len, "direct", 6);
    want_len = append_frame(want, want_len, large, sizeof large);
    want_len = append_frame(want, want_len, "last", 4);
    int slices;
    NWS_CHECK_EQ(queue_bytes(c, got, sizeof got, &slices), want_len);
    NWS_CHECK(memcmp(got, want, want_len) == 0);
    NWS_CHECK_EQ(slices, 3);   /* first+second+direct | big | last */
    NWS_CHECK_EQ(c->queued, want_len);
    /* A long backlog of small broadcasts fills small buffers: slices by the kilobyte, not
     * one per message. */
    for (int i = 0; i < 100; i++) nws_room_broadcast(server, last, &r, 1, NULL, 0, 0, 0);
    NWS_CHECK_EQ(queue_bytes(c, got, sizeof got, &slices), want_len + 100 * 6);
    NWS_CHECK(slices <= 3 + 1 + (int)((100 * 6) / NWS__BUF_SMALL) + 1);
    /* Sent in odd pieces, then all: every shared reference and the first segment come back. */
    nws__sendq_consume(loop, c, 3);
    nws__sendq_consume(loop, c, 17);
    NWS_CHECK_EQ(c->queued, want_len + 600 - 20);
    NWS_CHECK_EQ(queue_bytes(c, got, sizeof got, &slices), want_len + 600 - 20);
    NWS_CHECK(memcmp(got, want + 20, want_len - 20) == 0);
    nws__sendq_consume(loop, c, c->queued);
    NWS_CHECK_EQ(atomic_load(&first->buf.refs), 1);
    NWS_CHECK_EQ(atomic_load(&big->buf.refs), 1);
    NWS_CHECK(!c->first_seg_busy && c->head == NULL && c->tail == NULL);
    /* Caught up: the next broadcast is shared again. */
    nws_room_broadcast(server, first, &r, 1, NULL, 0, 0, 0);
    NWS_CHECK_EQ(atomic_load(&first->buf.refs), 2);
    nws__loop_flush_dirty(loop);
    NWS_CHECK_EQ(atomic_load(&first->buf.refs), 1);
    nws_msg_release(first);
    nws_msg_release(second);
    nws_msg_release(big);
    nws_msg_release(last);
    teardown();
}

static int always_sending(const nws_conn *c) {
    (void)c;
    return 1;
}

/* A second small broadcast gathers the slice of the first into one buffer with it, from where
 * a short write left off; not while the kernel still reads that slice (a send in flight). */
static void sendq_aSecondBroadcastGathersTheFirstUnlessItIsBeingSent(void) {
    setup();
    nws_conn_id id = open_conn();
    nws_conn *c = conn_of(id);
    nws_room_join(server, id, "r", 1);
    nws_room_ref r = ref("r");
    nws_msg *first = nws_msg_create(NWS_OP_TEXT, "first", 5);
    nws_msg *second = nws_msg_create(NWS_OP_TEXT, "second", 6);
    static uint8_t want[64], got[64];
    size_t want_len = append_frame(want, 0, "first", 5);
    want_len = append_frame(want, want_len, "second", 6);
    int slices;

    nws_room_broadcast(server, first, &r, 1, NULL, 0, 0, 0);
    nws__sendq_consume(loop, c, 3);   /* a short write */
    nws_room_broadcast(server, second, &r, 1, NULL, 0, 0, 0);
    NWS_CHECK_EQ(atomic_load(&first->buf.refs), 1);
    NWS_CHECK_EQ(queue_bytes(c, got, sizeof got, &slices), want_len - 3);
    NWS_CHECK_EQ(slices, 1);
    NWS_CHECK(memcmp(got, want + 3, want_len - 3) == 0);
    NWS_CHECK_EQ(c->queued, want_len - 3);
    nws__loop_flush_dirty(loop);
    NWS_CHECK(c->head == NULL && !c->first_seg_busy);

    nws__backend sending = *loop->backend;
    sending.sending = always_sending;
    loop->backend = &sending;
    nws_room_broadcast(server, first, &r, 1, NULL, 0, 0, 0);
    nws_room_broadcast(server, second, &r, 1, NULL, 0, 0, 0);
    NWS_CHECK_EQ(atomic_load(&first->buf.refs), 2);   /* the kernel may be reading it: left in place */
    NWS_CHECK_EQ(queue_bytes(c, got, sizeof got, &slices), want_len);
    NWS_CHECK_EQ(slices, 2);
    NWS_CHECK(memcmp(got, want, want_len) == 0);
    loop->backend = &null_backend;
    nws__loop_flush_dirty(loop);
    NWS_CHECK_EQ(atomic_load(&first->buf.refs), 1);
    nws_msg_release(first);
    nws_msg_release(second);
    teardown();
}

/* The application's pointer for a connection: kept on the owning loop, invisible elsewhere,
 * gone with the connection (a new connection in the same slot starts without one). */
static void conn_theUserPointerStaysWithItsConnectionOnItsLoopOnly(void) {
    setup();
    int object = 0;
    nws_conn_id id = open_conn();
    NWS_CHECK(nws_conn_user(server, id) == NULL);
    NWS_CHECK_EQ(nws_conn_set_user(server, id, &object), 0);
    NWS_CHECK(nws_conn_user(server, id) == &object);

    nws__current_loop = NULL;   /* another thread */
    NWS_CHECK(nws_conn_user(server, id) == NULL);
    NWS_CHECK_EQ(nws_conn_set_user(server, id, NULL), NWS_ESTALE);
    nws__current_loop = loop;
    NWS_CHECK(nws_conn_user(server, id) == &object);

    nws__conn_abort(loop, conn_of(id), 0);
    nws__loop_tick(loop);
    NWS_CHECK(nws_conn_user(server, id) == NULL);
    NWS_CHECK_EQ(nws_conn_set_user(server, id, &object), NWS_ESTALE);
    nws_conn_id next = open_conn();
    NWS_CHECK(next != id);
    NWS_CHECK(nws_conn_user(server, next) == NULL);
    teardown();
}

/* Room names "<prefix><i>" for the tests of many rooms. */
static nws_room_ref numbered(char names[][16], const char *prefix, int i) {
    snprintf(names[i], 16, "%s%d", prefix, i);
    return (nws_room_ref){names[i], strlen(names[i])};
}

/* Every connection ends up with either nothing queued or exactly one copy of the frame. */
static void check_once_or_never(const nws_conn_id *ids, int n, const int *expected, size_t frame) {
    int wrong = 0;
    for (int i = 0; i < n; i++) wrong += conn_of(ids[i])->queued != (expected[i] ? frame : 0);
    NWS_CHECK_EQ(wrong, 0);
}

static void rooms_aBroadcastTo40RoomsReachesEachMemberOfManyOfThemOnce(void) {
    setup();
    enum { N = 300, ROOMS = 40 };
    static char names[ROOMS][16];
    nws_room_ref rooms[ROOMS];
    for (int r = 0; r < ROOMS; r++) rooms[r] = numbered(names, "r", r);
    nws_conn_id ids[N];
    int member[N] = {0};
    for (int i = 0; i < N; i++) {
        ids[i] = open_conn();
        /* Between 0 and 40 rooms each, most in several (i = 0 in all, i = 9, 19... in none). */
        for (int r = 0; r < ROOMS; r++) {
            if (i % 10 != 9 && (i + r) % (1 + i % 7) == 0) {
                nws_room_join(server, ids[i], rooms[r].name, rooms[r].len);
                member[i] = 1;
            }
        }
    }
    nws_msg *m = nws_msg_create(NWS_OP_TEXT, "x", 1);
    int members = 0;
    for (int i = 0; i < N; i++) members += member[i];
    NWS_CHECK(members < N);
    NWS_CHECK_EQ(nws_room_broadcast(server, m, rooms, ROOMS, NULL, 0, 0, 0), members);
    check_once_or_never(ids, N, member, 3);
    nws__loop_flush_dirty(loop);
    nws_msg_release(m);
    teardown();
}

static void rooms_100ExcludedRoomsEachHoldForRoomsAndForEveryone(void) {
    setup();
    enum { N = 400, EXCLUDED = 100 };
    static char names[EXCLUDED][16];
    nws_room_ref except[EXCLUDED];
    for (int r = 0; r < EXCLUDED; r++) except[r] = numbered(names, "x", r);
    nws_conn_id ids[N];
    int wanted[N];
    for (int i = 0; i < N; i++) {
        ids[i] = open_conn();
        nws_room_join(server, ids[i], "all", 3);
        /* Every third connection is in one excluded room, the last ones (x99 included) too. */
        wanted[i] = i % 3 != 0;
        if (!wanted[i]) nws_room_join(server, ids[i], except[i % EXCLUDED].name, except[i % EXCLUDED].len);
    }
    int expected = 0;
    for (int i = 0; i < N; i++) expected += wanted[i];
    nws_msg *m = nws_msg_create(NWS_OP_TEXT, "x", 1);
    nws_room_ref all = ref("all");
    NWS_CHECK_EQ(nws_room_broadcast(server, m, &all, 1, except, EXCLUDED, 0, 0), expected);
    check_once_or_never(ids, N, wanted, 3);
    nws__loop_flush_dirty(loop);
    /* To everyone (no room named), with the same exclusions and one connection excepted. */
    wanted[1] = 0;
    NWS_CHECK_EQ(nws_room_broadcast(server, m, NULL, 0, except, EXCLUDED, ids[1], 0), expected - 1);
    check_once_or_never(ids, N, wanted, 3);
    nws__loop_flush_dirty(loop);
    nws_msg_release(m);
    teardown();
}

/* ---- the registry, the readers and the limit ---- */

enum { MAX_EVENTS = 16 };
static struct { char name[16]; int present; } events[MAX_EVENTS];
static int event_count;

static void record_room(void *ctx, const char *room, size_t len, int present) {
    (void)ctx;
    if (event_count == MAX_EVENTS || len >= sizeof events[0].name) abort();
    memcpy(events[event_count].name, room, len);
    events[event_count].name[len] = 0;
    events[event_count++].present = present;
}

static int saw(int index, const char *name, int present) {
    return index < event_count && strcmp(events[index].name, name) == 0 && events[index].present == present;
}

typedef struct listing { char names[512]; size_t total; int count; } listing;

static void list_into(void *ctx, const char *room, size_t len, size_t members) {
    listing *l = ctx;
    strncat(l->names, room, len);
    strcat(l->names, ";");
    l->total += members;
    l->count++;
}

static void count_member(void *ctx, nws_conn_id id) { (void)id; (*(int *)ctx)++; }

static nws_conn_id closing_id;
static listing rooms_at_close;
static int reached_from_on_close;
static void rooms_on_close(void *ctx, nws_conn_id id, uint16_t code, const uint8_t *reason, size_t len) {
    (void)ctx; (void)code; (void)reason; (void)len;
    if (id != closing_id) return;
    nws_conn_rooms(server, id, list_into, &rooms_at_close);
    /* A broadcast from on_close reaches the room's other members, not the one leaving. */
    nws_msg *m = nws_msg_create(NWS_OP_TEXT, "bye", 3);
    nws_room_ref r1 = {"r1", 2};
    reached_from_on_close = nws_room_broadcast(server, m, &r1, 1, NULL, 0, 0, 0);
    nws_msg_release(m);
}

static void rooms_theServerHearsOfARoomsFirstMemberAndItsLast(void) {
    event_count = 0;
    nws_server_config config = {.loops = 1};
    nws_server_callbacks callbacks = {.on_room = record_room};
    setup_with(&config, &callbacks);
    nws_conn_id a = open_conn(), b = open_conn();
    NWS_CHECK_EQ(nws_room_join(server, a, "x", 1), 0);
    NWS_CHECK_EQ(nws_room_join(server, b, "x", 1), 0);   /* not the first: nothing heard */
    NWS_CHECK_EQ(nws_room_join(server, a, "y", 1), 0);
    NWS_CHECK_EQ(nws_room_join(server, a, "y", 1), 0);   /* twice: nothing */
    NWS_CHECK_EQ(event_count, 2);
    NWS_CHECK(saw(0, "x", 1) && saw(1, "y", 1));
    listing l = {0};
    nws_room_list(server, list_into, &l);
    NWS_CHECK_EQ(l.count, 2);
    NWS_CHECK_EQ(l.total, 3);
    NWS_CHECK_EQ(nws_room_leave(server, a, "x", 1), 0);  /* b is still in x */
    NWS_CHECK_EQ(event_count, 2);
    nws__conn_abort(loop, conn_of(b), 0);                 /* b's close takes x's last member */
    NWS_CHECK_EQ(event_count, 3);
    NWS_CHECK(saw(2, "x", 0));
    NWS_CHECK_EQ(nws_room_leave(server, a, "y", 1), 0);
    NWS_CHECK(event_count == 4 && saw(3, "y", 0));
    listing empty = {0};
    nws_room_list(server, list_into, &empty);
    NWS_CHECK_EQ(empty.count, 0);
    teardown();
}

/* A connection's first room is kept in its cold part, more in an array; one in no room keeps
 * no cold part at all. Members stay right through the move to the array and back. */
static void rooms_theListGrowsFromItsFirstRoomAndGoesWithTheLastLeave(void) {
    setup();
    nws_conn_id a = open_conn(), b = open_conn();
    NWS_CHECK(conn_of(a)->cold == NULL);
    NWS_CHECK_EQ(nws_room_join(server, a, "one", 3), 0);
    NWS_CHECK_EQ(nws_room_join(server, b, "one", 3), 0);
    nws__conn_cold *k = conn_of(a)->cold;
    NWS_CHECK(k != NULL && k->rooms == &k->first_room && k->room_count == 1);
    const char *names[] = {"two", "three", "four", "five"};
    for (int i = 0; i < 4; i++) NWS_CHECK_EQ(nws_room_join(server, a, names[i], strlen(names[i])), 0);
    NWS_CHECK(k->rooms != &k->first_room && k->room_count == 5);
    /* a leaves "one" first: b, moved to a's place in it, must still be found there. */
    NWS_CHECK_EQ(nws_room_leave(server, a, "one", 3), 0);
    NWS_CHECK_EQ(nws_room_leave(server, b, "one", 3), 0);
    NWS_CHECK_EQ(nws_room_local_size(server, "one", 3), 0);
    listing mine = {0};
    NWS_CHECK_EQ(nws_conn_rooms(server, a, list_into, &mine), 0);
    NWS_CHECK_EQ(mine.count, 4);
    NWS_CHECK(strstr(mine.names, "two;") && strstr(mine.names, "five;") && !strstr(mine.names, "one;"));
    for (int i = 0; i < 4; i++) NWS_CHECK_EQ(nws_room_leave(server, a, names[i], strlen(names[i])), 0);
    NWS_CHECK(conn_of(a)->cold == NULL);   /* nothing left in it: gone */
    NWS_CHECK(conn_of(b)->cold == NULL);
    NWS_CHECK_EQ(loop->rooms.total, 0);
    NWS_CHECK_EQ(nws_room_join(server, a, "again", 5), 0);   /* and made again */
    NWS_CHECK_EQ(nws_room_local_size(server, "again", 5), 1);
    teardown();
}

static void rooms_readersSeeMembershipAndTheLimitRefusesPastIt(void) {
    nws_server_config config = {.loops = 1, .max_rooms_per_conn = 3};
    nws_server_callbacks callbacks = {.on_close = rooms_on_close};
    setup_with(&config, &callbacks);
    nws_conn_id a = open_conn(), b = open_conn();
    NWS_CHECK_EQ(nws_room_join(server, a, "r1", 2), 0);
    NWS_CHECK_EQ(nws_room_join(server, a, "r2", 2), 0);
    NWS_CHECK_EQ(nws_room_join(server, a, "r3", 2), 0);
    NWS_CHECK_EQ(nws_room_join(server, a, "r4", 2), NWS_ELIMIT);
    NWS_CHECK_EQ(nws_room_join(server, a, "r3", 2), 0);   /* already in: no new room */
    NWS_CHECK_EQ(nws_room_join(server, b, "r1", 2), 0);   /* another connection has its own count */
    listing mine = {0};
    NWS_CHECK_EQ(nws_conn_rooms(server, a, list_into, &mine), 0);
    NWS_CHECK_EQ(mine.count, 3);
    NWS_CHECK(strstr(mine.names, "r1;") && strstr(mine.names, "r2;") && strstr(mine.names, "r3;"));
    int members = 0;
    nws_room_members(server, "r1", 2, count_member, &members);
    NWS_CHECK_EQ(members, 2);
    /* on_close still finds the rooms the connection is leaving; afterwards its id is stale. */
    closing_id = a;
    memset(&rooms_at_close, 0, sizeof rooms_at_close);
    nws__conn_close(loop, conn_of(a), 1000, NULL, 0);
    NWS_CHECK_EQ(rooms_at_close.count, 3);
    NWS_CHECK_EQ(reached_from_on_close, 1);
    NWS_CHECK_EQ(nws_room_join(server, a, "r9", 2), NWS_ESTALE);   /* closing: it joins nothing */
    members = 0;
    nws_room_members(server, "r1", 2, count_member, &members);
    NWS_CHECK_EQ(members, 1);
    /* An abort reports the close first, the connection still open: a broadcast from on_close
     * does not reach it either. */
    nws_conn_id c = open_conn();
    NWS_CHECK_EQ(nws_room_join(server, c, "r1", 2), 0);
    closing_id = c;
    reached_from_on_close = -1;
    nws__conn_abort(loop, conn_of(c), 0);
    NWS_CHECK_EQ(reached_from_on_close, 1);   /* b */
    nws__conn_abort(loop, conn_of(a), 0);
    nws__loop_tick(loop);
    listing gone = {0};
    NWS_CHECK_EQ(nws_conn_rooms(server, a, list_into, &gone), NWS_ESTALE);
    teardown();
}

/* on_room is told with no lock held: it may close a connection, which leaves its rooms. */
static nws_conn_id to_close_on_room;
static int rooms_told;
static void close_on_room(void *ctx, const char *room, size_t len, int present) {
    (void)ctx; (void)room; (void)len;
    rooms_told++;
    if (present && to_close_on_room != 0) {
        nws_conn_id id = to_close_on_room;
        to_close_on_room = 0;
        NWS_CHECK_EQ(nws_close(server, id, 1000, NULL, 0), 0);
    }
}

static void rooms_onRoomMayCallTheServerBack(void) {
    nws_server_config config = {.loops = 1};
    nws_server_callbacks callbacks = {.on_room = close_on_room};
    setup_with(&config, &callbacks);
    alarm(10);   /* a deadlock fails the run instead of hanging it */
    nws_conn_id a = open_conn(), b = open_conn();
    NWS_CHECK_EQ(nws_room_join(server, b, "old", 3), 0);
    rooms_told = 0;
    to_close_on_room = b;
    NWS_CHECK_EQ(nws_room_join(server, a, "new", 3), 0);   /* told "+new", which closes b */
    NWS_CHECK_EQ(rooms_told, 2);                            /* "+new", then "-old" as b left */
    NWS_CHECK_EQ(nws_room_local_size(server, "old", 3), 0);
    alarm(0);
    teardown();
}

/* Another thread lists rooms and reads memberships while the loop joins, leaves, opens and
 * closes: each read sees whole changes (run under ASan to catch a torn one). */
static atomic_int churning;
static atomic_long reads_done;
static _Atomic nws_conn_id churn_ids[8];
static void *read_while_churning(void *arg) {
    (void)arg;
    long reads = 0;
    while (churning) {
        listing l = {0};
        nws_room_list(server, list_into, &l);
        listing m = {0};
        nws_conn_rooms(server, atomic_load(&churn_ids[reads % 8]), list_into, &m);
        int members = 0;
        nws_room_members(server, "hot", 3, count_member, &members);
        atomic_store(&reads_done, ++reads);
    }
    return (void *)reads;
}

static void rooms_otherThreadsReadTheIndexWhileTheLoopChangesIt(void) {
    setup();
    nws_conn_id ids[8];
    for (int i = 0; i < 8; i++) atomic_store(&churn_ids[i], ids[i] = open_conn());
    churning = 1;
    pthread_t reader;
    pthread_create(&reader, NULL, read_while_churning, NULL);
    char name[8];
    for (int round = 0; round < 3000; round++) {
        int i = round % 8;
        snprintf(name, sizeof name, "r%d", round % 50);
        nws_room_join(server, ids[i], "hot", 3);
        nws_room_join(server, ids[i], name, strlen(name));
        if (round % 3 == 0) nws_room_leave(server, ids[(i + 3) % 8], "hot", 3);
        if (round % 5 == 0) open_conn();   /* 600 more: the slot table grows twice while read */
        if (round % 97 == 0) {   /* a connection closes and a new one takes its slot */
            nws__conn_abort(loop, conn_of(ids[i]), 0);
            nws__loop_tick(loop);
            atomic_store(&churn_ids[i], ids[i] = open_conn());
        }
    }
    /* The reader may not have been scheduled yet on a busy machine: it reads at least once
     * while the index still changes. */
    for (int round = 0; atomic_load(&reads_done) == 0; round++) {
        nws_room_join(server, ids[round % 8], "late", 4);
        nws_room_leave(server, ids[round % 8], "late", 4);
        sched_yield();
    }
    churning = 0;
    void *reads;
    pthread_join(reader, &reads);
    NWS_CHECK((long)reads > 0);
    int members = 0;
    nws_room_members(server, "hot", 3, count_member, &members);
    NWS_CHECK_EQ(members, nws_room_local_size(server, "hot", 3));
    teardown();
}

/* A room whose members speak both protocols: each broadcast reaches the members that speak its
 * protocol, and an Engine.IO text carries its message packet's '4'. */
static void rooms_aBroadcastReachesOnlyTheMembersOfItsProtocol(void) {
    setup();
    nws_conn_id plain = open_conn(), engine_io = open_conn();
    conn_of(engine_io)->eio = NWS__EIO_WEBSOCKET;
    NWS_CHECK_EQ(nws_room_join(server, plain, "mixed", 5), 0);
    NWS_CHECK_EQ(nws_room_join(server, engine_io, "mixed", 5), 0);
    nws_room_ref mixed = ref("mixed");
    nws_msg *for_plain = nws_msg_create(NWS_OP_TEXT, "hello", 5);
    nws_msg *for_eio = nws_msg_create_engine_io(NWS_OP_TEXT, "hello", 5);
    NWS_CHECK_EQ(nws_room_broadcast(server, for_plain, &mixed, 1, NULL, 0, 0, 0), 1);
    NWS_CHECK_EQ(conn_of(plain)->queued, 7);        /* 2-byte header + "hello" */
    NWS_CHECK_EQ(conn_of(engine_io)->queued, 0);
    NWS_CHECK_EQ(nws_room_broadcast(server, for_eio, &mixed, 1, NULL, 0, 0, 0), 1);
    NWS_CHECK_EQ(conn_of(plain)->queued, 7);
    NWS_CHECK_EQ(conn_of(engine_io)->queued, 8);    /* 2-byte header + "4hello" */
    NWS_CHECK_MEM(for_eio->buf.data + 2, "4hello", 6);
    /* A carrier (the WebSocket of a long-polling session) is not addressed: its session is. */
    nws_conn_id carrier = open_conn();
    conn_of(carrier)->eio = NWS__EIO_CARRIER;
    NWS_CHECK_EQ(nws__conn_send_msg(loop, conn_of(carrier), for_eio, 0), NWS_EINVAL);
    NWS_CHECK_EQ(nws__conn_send_msg(loop, conn_of(carrier), for_plain, 0), NWS_EINVAL);
    NWS_CHECK_EQ(nws__conn_send(loop, conn_of(carrier), NWS_OP_TEXT, "x", 1, 0), NWS_EINVAL);
    NWS_CHECK_EQ(conn_of(carrier)->queued, 0);
    nws__loop_flush_dirty(loop);
    nws_msg_release(for_plain);
    nws_msg_release(for_eio);
    teardown();
}

int main(void) {
    NWS_RUN(rooms_aBroadcastReachesOnlyTheMembersOfItsProtocol);
    NWS_RUN(rooms_aRoomOf100000MembersGetsEachBroadcastOncePerMember);
    NWS_RUN(rooms_aMemberOfSeveralRoomsGetsOneCopyAndExclusionsHold);
    NWS_RUN(rooms_aBroadcastTo40RoomsReachesEachMemberOfManyOfThemOnce);
    NWS_RUN(rooms_100ExcludedRoomsEachHoldForRoomsAndForEveryone);
    NWS_RUN(rooms_leavingAndClosingCleanTheIndex);
    NWS_RUN(rooms_theListGrowsFromItsFirstRoomAndGoesWithTheLastLeave);
    NWS_RUN(rooms_swapRemoveKeepsEveryOtherMembership);
    NWS_RUN(sendq_broadcastsBehindABacklogAreCopiedInOrderAndShareWhenTheQueueIsEmpty);
    NWS_RUN(sendq_aSecondBroadcastGathersTheFirstUnlessItIsBeingSent);
    NWS_RUN(conn_theUserPointerStaysWithItsConnectionOnItsLoopOnly);
    NWS_RUN(rooms_theServerHearsOfARoomsFirstMemberAndItsLast);
    NWS_RUN(rooms_readersSeeMembershipAndTheLimitRefusesPastIt);
    NWS_RUN(rooms_otherThreadsReadTheIndexWhileTheLoopChangesIt);
    NWS_RUN(rooms_onRoomMayCallTheServerBack);
    return nws_test_summary("rooms");
}
