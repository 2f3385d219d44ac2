/*
 * test_liveness.c — what a connection's timer means, without sockets: the decisions of
 * liveness.c for every state, at the instants just before and at each limit, and the deadline
 * an open connection's timer is set to.
 */
#include <stdint.h>

#include "internal.h"
#include "nws_test.h"

static nws_server_config config(uint32_t idle, uint32_t ping, uint32_t pong) {
    return (nws_server_config){.idle_timeout_ms = idle, .ping_interval_ms = ping, .pong_timeout_ms = pong};
}

static nws__liveness open_at(uint64_t last_in, uint64_t ping_sent, int awaiting) {
    return (nws__liveness){.state = NWS__OPEN, .awaiting_pong = (uint8_t)awaiting, .last_in_ms = last_in, .ping_sent_ms = ping_sent};
}

static void liveness_connectionsNotOpenEndWhenTheirTimerFires(void) {
    nws_server_config k = config(0, 0, 0);
    nws__liveness handshake = {.state = NWS__HANDSHAKE};
    nws__liveness refusing = {.state = NWS__REFUSING};
    nws__liveness closing = {.state = NWS__CLOSING};
    NWS_CHECK_EQ(nws__liveness_on_timer(&handshake, &k, 5), NWS__TIMER_HANDSHAKE_TIMEOUT);
    NWS_CHECK_EQ(nws__liveness_on_timer(&refusing, &k, 5), NWS__TIMER_ABORT);
    NWS_CHECK_EQ(nws__liveness_on_timer(&closing, &k, 5), NWS__TIMER_ABORT);
}

/* Nothing due a millisecond before `due`, `action` at it, and `due` as the next deadline. */
#define CHECK_DUE(l, k, due, action) do { \
        NWS_CHECK_EQ(nws__liveness_on_timer((l), (k), (due) - 1), NWS__TIMER_REARM); \
        NWS_CHECK_EQ(nws__liveness_on_timer((l), (k), (due)), (action)); \
        NWS_CHECK_EQ(nws__liveness_deadline((l), (k)), (due)); \
    } while (0)

static void liveness_anIdleConnectionIsClosedAtTheIdleTimeoutNotBefore(void) {
    nws_server_config k = config(1000, 0, 0);
    nws__liveness l = open_at(500, 0, 0);
    CHECK_DUE(&l, &k, 1500, NWS__TIMER_CLOSE_IDLE);
}

static void rfc6455_5_5_2_aPingIsDueAtTheIntervalAndItsPongWithinTheTimeout(void) {
    nws_server_config k = config(0, 30000, 5000);
    nws__liveness l = open_at(0, 1000, 0);
    CHECK_DUE(&l, &k, 31000, NWS__TIMER_PING);
    nws__liveness waiting = open_at(0, 31000, 1);   /* the ping went out at 31000 */
    CHECK_DUE(&waiting, &k, 36000, NWS__TIMER_PONG_TIMEOUT);
}

static void liveness_theIdleTimeoutComesFirstAndTheEarlierDeadlineWins(void) {
    nws_server_config k = config(2000, 30000, 5000);
    nws__liveness l = open_at(100, 0, 1);   /* idle and awaiting a pong, both due */
    NWS_CHECK_EQ(nws__liveness_on_timer(&l, &k, 10000), NWS__TIMER_CLOSE_IDLE);
    NWS_CHECK_EQ(nws__liveness_deadline(&l, &k), 2100);   /* idle at 2100, pong at 5000 */
    nws__liveness busy = open_at(9000, 0, 1);
    NWS_CHECK_EQ(nws__liveness_deadline(&busy, &k), 5000);
}

static void liveness_withoutIdleTimeoutOrHeartbeatThereIsNoTimer(void) {
    nws_server_config k = config(0, 0, 0);
    nws__liveness l = open_at(0, 0, 0);
    NWS_CHECK_EQ(nws__liveness_on_timer(&l, &k, UINT64_MAX / 2), NWS__TIMER_REARM);
    NWS_CHECK(nws__liveness_deadline(&l, &k) == UINT64_MAX);
}

/* An Engine.IO connection keeps Engine.IO's heartbeat, whatever WebSocket's is (off here):
 * the ping at pingInterval, the close at pingTimeout after it (the suite's 300 + 200 ms). */
static void engineio_theHeartbeatIsEngineIOsOwnOnSuchAConnection(void) {
    nws_server_config k = config(0, 0, 0);
    k.eio.ping_interval_ms = 300;
    k.eio.ping_timeout_ms = 200;
    nws__liveness l = open_at(0, 1000, 0);
    l.eio = 1;
    CHECK_DUE(&l, &k, 1300, NWS__TIMER_PING);
    nws__liveness waiting = open_at(0, 1300, 1);
    waiting.eio = 1;
    CHECK_DUE(&waiting, &k, 1500, NWS__TIMER_PONG_TIMEOUT);
    nws__liveness plain = open_at(0, 1000, 0);   /* the same connection without Engine.IO: no timer */
    NWS_CHECK(nws__liveness_deadline(&plain, &k) == UINT64_MAX);
}

/* A ping the wheel's tick made a little late counts from when it was due, so that its pong's
 * deadline is where clients put it; one much later (a stalled loop) counts from now. */
static void liveness_aPingCountsFromWhenItWasDueUnlessFarLate(void) {
    nws_server_config k = config(0, 300, 200);
    nws__liveness l = open_at(0, 1000, 0);
    NWS_CHECK_EQ(nws__liveness_ping_time(&l, &k, 1300), 1300);
    NWS_CHECK_EQ(nws__liveness_ping_time(&l, &k, 1306), 1300);
    NWS_CHECK_EQ(nws__liveness_ping_time(&l, &k, 1316), 1300);
    NWS_CHECK_EQ(nws__liveness_ping_time(&l, &k, 1400), 1400);
}

/* A connection keeps its times in 32 bits (nws__ms32): the full time comes back from the loop's
 * clock for any time less than 2^32 ms in the past, across the 32-bit wrap too. */
static void liveness_timesKeptIn32BitsComeBackWhole(void) {
    const uint64_t wrap = 1ull << 32;
    const uint64_t cases[][2] = {{5, 5}, {1000, 10}, {wrap + 5, wrap - 10}, {wrap + 5, wrap + 5}, {3 * wrap + 7, 2 * wrap + 8},
                                 {1000 * wrap, 1000 * wrap - wrap + 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t now = cases[i][0], then = cases[i][1];
        NWS_CHECK_EQ(nws__ms_from32(now, nws__ms32(then)), then);
    }
}

int main(void) {
    NWS_RUN(liveness_aPingCountsFromWhenItWasDueUnlessFarLate);
    NWS_RUN(liveness_timesKeptIn32BitsComeBackWhole);
    NWS_RUN(engineio_theHeartbeatIsEngineIOsOwnOnSuchAConnection);
    NWS_RUN(liveness_connectionsNotOpenEndWhenTheirTimerFires);
    NWS_RUN(liveness_anIdleConnectionIsClosedAtTheIdleTimeoutNotBefore);
    NWS_RUN(rfc6455_5_5_2_aPingIsDueAtTheIntervalAndItsPongWithinTheTimeout);
    NWS_RUN(liveness_theIdleTimeoutComesFirstAndTheEarlierDeadlineWins);
    NWS_RUN(liveness_withoutIdleTimeoutOrHeartbeatThereIsNoTimer);
    return nws_test_summary("liveness");
}
