/*
 * upgrade.c — a connection before it is a WebSocket: the HTTP request read across partial
 * reads (nws_http_parse), then either the upgrade (nws_handshake_check, the Origin and the
 * application's say, the 101 answer) or an HTTP answer: the health endpoint, a configured page,
 * or the error status the request earned. Frames the client pipelined behind its request go on
 * to conn.c once the connection is open.
 */
#include "internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    nws__upgrade_answer_with(loop, c, status, content_type, "", body, len);
}

void nws__upgrade_answer_with(nws_loop *loop, nws_conn *c, int status, const char *content_type, const char *headers,
                              const void *body, size_t len) {
    char head[2048];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-cache\r\n%sConnection: close\r\n\r\n",
                     status, nws_http_reason(status), content_type, len, headers);
    if (status != 200) nws__stat_add(&loop->stats.refused, 1);
    answer_then_close(loop, c, head, n, sizeof head, body, len);
}

void nws__upgrade_answer_keep_alive(nws_loop *loop, nws_conn *c, int status, const char *content_type,
                                    const char *headers, const void *body, size_t len) {
    char head[2048];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-cache\r\n%sConnection: keep-alive\r\n\r\n",
                     status, nws_http_reason(status), content_type, len, headers);
    if (n < 0 || (size_t)n >= sizeof head ||
        nws__sendq_append(loop, c, (const uint8_t *)head, (size_t)n, body, len) != 0) {
        nws__conn_abort(loop, c, 0);
        return;
    }
    nws__conn_mark_dirty(loop, c);
    /* Ready for the next request, as if just accepted; its wait is the handshake timeout. */
    nws__upgrade_request_free(loop, c);
    c->state = NWS__HANDSHAKE;
    c->kept_alive = 1;
    nws__wheel_set(&loop->wheel, &c->timer, loop->now_ms + cfg(loop)->handshake_timeout_ms);
}

static int target_is(const nws_http_request *req, const char *path) {
    size_t path_len = 0;
    while (path_len < req->target_len && req->target[path_len] != '?') path_len++;
    return path_len == strlen(path) && memcmp(req->target, path, path_len) == 0;
}

static int is_plain_get(const nws_http_request *req) {
    return req->method_len == 3 && memcmp(req->method, "GET", 3) == 0 && nws_http_find(req, "upgrade") == NULL;
}

/* A plain GET of a configured path (NULL: none configured). */
static int is_get_of(const nws_http_request *req, const char *path) {
    return path != NULL && is_plain_get(req) && target_is(req, path);
}

