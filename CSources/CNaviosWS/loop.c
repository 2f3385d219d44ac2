/*
 * loop.c — what every backend's loop does between waits: advance the clock and the timer
 * wheel, run posted tasks, flush the connections that have bytes queued, free the dead, and
 * carry out a shutdown.
 *
 * Order matters: timers and posted tasks run before the flush, so the pings and sends they
 * queue leave in the same batch of writes as the replies to the reads just handled.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

_Thread_local nws_loop *nws__current_loop;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t nws__now_ms(void) { return now_ns() / 1000000u; }

void nws__loop_woke(nws_loop *loop) {
    loop->woke_ns = now_ns();
    loop->now_ms = loop->woke_ns / 1000000u;
}

void nws__loop_bury(nws_loop *loop, nws_conn *c) {
    c->grave_next = loop->graveyard;
    loop->graveyard = c;
}

static void fire_timer(nws__timer *t, void *arg) {
    nws__conn_on_timer(arg, (nws_conn *)t);   /* the timer is the connection's first member */
}

/* The eventfd is read only when the backend saw it readable: every write to it is followed by
 * that event, so none is left unread, and an iteration without one spares a read(2) that would
 * find nothing. Posted tasks run either way. */
void nws__loop_drain_inbox(nws_loop *loop) {
    if (loop->inbox_signalled) {
        loop->inbox_signalled = 0;
        nws__inbox_ack_wake(&loop->inbox);
    }
    nws__inbox_run(loop);
}

/* Members that compress a broadcast with their own context cost microseconds of zlib each
 * (nws__deflate_defer): their sends go to the kernel every this many, so the first members
 * have their copy while the others are compressed. */
#define SUBMIT_EVERY_COMPRESSED 32

/* What waited for c's compressor joins its queue; 1 when something did. */
static int compress_deferred(nws_loop *loop, nws_conn *c) {
    if (__builtin_expect(c->deflate < NWS__DEFLATE_DEFERRED, 1)) return 0;
    nws__conn_compress_waiting(loop, c);
    if (c->deflate & NWS__DEFLATE_FAILED) {
        c->deflate &= (uint8_t)~NWS__DEFLATE_FAILED;
        nws__conn_close(loop, c, NWS_CLOSE_INTERNAL_ERROR, "compression failed", 18);
    }
    return 1;
}

void nws__loop_flush_dirty(nws_loop *loop) {
    unsigned compressed = 0;
    while (loop->dirty != NULL) {
        nws_conn *c = loop->dirty;
        loop->dirty = c->dirty_next;
        c->dirty = 0;
        if (c->dead) continue;
        if (c->eio == NWS__EIO_POLLING) nws__eio_session_flush(loop, c);   /* no socket: to its waiting GET */
        else {
            int did = compress_deferred(loop, c);
            if (c->tls != NULL) nws__tls_seal(loop, c);
            loop->backend->flush(loop, c);
            if (did && ++compressed % SUBMIT_EVERY_COMPRESSED == 0 && loop->backend->submit) loop->backend->submit(loop);
        }
    }
}

void nws__loop_send_now(nws_loop *loop, nws_conn *c) {
    loop->backend->flush(loop, c);
    if (loop->backend->submit) loop->backend->submit(loop);
}

static void free_graveyard(nws_loop *loop) {
    while (loop->graveyard != NULL) {
        nws_conn *c = loop->graveyard;
        loop->graveyard = c->grave_next;
        nws__conn_free(loop, c);
    }
}

/* Shutdown: past the drain deadline whatever is left is cut. */
static void enforce_stop_deadline(nws_loop *loop) {
    if (!loop->stopping || loop->now_ms < loop->stop_deadline_ms) return;
    for (uint32_t i = 0; i < loop->slot_cap; i++) {
        nws_conn *c = loop->slots[i];
        if (c != NULL && !c->dead) nws__conn_abort(loop, c, NWS_CLOSE_GOING_AWAY);
    }
}

void nws__loop_tick(nws_loop *loop) {
    loop->now_ms = nws__now_ms();
    nws__wheel_advance(&loop->wheel, loop->now_ms, fire_timer, loop);
    nws__loop_drain_inbox(loop);
    enforce_stop_deadline(loop);
    nws__loop_flush_dirty(loop);
    free_graveyard(loop);
    if (loop->tls_hot != NULL && loop->now_ms >= loop->tls_sweep_ms) nws__tls_buffers_sweep(loop);
    /* The iteration's time, from the wake to here; the same reading starts the next wait, so
     * measuring costs no extra clock read. */
    uint64_t end = now_ns();
    nws__stat_add(&loop->stats.iterations, 1);
    nws__stat_add(&loop->stats.busy_ns, end - loop->woke_ns);
    loop->tick_end_ms = end / 1000000u;
}

int nws__loop_should_exit(nws_loop *loop) {
    return loop->stopping && loop->conn_count == 0;
}

int nws__loop_wait_ms(nws_loop *loop) {
    if (loop->dirty != NULL || loop->graveyard != NULL) return 0;
    uint64_t now = loop->tick_end_ms;
    int t = nws__wheel_timeout_ms(&loop->wheel, now);
    if (loop->tls_hot != NULL) {   /* wake to give idle sessions' record buffers back */
        int d = loop->tls_sweep_ms > now ? (int)(loop->tls_sweep_ms - now) : 0;
        if (t < 0 || d < t) t = d;
    }
    if (loop->stopping) {
        /* Wake for the drain deadline even when no connection has a timer. */
        int d = loop->stop_deadline_ms > now ? (int)(loop->stop_deadline_ms - now) : 0;
        if (t < 0 || d < t) t = d;
    }
    return t;
}

/* Runs on each loop: stop accepting, say 1001 to every client, then wait for the drain. */
void nws__loop_begin_shutdown(nws_loop *loop, void *payload) {
    (void)payload;
    if (loop->stopping) return;
    loop->stopping = 1;
    loop->now_ms = nws__now_ms();
    loop->stop_deadline_ms = loop->now_ms + loop->server->drain_ms;
    loop->backend->stop_accepting(loop);
    for (uint32_t i = 0; i < loop->slot_cap; i++) {
        nws_conn *c = loop->slots[i];
        if (c == NULL || c->dead) continue;
        if (c->state == NWS__OPEN) nws__conn_close(loop, c, NWS_CLOSE_GOING_AWAY, "server shutting down", 20);
        else if (c->state == NWS__HANDSHAKE) nws__conn_abort(loop, c, 0);
    }
}
