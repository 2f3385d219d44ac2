/*
 * upgrade.c — a connection before it is a WebSocket: the HTTP request read across partial
 * reads (nws_http_parse), then either the upgrade (nws_handshake_check, the Origin and the
 * application's say, the 101 answer) or an HTTP answer: the health endpoint, a configured page,
 * or the error status the request earned. Frames the client pipelined behind its request go on
 * to conn.c once the connection is open.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_BUF_START 1024u


/* Queues an HTTP answer (head[0..n), then body) and closes once it is sent; n < 0 or n past
 * head_cap (the head did not fit) aborts instead. */
static void answer_then_close(nws_loop *loop, nws_conn *c, const char *head, int n, size_t head_cap,
                              const void *body, size_t body_len) {
    c->state = NWS__REFUSING;
    if (n < 0 || (size_t)n >= head_cap ||
        nws__sendq_append(loop, c, (const uint8_t *)head, (size_t)n, body, body_len) != 0) {
        nws__conn_abort(loop, c, 0);
        return;
    }
    nws__conn_mark_dirty(loop, c);
    nws__wheel_set(&loop->wheel, &c->timer, loop->now_ms + cfg(loop)->close_timeout_ms);
}

/* Answers with an HTTP status (and a short body), then closes once it is sent. */
void nws__upgrade_refuse(nws_loop *loop, nws_conn *c, int status, const char *body) {
    char answer[512];
    int n = nws_http_error_response(answer, sizeof answer, status, body, body ? strlen(body) : 0);
    if (status != 200) nws__stat_add(&loop->stats.refused, 1);
    answer_then_close(loop, c, answer, n, sizeof answer, NULL, 0);
}

void nws__upgrade_answer(nws_loop *loop, nws_conn *c, int status, const char *content_type, const void *body,
                         size_t len) {
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
                     status, nws_http_reason(status), content_type, len);
    if (status != 200) nws__stat_add(&loop->stats.refused, 1);
    answer_then_close(loop, c, head, n, sizeof head, body, len);
}

static int target_is(const nws_http_request *req, const char *path) {
    size_t path_len = 0;
    while (path_len < req->target_len && req->target[path_len] != '?') path_len++;
    return path_len == strlen(path) && memcmp(req->target, path, path_len) == 0;
}

static int is_plain_get(const nws_http_request *req) {
    return req->method_len == 3 && memcmp(req->method, "GET", 3) == 0 && nws_http_find(req, "upgrade") == NULL;
}

static int is_health_request(nws_loop *loop, const nws_http_request *req) {
    const char *health = cfg(loop)->health_path;
    return health != NULL && is_plain_get(req) && target_is(req, health);
}

/* A plain GET of a configured page: 200 with its body, then close. Returns 1 when answered. */
static int serve_page(nws_loop *loop, nws_conn *c, const nws_http_request *req) {
    if (!is_plain_get(req)) return 0;
    const nws_server_config *k = cfg(loop);
    for (size_t i = 0; i < k->page_count; i++) {
        const nws_page *page = &k->pages[i];
        if (!target_is(req, page->path)) continue;
        nws__upgrade_answer(loop, c, 200, page->content_type, page->body, page->body_len);
        return 1;
    }
    return 0;
}