void nws__upgrade_refuse_draining(nws_loop *loop, nws_conn *c) {
    char retry[48];
    snprintf(retry, sizeof retry, "Retry-After: %u\r\n", atomic_load(&loop->server->retry_after_s));
    nws__upgrade_answer_with(loop, c, 503, "text/plain", retry, "draining\n", 9);
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

/* A plain GET the application answers (on_http). Returns 1 when answered. */
static int serve_dynamic(nws_loop *loop, nws_conn *c, const nws_http_request *req) {
    const nws_server_callbacks *cb = cbs(loop);
    if (cb->on_http == NULL || !is_plain_get(req)) return 0;
    nws_http_reply reply = {.status = 200, .content_type = "text/plain"};
    if (!cb->on_http(cb->ctx, req, &reply)) {
        free(reply.body);
        return 0;
    }
    reply.headers[sizeof reply.headers - 1] = '\0';
    nws__upgrade_answer_with(loop, c, reply.status, reply.content_type ? reply.content_type : "text/plain",
                             reply.headers, reply.body, reply.body ? reply.body_len : 0);
    free(reply.body);
    return 1;
}

/* permessage-deflate: the first acceptable offer over every Sec-WebSocket-Extensions line
 * (RFC 7692 §5). 1 and the answer's extension when one was accepted. */
static int negotiate_deflate(const nws_loop *loop, const nws_http_request *req, nws_deflate_params *params,
                             char response[NWS_DEFLATE_RESPONSE_MAX], size_t *response_len) {
    const nws_deflate_config *k = &cfg(loop)->deflate;
    if (k->mode == NWS_DEFLATE_OFF) return 0;
    for (size_t i = 0; i < req->num_headers; i++) {
        const nws_http_header *h = &req->headers[i];
        if (h->name_len == 24 && strncasecmp(h->name, "Sec-WebSocket-Extensions", 24) == 0 &&
            nws_deflate_negotiate(k, h->value, h->value_len, params, response, response_len))
            return 1;
    }
    return 0;
}

/* A complete request head is in c->http[0..head_len). Returns 1 when the connection is open. */
static int upgrade(nws_loop *loop, nws_conn *c, const nws_http_request *req, size_t head_len) {
    nws_upgrade up;
    int status = nws_handshake_check(req, &up);
    int engine_io = nws__eio_is_request(loop, req), carrier = 0;
    if (engine_io) {
        const nws_http_header *asked = nws_http_find(req, "upgrade");
        int websocket = asked != NULL && nws_http_list_has(asked->value, asked->value_len, "websocket");
        int kind = nws__eio_request(loop, c, req, head_len, websocket);
        if (kind == NWS__EIO_ANSWERED) return 0;
        carrier = kind == NWS__EIO_NEW_CARRIER || kind == NWS__EIO_SPARE_CARRIER;
    }
    if (status == 426 && is_get_of(req, cfg(loop)->health_path)) {
        nws__upgrade_refuse(loop, c, 200, "ok\n");
        return 0;
    }
    if (status == 426 && is_get_of(req, cfg(loop)->ready_path)) {
        if (nws_server_ready(loop->server)) nws__upgrade_refuse(loop, c, 200, "ready\n");
        else if (nws_server_draining(loop->server)) nws__upgrade_refuse_draining(loop, c);
        else nws__upgrade_refuse(loop, c, 503, "not ready\n");
        return 0;
    }
    if (status == 426 && serve_page(loop, c, req)) return 0;
    if (status == 426 && serve_dynamic(loop, c, req)) return 0;
    /* A server that serves pages answers other plain GETs as a web server would. */
    if (status == 426 && cfg(loop)->page_count > 0 && is_plain_get(req)) {
        nws__upgrade_refuse(loop, c, 404, NULL);
        return 0;
    }
    if (status != 0) {
        nws__upgrade_refuse(loop, c, status, NULL);
        return 0;
    }
    /* A carrier takes over a session opened before the drain: that client is served on. */
    if (!carrier && nws_server_draining(loop->server)) {
        nws__upgrade_refuse_draining(loop, c);
        return 0;
    }
    const nws_server_callbacks *cb = cbs(loop);
    if (cb->check_origin && !cb->check_origin(cb->ctx, up.origin, up.origin_len)) {
        nws__upgrade_refuse(loop, c, 403, "origin not allowed\n");
        return 0;
    }
    const char *protocol = NULL;
    size_t protocol_len = 0;
    /* A carrier's session was the application's to refuse when it opened. */
    if (cb->on_upgrade && !carrier) {
        status = cb->on_upgrade(cb->ctx, req, &up, &protocol, &protocol_len);
        if (status != 0) {
            nws__upgrade_refuse(loop, c, status, NULL);
            return 0;
        }
    }
    nws_deflate_params deflate;
    char extension[NWS_DEFLATE_RESPONSE_MAX];
    size_t extension_len = 0;
    if (negotiate_deflate(loop, req, &deflate, extension, &extension_len) && nws__deflate_accept(loop, c, &deflate) != 0)
        extension_len = 0;   /* no memory for its streams: the connection goes on uncompressed */
    char answer[512 + NWS_DEFLATE_RESPONSE_MAX];
    int n = nws_handshake_response(answer, sizeof answer, up.key, up.key_len, protocol, protocol_len,
                                   extension_len ? extension : NULL, extension_len);
    if (n < 0 || nws__sendq_append(loop, c, (const uint8_t *)answer, (size_t)n, NULL, 0) != 0) {
        nws__conn_abort(loop, c, 0);
        return 0;
    }
    nws__conn_mark_dirty(loop, c);
    /* Before its timer is set: Engine.IO's heartbeat, or none for a carrier (its session's). */
    if (engine_io) c->eio = carrier ? NWS__EIO_CARRIER : NWS__EIO_WEBSOCKET;
    nws__conn_opened(loop, c);
    if (carrier) {
        /* Not a connection of the application's: its session is. It carries the session from
         * now on, unless another WebSocket took it first: a spare is closed at once. */
        c->opened = 0;
        nws__stat_sub(&loop->stats.open, 1);
        nws__eio_session *s = c->cold->session;   /* the request is still held: c has its cold part */
        if (s != NULL && s->carrier == NULL && !s->upgraded) s->carrier = c;
        else c->cold->session = NULL;
        if (c->cold->session == NULL) nws__conn_close(loop, c, NWS_CLOSE_NORMAL, NULL, 0);
        return 1;
    }
    /* An Engine.IO session's open packet is its first frame, before anything on_open sends. */
    if (engine_io && nws__eio_opened(loop, c) != 0) {
        nws__conn_abort(loop, c, 0);
        return 0;
    }
    if (cb->on_open) {
        nws_open_info info = {req, &up, protocol, protocol_len, loop->index, engine_io, c->tls != NULL,
                              nws__tls_peer_subject(c)};
        cb->on_open(cb->ctx, conn_id(loop, c), &info);
    }
    return c->state == NWS__OPEN || c->state == NWS__CLOSING;
}

/* http_prev when the head is whole and a POST's body is still coming (the parser's resume
 * point is not needed any more). */
#define HEAD_DONE UINT32_MAX

static int grow(nws__conn_cold *k, size_t need, size_t limit) {
    if (need <= k->http_cap) return 0;
    size_t cap = k->http_cap ? k->http_cap : HTTP_BUF_START;
    while (cap < need) cap *= 2;
    if (cap > limit) cap = limit;
    char *p = realloc(k->http, cap);
    if (p == NULL) return NWS_ENOMEM;
    k->http = p;
    k->http_cap = (uint32_t)cap;
    return 0;
}

int nws__upgrade_keep(nws_loop *loop, nws_conn *c, const uint8_t *data, size_t len) {
    nws__conn_cold *k = nws__conn_cold_get(loop, c);
    if (k == NULL || grow(k, k->http_len + len, SIZE_MAX) != 0) return NWS_ENOMEM;
    memcpy(k->http + k->http_len, data, len);
    k->http_len += (uint32_t)len;
    return 0;
}

void nws__upgrade_request_free(nws_loop *loop, nws_conn *c) {
    nws__conn_cold *k = c->cold;
    if (k == NULL) return;
    free(k->http);
    k->http = NULL;
    k->http_len = k->http_cap = k->http_prev = 0;
    nws__conn_cold_trim(loop, c);
}

void nws__upgrade_input(nws_loop *loop, nws_conn *c, uint8_t *data, size_t len) {
    const nws_server_config *cf = cfg(loop);
    nws_http_request req;
    int status = 0, rc;
    /* The request is read into the connection's cold part, which stays while it is held. */
    nws__conn_cold *k = nws__conn_cold_get(loop, c);
    if (k == NULL) {
        nws__conn_abort(loop, c, 0);
        return;
    }
    /* Room for one byte over the limit, so the parser can tell "over" from "exactly at"; a POST
     * to Engine.IO's path takes its body as well (up to eio.max_payload) once its head is whole. */
    size_t limit = cf->http.max_head_bytes + 1;
    if (k->http_prev == HEAD_DONE) {
        rc = nws_http_parse(k->http, k->http_len, 0, &cf->http, &req, &status);
        limit = (size_t)rc + (size_t)nws__eio_body_wanted(loop, &req);
    }
    size_t take = len < limit - k->http_len ? len : limit - k->http_len;
    if (grow(k, k->http_len + take, limit) != 0) {
        nws__conn_abort(loop, c, 0);
        return;
    }
    memcpy(k->http + k->http_len, data, take);
    k->http_len += (uint32_t)take;
    rc = nws_http_parse(k->http, k->http_len, k->http_prev == HEAD_DONE ? 0 : k->http_prev, &cf->http, &req, &status);
    if (k->http_prev != HEAD_DONE) k->http_prev = k->http_len;
    if (rc == NWS_EPARTIAL) return;
    if (rc < 0) {
        nws__upgrade_refuse(loop, c, status ? status : 400, NULL);
        goto done;
    }
    long body = nws__eio_body_wanted(loop, &req);
    if (body < 0) {
        nws__upgrade_refuse(loop, c, 413, NULL);
        goto done;
    }
    if (k->http_len < (size_t)rc + (size_t)body) {
        /* The head is whole and the body is coming: the rest of this read is body too. */
        int first = k->http_prev != HEAD_DONE;
        k->http_prev = HEAD_DONE;
        if (first && take < len) nws__upgrade_input(loop, c, data + take, len - take);
        return;
    }
    /* The rest of this read (frames pipelined behind the request) joins what was read: all of
     * it is the connection's input once open, and goes with it if it moves to another loop. */
    if (take < len) {
        if (nws__upgrade_keep(loop, c, data + take, len - take) != 0) {
            nws__conn_abort(loop, c, 0);
            goto done;
        }
        rc = nws_http_parse(k->http, k->http_len, 0, &cf->http, &req, &status);   /* the head moved with the buffer */
    }
    if (upgrade(loop, c, &req, (size_t)rc)) {
        size_t head = (size_t)rc;
        if (head < k->http_len) nws__conn_frames_input(loop, c, (uint8_t *)k->http + head, k->http_len - head);
    } else if (c->handoff) {
        return;   /* the request goes to the other loop (handoff.c) */
    }
done:
    if (c->state == NWS__POLL_WAIT) return;   /* a waiting GET keeps its request: its answer reads Origin */
    nws__upgrade_request_free(loop, c);
}
