/*
 * inbox.c — the one door into a loop from other threads: an intrusive multi-producer,
 * single-consumer queue (the "stub node" design: push is one atomic exchange and one store,
 * pop needs no atomic read-modify-write) plus an eventfd to wake the loop.
 *
 * The eventfd is written only by the producer that finds no wake-up pending, so a burst of
 * posts costs one write(2); the loop clears the flag before it drains, so a task pushed
 * while it drains either is seen by this drain or writes the eventfd again.
 *
 * What crosses is a task (nws__task_new): the function to run and its payload in one
 * allocation, so every kind of cross-thread work (a send, a close, a room change, a fan-out,
 * a Swift job) is posted, run and freed by the same code.
 */
#include "internal.h"

#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

int nws__inbox_init(nws__inbox *q) {
    atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
    atomic_store_explicit(&q->head, &q->stub, memory_order_relaxed);
    q->tail = &q->stub;
    atomic_store_explicit(&q->wake_pending, 0, memory_order_relaxed);
    q->eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return q->eventfd < 0 ? NWS_ESYS : 0;
}

void nws__inbox_destroy(nws__inbox *q) {
    if (q->eventfd >= 0) close(q->eventfd);
    q->eventfd = -1;
}

static void push_node(nws__inbox *q, nws__link *n) {
    atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
    nws__link *prev = atomic_exchange_explicit(&q->head, n, memory_order_acq_rel);
    atomic_store_explicit(&prev->next, n, memory_order_release);
}

static void push(nws__inbox *q, nws__link *n) {
    push_node(q, n);
    if (atomic_exchange_explicit(&q->wake_pending, 1, memory_order_acq_rel) == 0) {
        uint64_t one = 1;
        ssize_t r = write(q->eventfd, &one, sizeof one);
        (void)r;   /* EAGAIN means the counter is already non-zero: the loop will wake */
    }
}

void nws__inbox_ack_wake(nws__inbox *q) {
    uint64_t value;
    ssize_t r = read(q->eventfd, &value, sizeof value);
    (void)r;
    /* An exchange, not a store: a producer that found the flag set wrote nothing, and its task
     * must be seen by the drain that follows. Reading the producer's exchange makes its push
     * visible here; a plain store would let the drain's loads run ahead of it (x86 lets a load
     * pass an earlier store), miss the task, and leave it until the next wake-up. */
    atomic_exchange_explicit(&q->wake_pending, 0, memory_order_acq_rel);
}

static nws__link *pop(nws__inbox *q) {
    nws__link *tail = q->tail;
    nws__link *next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (tail == &q->stub) {
        if (next == NULL) return NULL;
        q->tail = next;
        tail = next;
        next = atomic_load_explicit(&next->next, memory_order_acquire);
    }
    if (next != NULL) {
        q->tail = next;
        return tail;
    }
    /* tail is the last node pushed, unless a producer is between its exchange and its store. */
    if (tail != atomic_load_explicit(&q->head, memory_order_acquire)) return NULL;
    push_node(q, &q->stub);
    next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (next != NULL) {
        q->tail = next;
        return tail;
    }
    return NULL;
}

/* ---- tasks ---- */

static nws__task *task_of(void *payload) {
    return (nws__task *)((char *)payload - offsetof(nws__task, payload));
}

void *nws__task_new(size_t size, nws__task_fn run) {
    nws__task *t = malloc(sizeof *t + size);
    if (t == NULL) return NULL;
    t->run = run;
    return t->payload;
}

void nws__task_free(void *payload) {
    if (payload != NULL) free(task_of(payload));
}

/* `stopped` and `posting` (seq_cst, in opposite orders here and in nws_server_wait) make a post
 * either see the server stopped, or be seen in flight by the thread that is about to run the
 * leftovers, which waits for it: no task lands in an inbox that nothing will run. The count is
 * the loop's, so threads posting to different loops do not share a cache line. */
int nws__task_post(nws_loop *loop, void *payload) {
    nws_server *s = loop->server;
    if (loop->inbox.eventfd < 0) {   /* the server was never started: no inbox to queue on */
        nws__task_free(payload);
        return NWS_EINVAL;
    }
    atomic_fetch_add(&loop->posting, 1);
    if (atomic_load(&s->stopped)) {
        atomic_fetch_sub(&loop->posting, 1);
        nws__task_free(payload);
        return NWS_ECLOSED;
    }
    atomic_fetch_add_explicit(&loop->inbox.depth, 1, memory_order_relaxed);
    push(&loop->inbox, &task_of(payload)->link);
    atomic_fetch_sub(&loop->posting, 1);
    return 0;
}

void nws__inbox_run(nws_loop *loop) {
    nws__link *n;
    while ((n = pop(&loop->inbox)) != NULL) {
        nws__task *t = (nws__task *)n;   /* the link is the task's first member */
        atomic_fetch_sub_explicit(&loop->inbox.depth, 1, memory_order_relaxed);
        t->run(loop, t->payload);
        free(t);
    }
}
