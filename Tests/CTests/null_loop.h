/*
 * null_loop.h — one loop of a real server whose I/O backend completes every write at once and
 * reads nothing: the core's queues, rooms and fan-out run as they are, with no sockets. For
 * tests that look at what a connection's send queue holds (test_rooms.c, test_deflate.c).
 */
#ifndef NWS_NULL_LOOP_H
#define NWS_NULL_LOOP_H

#include <stdlib.h>
#include <string.h>

#include "internal.h"

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
    .name = "null", .init = null_init, .destroy = null_destroy, .start_accepting = null_accepting,
    .stop_accepting = null_stop, .conn_added = null_added, .flush = null_flush,
    .shutdown_write = null_shutdown, .teardown = null_teardown, .run = null_run,
};

static nws_server *server;
static nws_loop *loop;

static void setup_with(const nws_server_config *config, const nws_server_callbacks *callbacks) {
    if (nws_server_create(config, callbacks, &server) != 0) abort();
    loop = &server->loops[0];
    loop->backend = &null_backend;
    loop->now_ms = nws__now_ms();
    nws__wheel_init(&loop->wheel, loop->now_ms);
    nws__inbox_init(&loop->inbox);
    nws__current_loop = loop;
}

__attribute__((unused)) static void setup(void) {
    nws_server_config config = {.loops = 1};
    nws_server_callbacks callbacks = {0};
    setup_with(&config, &callbacks);
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

/* The bytes of c's send queue, in order, as the backend would hand them to the kernel. */
static size_t queue_bytes(nws_conn *c, uint8_t *out, size_t cap, int *slices) {
    struct iovec iov[64];
    int n = nws__sendq_iov(c, iov, 64);
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        if (len + iov[i].iov_len > cap) abort();
        memcpy(out + len, iov[i].iov_base, iov[i].iov_len);
        len += iov[i].iov_len;
    }
    *slices = n;
    return len;
}

#endif
