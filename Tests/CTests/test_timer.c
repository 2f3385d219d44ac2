/*
 * test_timer.c — the timer wheel: deadlines fire once, never early, in the tick they fall
 * due; timers beyond one turn of the wheel wait their turn; moving, cancelling and re-arming
 * from inside a firing callback behave; a long stall fires everything due exactly once.
 */
#include "internal.h"
#include "nws_test.h"

typedef struct probe {
    nws__timer timer;
    int fired;
    uint64_t fired_at;
    uint64_t rearm_ms;   /* when non-zero, the callback sets the timer again this far ahead */
} probe;

static nws__wheel wheel;
static uint64_t clock_ms;

static void fire(nws__timer *t, void *arg) {
    (void)arg;
    probe *p = (probe *)t;
    p->fired++;
    p->fired_at = clock_ms;
    if (p->rearm_ms) nws__wheel_set(&wheel, &p->timer, clock_ms + p->rearm_ms);
}

static void advance_to(uint64_t ms) {
    while (clock_ms < ms) {
        clock_ms += 1;
        nws__wheel_advance(&wheel, clock_ms, fire, NULL);
    }
}

static void reset(void) {
    clock_ms = 1000000;
    nws__wheel_init(&wheel, clock_ms);
}

static void timer_firesOnceNotBeforeItsDeadline(void) {
    reset();
    probe p = {0};
    nws__wheel_set(&wheel, &p.timer, clock_ms + 100);
    advance_to(clock_ms + 99);
    NWS_CHECK_EQ(p.fired, 0);
    advance_to(clock_ms + 1 + NWS__TICK_MS);
    NWS_CHECK_EQ(p.fired, 1);
    NWS_CHECK(p.fired_at >= 1000100 && p.fired_at < 1000100 + NWS__TICK_MS + 1);
    advance_to(clock_ms + 10000);
    NWS_CHECK_EQ(p.fired, 1);
    NWS_CHECK_EQ(wheel.count, 0);
}

static void timer_beyondOneTurnWaitsForItsTurn(void) {
    reset();
    probe p = {0};
    uint64_t turn = (uint64_t)NWS__WHEEL_SLOTS * NWS__TICK_MS;
    nws__wheel_set(&wheel, &p.timer, clock_ms + 3 * turn + 40);
    advance_to(clock_ms + 3 * turn + 39);
    NWS_CHECK_EQ(p.fired, 0);
    advance_to(clock_ms + 1 + NWS__TICK_MS);
    NWS_CHECK_EQ(p.fired, 1);
}

static void timer_cancelledNeverFires(void) {
    reset();
    probe p = {0};
    nws__wheel_set(&wheel, &p.timer, clock_ms + 50);
    nws__wheel_cancel(&wheel, &p.timer);
    nws__wheel_cancel(&wheel, &p.timer);   /* twice is harmless */
    advance_to(clock_ms + 1000);
    NWS_CHECK_EQ(p.fired, 0);
    NWS_CHECK_EQ(wheel.count, 0);
}

static void timer_movedFiresAtTheNewDeadlineOnly(void) {
    reset();
    probe p = {0};
    nws__wheel_set(&wheel, &p.timer, clock_ms + 50);
    nws__wheel_set(&wheel, &p.timer, clock_ms + 500);
    NWS_CHECK_EQ(wheel.count, 1);
    advance_to(clock_ms + 400);
    NWS_CHECK_EQ(p.fired, 0);
    advance_to(clock_ms + 200);
    NWS_CHECK_EQ(p.fired, 1);
}

static void timer_rearmedFromItsCallbackFiresPeriodically(void) {
    reset();
    probe p = {.rearm_ms = 100};
    nws__wheel_set(&wheel, &p.timer, clock_ms + 100);
    advance_to(clock_ms + 1005);
    NWS_CHECK(p.fired >= 9 && p.fired <= 10);
    NWS_CHECK_EQ(wheel.count, 1);
}

static void timer_pastDeadlineFiresOnTheNextTick(void) {
    reset();
    probe p = {0};
    nws__wheel_set(&wheel, &p.timer, clock_ms - 500);
    advance_to(clock_ms + NWS__TICK_MS);
    NWS_CHECK_EQ(p.fired, 1);
}

static void timer_longStallFiresEverythingDueOnce(void) {
    reset();
    probe ps[100] = {0};
    for (int i = 0; i < 100; i++) nws__wheel_set(&wheel, &ps[i].timer, clock_ms + 10 + (uint64_t)i * 97);
    clock_ms += 60000;   /* one jump far past every deadline, as after a stalled loop */
    nws__wheel_advance(&wheel, clock_ms, fire, NULL);
    int total = 0;
    for (int i = 0; i < 100; i++) total += ps[i].fired;
    NWS_CHECK_EQ(total, 100);
    NWS_CHECK_EQ(wheel.count, 0);
}

static void timer_timeoutIsMinusOneWhenEmptyElseUntilNextTick(void) {
    reset();
    NWS_CHECK_EQ(nws__wheel_timeout_ms(&wheel, clock_ms), -1);
    probe p = {0};
    nws__wheel_set(&wheel, &p.timer, clock_ms + 5000);
    int t = nws__wheel_timeout_ms(&wheel, clock_ms);
    NWS_CHECK(t >= 0 && t <= (int)NWS__TICK_MS);
}

int main(void) {
    NWS_RUN(timer_firesOnceNotBeforeItsDeadline);
    NWS_RUN(timer_beyondOneTurnWaitsForItsTurn);
    NWS_RUN(timer_cancelledNeverFires);
    NWS_RUN(timer_movedFiresAtTheNewDeadlineOnly);
    NWS_RUN(timer_rearmedFromItsCallbackFiresPeriodically);
    NWS_RUN(timer_pastDeadlineFiresOnTheNextTick);
    NWS_RUN(timer_longStallFiresEverythingDueOnce);
    NWS_RUN(timer_timeoutIsMinusOneWhenEmptyElseUntilNextTick);
    return nws_test_summary("timer");
}
