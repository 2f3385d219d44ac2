/*
 * eio.c — Engine.IO v4 requests, and sessions over WebSocket (nws_eio.h has the packets).
 *
 * A request to config.eio.path is checked as the protocol says: what is wrong gets the
 * protocol's 400 and its JSON body, which clients read. A request without a session id opens a
 * session: over WebSocket the connection is the session; over long-polling it gets a
 * connection with no socket (eio_polling.c). A request with one is for that session: on another
 * loop it moves there first (handoff.c); a GET or POST is long-polling, a WebSocket is the
 * carrier that probes and then takes the session over.
 *
 * Over WebSocket each text frame is one packet: a message packet reaches on_message without
 * its '4' (a carrier's as its session's), and ping, pong, close, upgrade and noop are answered
 * here. Binary frames are binary messages. The heartbeat (the server's "2", the client's "3")
 * runs on the session's timer (liveness.c); sends get their '4' in conn.c.
 */
#include "internal.h"
#include "nws_eio.h"

#include <stdio.h>
#include <stdlib.h>
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

static void query_of(const nws_http_request *req, nws_eio_query *q) {
    const char *query = memchr(req->target, '?', req->target_len);
    size_t query_len = query ? (size_t)(req->target + req->target_len - query - 1) : 0;
    nws_eio_parse_query(query ? query + 1 : "", query_len, q);
}

static int is_post(const nws_http_request *req) {
    return req->method_len == 4 && memcmp(req->method, "POST", 4) == 0;
}

long nws__eio_body_wanted(const nws_loop *loop, const nws_http_request *req) {
    if (!is_post(req) || !nws__eio_is_request(loop, req)) return 0;
    const nws_http_header *length = nws_http_find(req, "content-length");
    if (length == NULL) return 0;
    uint64_t n = 0;
    for (size_t i = 0; i < length->value_len; i++) {
        char d = length->value[i];
        if (d < '0' || d > '9' || n > cfg(loop)->eio.max_payload) return -1;
        n = n * 10 + (uint64_t)(d - '0');
    }
    return n > cfg(loop)->eio.max_payload ? -1 : (long)n;
}

/* The request's Origin when the server allows it (any, without an allow-list), else NULL. */
static const nws_http_header *allowed_origin(nws_loop *loop, const nws_http_request *req) {
    const nws_http_header *origin = nws_http_find(req, "origin");
    if (origin == NULL || origin->value_len == 0 || origin->value_len > 512) return NULL;
    const nws_server_callbacks *cb = cbs(loop);
    if (cb->check_origin && !cb->check_origin(cb->ctx, origin->value, origin->value_len)) return NULL;
    return origin;
}

/* Whether the connection may stay open after this request's answer: HTTP/1.1 without
 * "Connection: close", the server not stopping, and nothing read beyond the request (clients do
 * not pipeline; bytes after it would be a request this answer must not swallow). */
static int keeps_alive(nws_loop *loop, const nws_conn *c, const nws_http_request *req, int head_len) {
    if (req->minor_version != 1 || loop->stopping) return 0;
    const nws_http_header *connection = nws_http_find(req, "connection");
    if (connection && nws_http_list_has(connection->value, connection->value_len, "close")) return 0;
    long body = nws__eio_body_wanted(loop, req);
    return body >= 0 && (size_t)head_len + (size_t)body == c->cold->http_len;   /* the request is held */
}

/* CORS for long-polling: a browser lets a page read a cross-origin answer only with these. The
 * allowed Origin is echoed, with credentials (Engine.IO clients send cookies with withCredentials). */
static void cors_headers(nws_loop *loop, const nws_http_request *req, char *out, size_t cap) {
    out[0] = '\0';
    if (req == NULL) return;
    const nws_http_header *origin = allowed_origin(loop, req);
    if (origin == NULL) return;
    int n = snprintf(out, cap, "Access-Control-Allow-Origin: %.*s\r\nAccess-Control-Allow-Credentials: true\r\n"
                     "Vary: Origin\r\n", (int)origin->value_len, origin->value);
    if (n < 0 || (size_t)n >= cap) out[0] = '\0';
}

void nws__eio_answer(nws_loop *loop, nws_conn *c, int status, const char *content_type, const void *body, size_t len) {
    if (status == 200) {   /* a long-polling body: counted as sent (an error's, like HTTP heads, is not) */
        nws__stat_add(&loop->stats.bytes_out, len);
        nws__stat_add(&loop->stats.eio_bytes_out, len);
    }
    /* The request is read again from the connection's buffer (a waiting GET keeps it). */
    nws_http_request req;
    int parse_status = 0;
    const nws__conn_cold *k = c->cold;
    int head = k && k->http ? nws_http_parse(k->http, k->http_len, 0, &cfg(loop)->http, &req, &parse_status) : -1;
    char cors[640];
    cors_headers(loop, head > 0 ? &req : NULL, cors, sizeof cors);
    if (status == 200 && head > 0 && keeps_alive(loop, c, &req, head))
        nws__upgrade_answer_keep_alive(loop, c, status, content_type, cors, body, len);
    else
        nws__upgrade_answer_with(loop, c, status, content_type, cors, body, len);
}