/* A complete request head is in c->http[0..head_len). Returns 1 when the connection is open. */
static int upgrade(nws_loop *loop, nws_conn *c, const nws_http_request *req) {
    nws_upgrade up;
    int status = nws_handshake_check(req, &up);
    /* 426: no WebSocket upgrade was asked for. */
    int engine_io = nws__eio_is_request(loop, req);
    if (engine_io && nws__eio_refuse_request(loop, c, req, status != 426)) return 0;
    if (status == 426 && is_health_request(loop, req)) {
        nws__upgrade_refuse(loop, c, 200, "ok\n");
        return 0;
    }
    if (status == 426 && serve_page(loop, c, req)) return 0;
    /* A server that serves pages answers other plain GETs as a web server would. */
    if (status == 426 && cfg(loop)->page_count > 0 && is_plain_get(req)) {
        nws__upgrade_refuse(loop, c, 404, NULL);
        return 0;
    }
    if (status != 0) {
        nws__upgrade_refuse(loop, c, status, NULL);
        return 0;
    }
    const nws_server_callbacks *cb = cbs(loop);
    if (cb->check_origin && !cb->check_origin(cb->ctx, up.origin, up.origin_len)) {
        nws__upgrade_refuse(loop, c, 403, "origin not allowed\n");
        return 0;
    }
    const char *protocol = NULL;
    size_t protocol_len = 0;
    if (cb->on_upgrade) {
        status = cb->on_upgrade(cb->ctx, req, &up, &protocol, &protocol_len);
        if (status != 0) {
            nws__upgrade_refuse(loop, c, status, NULL);
            return 0;
        }
    }
    char answer[512];
    int n = nws_handshake_response(answer, sizeof answer, up.key, up.key_len, protocol, protocol_len, NULL, 0);
    if (n < 0 || nws__sendq_append(loop, c, (const uint8_t *)answer, (size_t)n, NULL, 0) != 0) {
        nws__conn_abort(loop, c, 0);
        return 0;
    }
    nws__conn_mark_dirty(loop, c);
    if (engine_io) c->eio = NWS__EIO_WEBSOCKET;   /* before its timer is set: Engine.IO's heartbeat */
    nws__conn_opened(loop, c);
    /* An Engine.IO session's open packet is its first frame, before anything on_open sends. */
    if (engine_io && nws__eio_opened(loop, c) != 0) {
        nws__conn_abort(loop, c, 0);
        return 0;
    }
    if (cb->on_open) {
        nws_open_info info = {req, &up, protocol, protocol_len, loop->index, engine_io};
        cb->on_open(cb->ctx, conn_id(loop, c), &info);
    }
    return c->state == NWS__OPEN || c->state == NWS__CLOSING;
}

void nws__upgrade_input(nws_loop *loop, nws_conn *c, uint8_t *data, size_t len) {
    const nws_server_config *k = cfg(loop);
    /* Room for one byte over the limit, so the parser can tell "over" from "exactly at". */
    size_t limit = k->http.max_head_bytes + 1;
    size_t take = len < limit - c->http_len ? len : limit - c->http_len;
    if (c->http_len + take > c->http_cap) {
        size_t cap = c->http_cap ? c->http_cap : HTTP_BUF_START;
        while (cap < c->http_len + take) cap *= 2;
        if (cap > limit) cap = limit;
        char *p = realloc(c->http, cap);
        if (p == NULL) {
            nws__conn_abort(loop, c, 0);
            return;
        }
        c->http = p;
        c->http_cap = (uint32_t)cap;
    }
    memcpy(c->http + c->http_len, data, take);
    c->http_len += (uint32_t)take;
    nws_http_request req;
    int status = 0;
    int rc = nws_http_parse(c->http, c->http_len, c->http_prev, &k->http, &req, &status);
    c->http_prev = c->http_len;
    if (rc == NWS_EPARTIAL) return;
    if (rc < 0) {
        nws__upgrade_refuse(loop, c, status ? status : 400, NULL);
    } else if (upgrade(loop, c, &req)) {
        /* Frames the client pipelined behind its request: first those already copied... */
        size_t head = (size_t)rc;
        if (head < c->http_len) nws__conn_frames_input(loop, c, (uint8_t *)c->http + head, c->http_len - head);
        /* ...then the rest of this read, which did not fit the request buffer. */
        if (take < len && !c->dead) nws__conn_frames_input(loop, c, data + take, len - take);
    }
    free(c->http);
    c->http = NULL;
    c->http_len = c->http_cap = c->http_prev = 0;
}
