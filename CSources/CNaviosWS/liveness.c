/*
 * liveness.c — what a connection's timer means, as pure functions over what they are given:
 * a handshake that took too long, a peer that never answered our close, an idle connection,
 * a ping that is due, a pong that never came. conn.c carries the actions out; the decisions
 * are tested without sockets (Tests/CTests/test_liveness.c).
 */
#include "internal.h"

/* The heartbeat a connection keeps: Engine.IO's (always on: the protocol has one) or
 * WebSocket's (when configured). */
static void heartbeat(const nws__liveness *l, const nws_server_config *k, uint32_t *interval, uint32_t *timeout) {
    /* A carrier's session keeps the heartbeat: the carrier keeps none of its own. */
    *interval = l->eio == NWS__EIO_CARRIER ? 0 : l->eio ? k->eio.ping_interval_ms : k->ping_interval_ms;
    *timeout = l->eio ? k->eio.ping_timeout_ms : k->pong_timeout_ms;
}

nws__timer_action nws__liveness_on_timer(const nws__liveness *l, const nws_server_config *k, uint64_t now) {
    switch (l->state) {
    case NWS__HANDSHAKE: return NWS__TIMER_HANDSHAKE_TIMEOUT;
    case NWS__REFUSING:
    case NWS__CLOSING: return NWS__TIMER_ABORT;   /* the peer never answered our close or never read */
    default: break;
    }
    if (k->idle_timeout_ms && now - l->last_in_ms >= k->idle_timeout_ms) return NWS__TIMER_CLOSE_IDLE;
    uint32_t interval, timeout;
    heartbeat(l, k, &interval, &timeout);
    if (interval) {
        if (l->awaiting_pong && now - l->ping_sent_ms >= timeout) return NWS__TIMER_PONG_TIMEOUT;
        if (!l->awaiting_pong && now - l->ping_sent_ms >= interval) return NWS__TIMER_PING;
    }
    return NWS__TIMER_REARM;
}

uint64_t nws__liveness_deadline(const nws__liveness *l, const nws_server_config *k) {
    uint64_t deadline = UINT64_MAX;
    if (k->idle_timeout_ms) deadline = l->last_in_ms + k->idle_timeout_ms;
    uint32_t interval, timeout;
    heartbeat(l, k, &interval, &timeout);
    if (interval) {
        uint64_t d = l->awaiting_pong ? l->ping_sent_ms + timeout : l->ping_sent_ms + interval;
        if (d < deadline) deadline = d;
    }
    return deadline;
}

uint64_t nws__liveness_ping_time(const nws__liveness *l, const nws_server_config *k, uint64_t now) {
    uint32_t interval, timeout;
    heartbeat(l, k, &interval, &timeout);
    uint64_t due = l->ping_sent_ms + interval;
    return due <= now && now - due <= 2 * NWS__TICK_MS ? due : now;
}