/* The protocol's error answer: 400 with {"code":N,"message":"..."} as JSON. */
void nws__eio_refuse(nws_loop *loop, nws_conn *c, int error) {
    char body[96];
    int n = nws_eio_error_body(body, sizeof body, error);
    nws__eio_answer(loop, c, 400, "application/json", body, n > 0 ? (size_t)n : 0);
}

/* A CORS preflight (a page that sends its own headers asks first): what may come. */
static void preflight(nws_loop *loop, nws_conn *c, const nws_http_request *req) {
    const nws_http_header *asked = nws_http_find(req, "access-control-request-headers");
    char cors[640], headers[1400];
    cors_headers(loop, req, cors, sizeof cors);
    int n = snprintf(headers, sizeof headers,
                     "%sAccess-Control-Allow-Methods: GET, POST, OPTIONS\r\nAccess-Control-Allow-Headers: %.*s\r\n"
                     "Access-Control-Max-Age: 86400\r\n", cors,
                     asked && asked->value_len <= 256 ? (int)asked->value_len : 12,
                     asked && asked->value_len <= 256 ? asked->value : "content-type");
    if (n < 0 || (size_t)n >= sizeof headers) headers[0] = '\0';
    nws__upgrade_answer_with(loop, c, 204, "text/plain", headers, NULL, 0);
}

/* The open packet of session `id`: upgrades ["websocket"] when it began on long-polling. */
static int open_packet(nws_loop *loop, nws_conn_id id, int polling, char *out, size_t cap) {
    const nws_eio_config *k = &cfg(loop)->eio;
    char sid[NWS_EIO_SID_LEN + 1];
    if (nws_eio_sid_encode(id, loop->server->eio_secret, sid) != 0) return NWS_ESYS;
    return nws_eio_open_packet(out, cap, sid, NWS_EIO_SID_LEN, polling, k->ping_interval_ms, k->ping_timeout_ms,
                               k->max_payload);
}

/* A long-polling handshake: the session opens, and this GET is answered with its open packet. */
static void open_polling_session(nws_loop *loop, nws_conn *c, const nws_http_request *req) {
    nws_conn *owner = nws__eio_session_open(loop, c, req);
    if (owner == NULL) return;   /* refused by the application, answered there */
    char open[256];
    int n = open_packet(loop, conn_id(loop, owner), 1, open, sizeof open);
    if (n < 0) {
        nws__upgrade_refuse(loop, c, 500, NULL);
        nws__conn_close(loop, owner, NWS_CLOSE_INTERNAL_ERROR, NULL, 0);
        return;
    }
    nws__eio_answer(loop, c, 200, "text/plain; charset=UTF-8", open, (size_t)n);
}

/* Besides nws__eio_request's answers: the request moved to its session's loop, which reads it. */
#define HANDED_OFF (-1)

static int route(nws_loop *loop, nws_conn *c, const nws_http_request *req, size_t head_len, int websocket_upgrade) {
    if (req->method_len == 7 && memcmp(req->method, "OPTIONS", 7) == 0) {
        preflight(loop, c, req);
        return NWS__EIO_ANSWERED;
    }
    nws_eio_query q;
    query_of(req, &q);
    int error = NWS_EIO_BAD_REQUEST;
    int rc = nws_eio_classify(req->method, req->method_len, &q, websocket_upgrade, &error);
    if (rc < 0) {
        nws__eio_refuse(loop, c, error);
        return NWS__EIO_ANSWERED;
    }
    if (rc == 0) {
        if (nws_server_draining(loop->server)) {   /* a new session: elsewhere, while this one drains */
            nws__upgrade_refuse_draining(loop, c);
            return NWS__EIO_ANSWERED;
        }
        if (q.transport == NWS_EIO_WEBSOCKET) return NWS__EIO_NEW_WEBSOCKET;
        open_polling_session(loop, c, req);
        return NWS__EIO_ANSWERED;
    }
    uint64_t id;
    if (nws_eio_sid_decode(q.sid, q.sid_len, loop->server->eio_secret, &id) != 0 ||
        nws_conn_loop(id) >= loop->server->loop_count) {
        nws__eio_refuse(loop, c, NWS_EIO_SESSION_UNKNOWN);
        return NWS__EIO_ANSWERED;
    }
    if (nws_conn_loop(id) != loop->index) {
        nws__conn_handoff(loop, c, nws_conn_loop(id));
        return HANDED_OFF;
    }
    nws_conn *owner = nws__loop_conn(loop, id);
    /* A session whose pong is overdue is over, even if its timer has not fired yet. */
    if (owner != NULL && owner->state == NWS__OPEN) nws__conn_catch_up(loop, owner);
    /* A closed session lingering for one last GET (eio_polling.c): what waited for it. */
    nws__eio_session *lingering = owner != NULL && owner->state == NWS__CLOSING ? nws__conn_session(owner) : NULL;
    if (lingering && (lingering->client_closed || lingering->out_len) && q.transport == NWS_EIO_POLLING &&
        !is_post(req)) {
        nws__eio_session_last_get(loop, c, lingering);
        return NWS__EIO_ANSWERED;
    }
    if (owner == NULL || owner->state != NWS__OPEN) {
        nws__eio_refuse(loop, c, NWS_EIO_SESSION_UNKNOWN);
        return NWS__EIO_ANSWERED;
    }
    nws__eio_session *s = nws__conn_session(owner);
    /* A WebSocket for a session that another one probes or carries already is taken, then
     * closed, as Engine.IO servers do (clients expect the upgrade to succeed). */
    if (q.transport == NWS_EIO_WEBSOCKET && s != NULL && (s->upgraded || s->carrier != NULL))
        return NWS__EIO_SPARE_CARRIER;
    /* A session that began on WebSocket, or that a WebSocket carries now, takes no request. */
    if (owner->eio != NWS__EIO_POLLING || s == NULL || s->upgraded) {
        nws__eio_refuse(loop, c, NWS_EIO_BAD_REQUEST);
        return NWS__EIO_ANSWERED;
    }
    owner->last_in_ms = nws__ms32(loop->now_ms);
    if (q.transport == NWS_EIO_WEBSOCKET) {
        c->cold->session = s;   /* its carrier once the handshake is done (upgrade.c); the request is held */
        return NWS__EIO_NEW_CARRIER;
    }
    if (is_post(req)) {
        long body = nws__eio_body_wanted(loop, req);
        nws__eio_session_post(loop, c, s, (const uint8_t *)c->cold->http + head_len, body > 0 ? (size_t)body : 0);
    } else {
        nws__eio_session_get(loop, c, s);
    }
    return NWS__EIO_ANSWERED;
}

