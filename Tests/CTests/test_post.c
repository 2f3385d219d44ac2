/*
 * test_post.c — the one door into a loop from other threads, with real loop threads: a
 * posted function runs on its loop; one posted after the loop exited waits for
 * nws_server_run_leftovers (never lost, never run twice); once the server has stopped a post
 * is refused with NWS_ECLOSED, and the function does not run.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "nws_error.h"
#include "nws_server.h"
#include "nws_test.h"

static atomic_int stopped;
static atomic_int ran;
static atomic_int ran_on_loop;

static void on_stopped(void *ctx) { (void)ctx; atomic_store(&stopped, 1); }

static void on_open(void *ctx, nws_conn_id id, const nws_open_info *info) { (void)ctx; (void)id; (void)info; }
static void on_message(void *ctx, nws_conn_id id, int op, const uint8_t *d, size_t n, void *u) {
    (void)ctx; (void)id; (void)op; (void)d; (void)n; (void)u;
}
static void on_close(void *ctx, nws_conn_id id, uint16_t code, const uint8_t *r, size_t n) {
    (void)ctx; (void)id; (void)code; (void)r; (void)n;
}

typedef struct probe {
    nws_server *server;
} probe;

static void record(void *arg) {
    probe *p = arg;
    atomic_fetch_add(&ran, 1);
    atomic_store(&ran_on_loop, nws_loop_current(p->server));
}

static nws_server *start_server(void) {
    nws_server_config config = {.host = "127.0.0.1", .loops = 1, .backend = NWS_BACKEND_EPOLL};
    nws_server_callbacks callbacks = {.on_open = on_open, .on_message = on_message, .on_close = on_close,
                                      .on_stopped = on_stopped};
    nws_server *s = NULL;
    if (nws_server_create(&config, &callbacks, &s) != 0 || nws_server_start(s) != 0) abort();
    return s;
}

static void post_aFunctionRunsOnItsLoop(void) {
    atomic_store(&ran, 0);
    atomic_store(&stopped, 0);
    nws_server *s = start_server();
    probe p = {s};
    NWS_CHECK_EQ(nws_loop_post(s, 0, record, &p), 0);
    NWS_CHECK_EQ(nws_loop_post(s, 1, record, &p), NWS_EINVAL);   /* no such loop */
    for (int i = 0; i < 100000 && atomic_load(&ran) == 0; i++) sched_yield();
    NWS_CHECK_EQ(atomic_load(&ran), 1);
    NWS_CHECK_EQ(atomic_load(&ran_on_loop), 0);
    nws_server_shutdown(s, 0);
    nws_server_wait(s);
    nws_server_destroy(s);
}

static void post_afterTheLoopExitedRunsOnceWithTheLeftoversThenPostsAreRefused(void) {
    atomic_store(&ran, 0);
    atomic_store(&stopped, 0);
    nws_server *s = start_server();
    probe p = {s};
    nws_server_shutdown(s, 0);
    while (!atomic_load(&stopped)) sched_yield();   /* the loop thread has left its loop */
    NWS_CHECK_EQ(nws_loop_post(s, 0, record, &p), 0);   /* queued: nothing has said "stopped" yet */
    nws_server_wait(s);
    NWS_CHECK_EQ(atomic_load(&ran), 0);
    nws_server_run_leftovers(s);
    NWS_CHECK_EQ(atomic_load(&ran), 1);
    NWS_CHECK_EQ(atomic_load(&ran_on_loop), 0);    /* run as on its loop, on this thread */
    nws_server_run_leftovers(s);
    NWS_CHECK_EQ(atomic_load(&ran), 1);            /* once */
    NWS_CHECK_EQ(nws_loop_post(s, 0, record, &p), NWS_ECLOSED);
    const char hello[] = "hello";
    NWS_CHECK_EQ(nws_send(s, (nws_conn_id)0 << 56 | 1, 1, hello, 5, 0), NWS_ECLOSED);   /* the message is freed */
    nws_server_destroy(s);
    NWS_CHECK_EQ(atomic_load(&ran), 1);
}

static void post_whatIsLeftAtDestroyIsRunAndReleased(void) {
    atomic_store(&ran, 0);
    atomic_store(&stopped, 0);
    nws_server *s = start_server();
    probe p = {s};
    nws_server_shutdown(s, 0);
    while (!atomic_load(&stopped)) sched_yield();
    NWS_CHECK_EQ(nws_loop_post(s, 0, record, &p), 0);
    const char hello[] = "hello";
    NWS_CHECK_EQ(nws_send(s, (nws_conn_id)0 << 56 | 1, 1, hello, 5, 0), 0);   /* to a connection long gone */
    nws_server_wait(s);
    nws_server_destroy(s);   /* runs both: the record, and the send that releases its message */
    NWS_CHECK_EQ(atomic_load(&ran), 1);
}

int main(void) {
    NWS_RUN(post_aFunctionRunsOnItsLoop);
    NWS_RUN(post_afterTheLoopExitedRunsOnceWithTheLeftoversThenPostsAreRefused);
    NWS_RUN(post_whatIsLeftAtDestroyIsRunAndReleased);
    return nws_test_summary("post");
}
