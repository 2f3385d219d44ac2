/*
 * timer.c — a hashed timer wheel: one per loop, one timer per connection (handshake deadline,
 * next heartbeat, pong deadline, idle deadline, close deadline: whichever comes first).
 *
 * Setting, moving and cancelling a timer is O(1) with no allocation: timers are intrusive
 * list nodes inside the connection. A slot holds every timer whose deadline falls on its tick
 * modulo the wheel size, so a timer more than one turn away stays in its slot and is simply
 * skipped until its turn comes. With 8 ms ticks and 512 slots a turn is about 4 s; a 30 s
 * heartbeat is looked at 7 times before it fires, which is cheaper than a heap at this scale.
 */
#include "internal.h"

static inline void unlink_timer(nws__timer *t) {
    t->prev->next = t->next;
    t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

static inline void link_timer(nws__timer *head, nws__timer *t) {
    t->prev = head->prev;
    t->next = head;
    head->prev->next = t;
    head->prev = t;
}

void nws__wheel_init(nws__wheel *w, uint64_t now_ms) {
    for (unsigned i = 0; i < NWS__WHEEL_SLOTS; i++)
        w->slots[i].prev = w->slots[i].next = &w->slots[i];
    w->current_tick = now_ms / NWS__TICK_MS;
    w->count = 0;
}

void nws__wheel_set(nws__wheel *w, nws__timer *t, uint64_t deadline_ms) {
    if (t->next != NULL) {
        unlink_timer(t);
        w->count--;
    }
    /* The first tick that starts at or after the deadline: it fires at most one tick late,
     * never early, and never waits a whole turn because its slot came a little too soon. */
    uint64_t tick = (deadline_ms + NWS__TICK_MS - 1) / NWS__TICK_MS;
    /* A deadline already behind the wheel goes into the next slot to be processed. */
    if (tick <= w->current_tick) tick = w->current_tick + 1;
    t->deadline_ms = deadline_ms;
    link_timer(&w->slots[tick % NWS__WHEEL_SLOTS], t);
    w->count++;
}

void nws__wheel_cancel(nws__wheel *w, nws__timer *t) {
    if (t->next == NULL) return;
    unlink_timer(t);
    w->count--;
}

void nws__wheel_advance(nws__wheel *w, uint64_t now_ms, void (*fire)(nws__timer *t, void *arg), void *arg) {
    uint64_t target = now_ms / NWS__TICK_MS;
    if (target <= w->current_tick) return;
    /* After a long stall every slot is due once; looking at each one once is enough. */
    uint64_t first = w->current_tick + 1;
    if (target - w->current_tick > NWS__WHEEL_SLOTS) first = target - NWS__WHEEL_SLOTS + 1;
    w->current_tick = target;
    for (uint64_t tick = first; tick <= target; tick++) {
        nws__timer *head = &w->slots[tick % NWS__WHEEL_SLOTS];
        /* Detach the slot first: a fired timer may be set again, possibly into this slot. */
        nws__timer pending = {0};
        if (head->next == head) continue;
        pending.next = head->next;
        pending.prev = head->prev;
        pending.next->prev = &pending;
        pending.prev->next = &pending;
        head->next = head->prev = head;
        while (pending.next != &pending) {
            nws__timer *t = pending.next;
            unlink_timer(t);
            if (t->deadline_ms <= now_ms) {
                w->count--;
                fire(t, arg);
            } else {
                link_timer(head, t);
            }
        }
    }
}

int nws__wheel_timeout_ms(const nws__wheel *w, uint64_t now_ms) {
    if (w->count == 0) return -1;
    uint64_t next = (w->current_tick + 1) * NWS__TICK_MS;
    return next > now_ms ? (int)(next - now_ms) : 0;
}
