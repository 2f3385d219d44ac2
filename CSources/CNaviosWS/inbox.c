/*
 * inbox.c — the one door into a loop from other threads: an intrusive multi-producer,
 * single-consumer queue (the "stub node" design: push is one atomic exchange and one store,
 * pop needs no atomic read-modify-write) plus an eventfd to wake the loop.
 *
 * The eventfd is written only by the producer that finds no wake-up pending, so a burst of
 * posts costs one write(2); the loop clears the flag before it drains, so a task pushed
 * while it drains either is seen by this drain or writes the eventfd again.
 */
#include "internal.h"

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

static void push_node(nws__inbox *q, nws__task *t) {
    atomic_store_explicit(&t->next, NULL, memory_order_relaxed);
    nws__task *prev = atomic_exchange_explicit(&q->head, t, memory_order_acq_rel);
    atomic_store_explicit(&prev->next, t, memory_order_release);
}

void nws__inbox_push(nws__inbox *q, nws__task *t) {
    push_node(q, t);
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
    atomic_store_explicit(&q->wake_pending, 0, memory_order_release);
}

nws__task *nws__inbox_pop(nws__inbox *q) {
    nws__task *tail = q->tail;
    nws__task *next = atomic_load_explicit(&tail->next, memory_order_acquire);
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
