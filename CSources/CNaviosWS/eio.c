/*
 * eio.c — Engine.IO v4 sessions over WebSocket (nws_eio.h has the packets).
 *
 * A request to config.eio.path is checked as the protocol says: what is not a new WebSocket
 * session gets the protocol's 400 and its JSON body, which clients read. An open session's
 * first frame is its open packet; after that each text frame is one packet: a message packet
 * reaches on_message without its '4', and ping, pong, close, upgrade and noop are answered
 * here. Binary frames are binary messages. The heartbeat (the server's "2", the client's "3")
 * runs on the connection's timer (liveness.c); sends get their '4' in conn.c.
 */
#include "internal.h"
#include "nws_eio.h"

#include <stdio.h>
#include <string.h>

/* The length of a path without its trailing slash: "/socket.io/" and "/socket.io" are one. */
static size_t trimmed(const char *path, size_t len) {
    return len > 1 && path[len - 1] == '/' ? len - 1 : len;
}

int nws__eio_is_request(const nws_loop *loop, const nws_http_request *req) {
    const char *path = cfg(loop)->eio.path;
    if (path == NULL) return 0;
    size_t target = 0;
    while (target < req->target_len && req->target[target] != '?') target++;
    size_t want = trimmed(path, strlen(path)), got = trimmed(req->target, target);
    return want == got && memcmp(path, req->target, want) == 0;
}

/* The protocol's error answer: 400 with {"code":N,"message":"..."} as JSON. */
static void refuse(nws_loop *loop, nws_conn *c, int error) {
    char body[96];
    int n = nws_eio_error_body(body, sizeof body, error);
    nws__upgrade_answer(loop, c, 400, "application/json", body, n > 0 ? (size_t)n : 0);
}

int nws__eio_refuse_request(nws_loop *loop, nws_conn *c, const nws_http_request *req, int websocket_upgrade) {
    const char *query = memchr(req->target, '?', req->target_len);
    size_t query_len = query ? (size_t)(req->target + req->target_len - query - 1) : 0;
    nws_eio_query q;
    nws_eio_parse_query(query ? query + 1 : "", query_len, &q);
    int error = NWS_EIO_BAD_REQUEST;
    int rc = nws_eio_classify(req->method, req->method_len, &q, websocket_upgrade, &error);
    if (rc == 0 && q.transport == NWS_EIO_WEBSOCKET) return 0;   /* a new session over WebSocket */
    /* A session lives as long as its WebSocket: no sid names one (HTTP long-polling, which
     * would keep sessions between requests, is not served). */
    if (rc == 1) error = NWS_EIO_SESSION_UNKNOWN;
    else if (rc == 0) error = NWS_EIO_TRANSPORT_UNKNOWN;
    refuse(loop, c, error);
    return 1;
}

int nws__eio_opened(nws_loop *loop, nws_conn *c) {
    const nws_eio_config *k = &cfg(loop)->eio;
    char sid[NWS_EIO_SID_LEN + 1];
    char open[256];
    if (nws_eio_new_sid(sid) != 0) return NWS_ESYS;
    int n = nws_eio_open_packet(open, sizeof open, sid, NWS_EIO_SID_LEN, 0, k->ping_interval_ms, k->ping_timeout_ms,
                                k->max_payload);
    if (n < 0) return n;
    return nws__conn_queue(loop, c, NWS_OP_TEXT, open, (size_t)n);
}

void nws__eio_input(nws_loop *loop, nws_conn *c, int opcode, const uint8_t *data, size_t len) {
    if (opcode == NWS_OP_BINARY) {
        nws__conn_deliver(loop, c, opcode, data, len);
        return;
    }
    nws_eio_packet p;
    if (nws_eio_packet_parse(data, len, &p) != 1) {
        nws__conn_fail(loop, c, NWS_EPROTO);
        return;
    }
    switch (p.type) {
    case NWS_EIO_MESSAGE:
        nws__conn_deliver(loop, c, NWS_OP_TEXT, p.data, p.len);
        break;
    case NWS_EIO_PONG:
        nws__conn_pong(loop, c);
        break;
    case NWS_EIO_PING: {
        /* A client pings only to probe a transport ("2probe"): answered in kind. */
        uint8_t pong[NWS_CONTROL_MAX];
        if (p.len + 1 > sizeof pong) {
            nws__conn_fail(loop, c, NWS_EPROTO);
            return;
        }
        pong[0] = NWS_EIO_PONG;
        memcpy(pong + 1, p.data, p.len);
        nws__conn_queue(loop, c, NWS_OP_TEXT, pong, p.len + 1);
        break;
    }
    case NWS_EIO_CLOSE:
        nws__conn_close(loop, c, NWS_CLOSE_NORMAL, NULL, 0);
        break;
    case NWS_EIO_UPGRADE:
    case NWS_EIO_NOOP:
        break;   /* nothing to upgrade from on a session that began on WebSocket */
    default:
        nws__conn_fail(loop, c, NWS_EPROTO);   /* a client never sends an open packet */
        break;
    }
}