int nws__eio_request(nws_loop *loop, nws_conn *c, const nws_http_request *req, size_t head_len, int websocket_upgrade) {
    /* Engine.IO's share of bytes_in (the connection counted them, as it counts every read): the
     * whole request, once, on the loop that serves it. */
    long body = nws__eio_body_wanted(loop, req);
    uint64_t request_len = head_len + (body > 0 ? (uint64_t)body : 0);
    int rc = route(loop, c, req, head_len, websocket_upgrade);
    if (rc == HANDED_OFF) return NWS__EIO_ANSWERED;
    nws__stat_add(&loop->stats.eio_bytes_in, request_len);
    return rc;
}

int nws__eio_opened(nws_loop *loop, nws_conn *c) {
    char open[256];
    int n = open_packet(loop, conn_id(loop, c), 0, open, sizeof open);
    return n < 0 ? n : nws__conn_queue(loop, c, NWS_OP_TEXT, open, (size_t)n);
}

/* The connection whose messages these are: a carrier's are its session's. */
static nws_conn *session_of(nws_conn *c) {
    nws__eio_session *s = c->eio == NWS__EIO_CARRIER ? nws__conn_session(c) : NULL;
    return s ? s->owner : c;
}

/* What a carrier's packets do before the upgrade: answer the probe, release the waiting GET,
 * and at "5" take the session over. Returns 1 when the packet was one of those. */
static int probe_packet(nws_loop *loop, nws_conn *c, const nws_eio_packet *p) {
    nws__eio_session *s = nws__conn_session(c);
    if (s == NULL || s->upgraded) return 0;
    if (p->type == NWS_EIO_PING && p->len == 5 && memcmp(p->data, "probe", 5) == 0) {
        nws__conn_queue(loop, c, NWS_OP_TEXT, "3probe", 6);
        /* The waiting GET returns with a noop, so that the client stops polling. */
        nws__eio_session_packet(loop, s->owner, NWS_EIO_NOOP);
        return 1;
    }
    if (p->type == NWS_EIO_UPGRADE) {
        nws__eio_session_upgraded(loop, s);
        return 1;
    }
    /* Anything else before the upgrade: the probe failed. */
    nws__conn_fail(loop, c, NWS_EPROTO);
    return 1;
}

void nws__eio_input(nws_loop *loop, nws_conn *c, int opcode, const uint8_t *data, size_t len) {
    nws_conn *session = session_of(c);
    session->last_in_ms = nws__ms32(loop->now_ms);   /* a carrier's traffic is its session's (idle timeout) */
    if (opcode == NWS_OP_BINARY) {
        nws__eio_session *s = c->eio == NWS__EIO_CARRIER ? nws__conn_session(c) : NULL;
        if (c->eio == NWS__EIO_CARRIER && !(s && s->upgraded)) {
            nws__conn_fail(loop, c, NWS_EPROTO);
            return;
        }
        nws__conn_deliver(loop, session, opcode, data, len);
        return;
    }
    nws_eio_packet p;
    if (nws_eio_packet_parse(data, len, &p) != 1) {
        nws__conn_fail(loop, c, NWS_EPROTO);
        return;
    }
    if (c->eio == NWS__EIO_CARRIER && probe_packet(loop, c, &p)) return;
    switch (p.type) {
    case NWS_EIO_MESSAGE:
        nws__conn_deliver(loop, session, NWS_OP_TEXT, p.data, p.len);
        break;
    case NWS_EIO_PONG:
        nws__conn_pong(loop, session);
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
