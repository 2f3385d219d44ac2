/*
 * test_rooms.c — the room index at scale, without sockets: one loop whose I/O backend
 * completes every write at once (the index, the queues and the fan-out are the real code).
 * Proves that a room of 100,000 members gets each broadcast exactly once per member, that
 * multi-room broadcasts reach a member of several rooms once, that exclusions hold, and
 * that leaving and closing clean the index up (empty rooms disappear).
 */
#include <stdlib.h>

#include "internal.h"
#include "nws_test.h"

static int null_init(nws_loop *loop) { (void)loop; return 0; }
static void null_destroy(nws_loop *loop) { (void)loop; }
static int null_accepting(nws_loop *loop) { (void)loop; return 0; }
static void null_stop(nws_loop *loop) { (void)loop; }
static int null_added(nws_loop *loop, nws_conn *c) { (void)loop; (void)c; return 0; }
static void null_flush(nws_loop *loop, nws_conn *c) { nws__sendq_consume(loop, c, c->queued); }
static void null_shutdown(nws_loop *loop, nws_conn *c) { (void)loop; (void)c; }
static void null_teardown(nws_loop *loop, nws_conn *c) { nws__loop_bury(loop, c); }
static void null_run(nws_loop *loop) { (void)loop; }

static const nws__backend null_backend = {
    "null", null_init, null_destroy, null_accepting, null_stop, null_added, null_flush,
    null_shutdown, null_teardown, null_run,
};

static nws_server *server;
static nws_loop *loop;

static void setup(void) {
    nws_server_config config = {.loops = 1};
    nws_server_callbacks callbacks = {0};
    if (nws_server_create(&config, &callbacks, &server) != 0) abort();
    loop = &server->loops[0];
    loop->backend = &null_backend;
    loop->now_ms = nws__now_ms();
    nws__wheel_init(&loop->wheel, loop->now_ms);
    nws__inbox_init(&loop->inbox);
    nws__current_loop = loop;
}

static void teardown(void) {
    for (uint32_t i = 0; i < loop->slot_cap; i++) {
        if (loop->slots[i] != NULL) nws__conn_abort(loop, loop->slots[i], 0);
    }
    nws__loop_tick(loop);
    nws__current_loop = NULL;
    loop->backend = NULL;
    nws_server_destroy(server);
}

/* An open connection, as if its upgrade had succeeded. */
static nws_conn_id open_conn(void) {
    nws_conn *c = nws__conn_accepted(loop, -1);
    c->state = NWS__OPEN;
    c->opened = 1;
    return nws__make_id(0, c->slot, c->gen);
}

static nws_conn *conn_of(nws_conn_id id) { return nws__loop_conn(loop, id); }

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
    uint32_t rooms_before = loop->room_total;
    nws__conn_abort(loop, conn_of(b), 0);                      /* b closes */
    NWS_CHECK_EQ(nws_room_local_size(server, "lobby", 5), 0);
    NWS_CHECK_EQ(nws_room_local_size(server, "only-b", 6), 0);
    NWS_CHECK_EQ(loop->room_total, rooms_before - 2);          /* empty rooms are freed */
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

int main(void) {
    NWS_RUN(rooms_aRoomOf100000MembersGetsEachBroadcastOncePerMember);
    NWS_RUN(rooms_aMemberOfSeveralRoomsGetsOneCopyAndExclusionsHold);
    NWS_RUN(rooms_leavingAndClosingCleanTheIndex);
    NWS_RUN(rooms_swapRemoveKeepsEveryOtherMembership);
    return nws_test_summary("rooms");
}
