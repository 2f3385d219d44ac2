/*
 * eio_polling.c — Engine.IO sessions that began on HTTP long-polling.
 *
 * Such a session is a connection with no socket of its own (fd -1): its id, rooms, timer and
 * messages are the application's like any connection's, and HTTP requests carry its packets.
 * What is sent to it waits in `out`, packets joined by 0x1e (binary as 'b' and base64); a GET
 * takes all of it, or waits until there is some (the heartbeat's ping comes within
 * pingInterval). A POST brings the client's packets. Once a WebSocket has probed ("2probe")
 * and sent "5", it carries the session: what waited goes over it, in order, and from then on
 * every send does. A 200 keeps an HTTP/1.1 connection open for the next request (eio.c).
 */
#include "internal.h"
#include "nws_eio.h"
#include "nws_utf8.h"

#include <stdlib.h>
#include <string.h>

static void answer(nws_loop *loop, nws_conn *http, const void *body, size_t len) {
    nws__eio_answer(loop, http, 200, "text/plain; charset=UTF-8", body, len);
}

/* c no longer serves its session (its cold part goes with the connection, or with its request). */
static void forget_session(nws_conn *c) {
    if (c->cold != NULL) c->cold->session = NULL;
}

/* The waiting GET, no longer the session's (NULL when none waits). */
static nws_conn *take_poll(nws__eio_session *s) {
    nws_conn *get = s->poll;
    if (get == NULL) return NULL;
    s->poll = NULL;
    forget_session(get);
    return get;
}

/* A binary message of a polling body ('b' and base64), decoded into new memory the caller
 * frees: its length, or NWS_EPROTO (bad base64), NWS_ENOMEM. */
static long decode_binary(const nws_eio_packet *p, uint8_t **bytes) {
    long n = nws_eio_base64_decoded_len((const char *)p->data, p->len);
    if (n < 0) return NWS_EPROTO;
    *bytes = malloc(n ? (size_t)n : 1);
    if (*bytes == NULL) return NWS_ENOMEM;
    int rc = nws_eio_base64_decode((const char *)p->data, p->len, *bytes, (size_t)n);
    if (rc < 0) {
        free(*bytes);
        return NWS_EPROTO;
    }
    return rc;
}

/* ---- opening ---- */

nws_conn *nws__eio_session_open(nws_loop *loop, nws_conn *get, const nws_http_request *req) {
    const nws_server_callbacks *cb = cbs(loop);
    /* What the application is told of the request: an upgrade with no WebSocket in it. */
    nws_upgrade up = {0};
    up.path = req->target;
    while (up.path_len < req->target_len && req->target[up.path_len] != '?') up.path_len++;
    if (up.path_len < req->target_len) {
        up.query = req->target + up.path_len + 1;
        up.query_len = req->target_len - up.path_len - 1;
    }
    const nws_http_header *origin = nws_http_find(req, "origin");
    if (origin) {
        up.origin = origin->value;
        up.origin_len = origin->value_len;
    }
    if (cb->check_origin && !cb->check_origin(cb->ctx, up.origin, up.origin_len)) {
        nws__upgrade_refuse(loop, get, 403, "origin not allowed\n");
        return NULL;
    }
    const char *protocol = NULL;
    size_t protocol_len = 0;
    int status = cb->on_upgrade ? cb->on_upgrade(cb->ctx, req, &up, &protocol, &protocol_len) : 0;
    if (status != 0) {
        nws__upgrade_refuse(loop, get, status, NULL);
        return NULL;
    }
    nws__eio_session *s = calloc(1, sizeof *s);
    nws__conn_cold *k = s ? calloc(1, sizeof *k) : NULL;   /* where the session is kept */
    nws_conn *owner = k ? nws__conn_new_virtual(loop) : NULL;
    if (owner == NULL) {
        free(k);
        free(s);
        nws__upgrade_refuse(loop, get, 503, NULL);
        return NULL;
    }
    s->owner = owner;
    k->session = s;
    owner->cold = k;   /* no lock: no other thread knows the new connection's id yet */
    owner->eio = NWS__EIO_POLLING;
    nws__conn_opened(loop, owner);
    if (cb->on_open) {
        nws_open_info info = {req, &up, NULL, 0, loop->index, 1, get->tls != NULL, nws__tls_peer_subject(get)};
        cb->on_open(cb->ctx, conn_id(loop, owner), &info);
    }
    return owner;
}

/* ---- what waits for a GET ---- */

static int reserve(nws__eio_session *s, size_t more) {
    if (s->out_len + more <= s->out_cap) return 0;
    size_t cap = s->out_cap ? s->out_cap : 256;
    while (cap < s->out_len + more) cap *= 2;
    uint8_t *grown = realloc(s->out, cap);
    if (grown == NULL) return NWS_ENOMEM;
    s->out = grown;
    s->out_cap = cap;
    return 0;
}

/* Appends one packet: its type (or 'b'), then data (base64 for a binary message). */
static int append(nws_loop *loop, nws_conn *owner, char type, const void *data, size_t len) {
    nws__eio_session *s = nws__conn_session(owner);
    int binary = type == NWS_EIO_BINARY;
    /* A text holding the separator cannot cross long-polling: the client would split it. */
    if (!binary && len && memchr(data, NWS_EIO_SEPARATOR, len)) return NWS_EINVAL;
    size_t body = binary ? (len + 2) / 3 * 4 : len;
    if (reserve(s, 2 + body) != 0) return NWS_ENOMEM;
    if (s->out_len) s->out[s->out_len++] = NWS_EIO_SEPARATOR;
    s->out[s->out_len++] = (uint8_t)type;
    if (binary) s->out_len += nws_eio_base64_encode(data, len, (char *)s->out + s->out_len);
    else if (len) memcpy(s->out + s->out_len, data, len), s->out_len += len;
    owner->queued = s->out_len;   /* the backlog policy reads it */
    nws__stat_add(&loop->stats.messages_out, 1);
    nws__conn_mark_dirty(loop, owner);   /* flushed to a waiting GET at the end of the iteration */
    return 0;
}

int nws__eio_session_send(nws_loop *loop, nws_conn *c, int opcode, const void *data, size_t len) {
    return append(loop, c, opcode == NWS_OP_BINARY ? NWS_EIO_BINARY : NWS_EIO_MESSAGE, data, len);
}

int nws__eio_session_send_msg(nws_loop *loop, nws_conn *c, nws_msg *m) {
    /* The frame's payload (a server frame: unmasked, its length 7, 16 or 64 bits); a text's is
     * its message packet already ('4' and the text). */
    const uint8_t *frame = m->buf.data;
    size_t seven = frame[1] & 0x7F, header = seven < 126 ? 2 : seven == 126 ? 4 : 10;
    if (m->buf.len < header) return NWS_EINVAL;
    const uint8_t *payload = frame + header;
    size_t len = m->buf.len - header;
    if ((frame[0] & 0x0F) == NWS_OP_BINARY) return append(loop, c, NWS_EIO_BINARY, payload, len);
    if (len == 0) return NWS_EINVAL;
    return append(loop, c, (char)payload[0], payload + 1, len - 1);
}

void nws__eio_session_packet(nws_loop *loop, nws_conn *c, char type) {
    nws__eio_session *s = nws__conn_session(c);
    if (s == NULL) return;
    if (s->upgraded && s->carrier) nws__conn_queue(loop, s->carrier, NWS_OP_TEXT, &type, 1);
    else append(loop, c, type, NULL, 0);
}

void nws__eio_session_flush(nws_loop *loop, nws_conn *c) {
    nws__eio_session *s = nws__conn_session(c);
    if (s == NULL || s->poll == NULL || s->out_len == 0) return;
    answer(loop, take_poll(s), s->out, s->out_len);
    s->out_len = 0;
    c->queued = 0;
}

/* ---- requests ---- */

void nws__eio_session_get(nws_loop *loop, nws_conn *get, nws__eio_session *s) {
    if (s->poll != NULL) {
        /* Two GETs at once: the protocol closes the session; the first learns it with a close
         * packet, the second is refused. */
        answer(loop, take_poll(s), "1", 1);
        nws__eio_refuse(loop, get, NWS_EIO_BAD_REQUEST);
        nws__conn_close(loop, s->owner, NWS_CLOSE_PROTOCOL_ERROR, "duplicate poll", 14);
        return;
    }
    get->cold->session = s;   /* a GET holds its request: it has its cold part */
    s->poll = get;
    get->state = NWS__POLL_WAIT;
    nws__wheel_cancel(&loop->wheel, &get->timer);   /* the session's heartbeat answers it in time */
    nws__eio_session_flush(loop, s->owner);
}

/* One packet of a POST, for the session. 0, or NWS_EPROTO. */
static int post_packet(nws_loop *loop, nws__eio_session *s, const nws_eio_packet *p) {
    nws_conn *owner = s->owner;
    switch (p->type) {
    case NWS_EIO_MESSAGE:
        /* Bytes that came in an HTTP body, not a text frame: nothing has checked them yet. */
        if (!nws_utf8_valid(p->data, p->len)) return NWS_EUTF8;
        nws__conn_deliver(loop, owner, NWS_OP_TEXT, p->data, p->len);
        return 0;
    case NWS_EIO_BINARY: {
        uint8_t *bytes;
        long n = decode_binary(p, &bytes);
        if (n < 0) return (int)n;
        nws__conn_deliver(loop, owner, NWS_OP_BINARY, bytes, (size_t)n);
        free(bytes);
        return 0;
    }
    case NWS_EIO_PONG:
        nws__conn_pong(loop, owner);
        return 0;
    case NWS_EIO_CLOSE:
        s->client_closed = 1;
        nws__conn_close(loop, owner, NWS_CLOSE_NORMAL, NULL, 0);
        return 0;
    case NWS_EIO_PING:
        /* Clients ping only to probe ("probe"): a pong echoes at most a control frame's worth. */
        if (p->len > NWS_CONTROL_MAX - 1) return NWS_EPROTO;
        return append(loop, owner, NWS_EIO_PONG, p->data, p->len);
    case NWS_EIO_UPGRADE:
    case NWS_EIO_NOOP:
        return 0;
    default:
        return NWS_EPROTO;   /* a client never sends an open packet */
    }
}

void nws__eio_session_post(nws_loop *loop, nws_conn *post, nws__eio_session *s, const uint8_t *body, size_t len) {
    nws_conn *owner = s->owner;
    size_t pos = 0;
    nws_eio_packet p;
    int rc;
    while (owner->state == NWS__OPEN && (rc = nws_eio_payload_next(body, len, &pos, &p)) == 1) {
        if ((rc = post_packet(loop, s, &p)) != 0) break;
    }
    if (rc < 0 && owner->state == NWS__OPEN) {
        nws__stat_add(&loop->stats.protocol_errors, 1);
        nws__conn_close(loop, owner, nws_err_close_code(rc), nws_strerror(rc), strlen(nws_strerror(rc)));
        nws__eio_refuse(loop, post, NWS_EIO_BAD_REQUEST);
        return;
    }
    nws__eio_answer(loop, post, 200, "text/html", "ok", 2);
}

/* ---- the upgrade ---- */

void nws__eio_session_upgraded(nws_loop *loop, nws__eio_session *s) {
    nws_conn *carrier = s->carrier;
    s->upgraded = 1;
    nws_conn *get = take_poll(s);
    if (get != NULL) answer(loop, get, "6", 1);   /* released, if the probe's noop has not done it */
    /* What waited for a GET goes over the WebSocket, in order, one frame per packet; but a noop,
     * which only ever releases a GET. */
    size_t pos = 0;
    nws_eio_packet p;
    while (nws_eio_payload_next(s->out, s->out_len, &pos, &p) == 1) {
        if (p.type == NWS_EIO_NOOP) continue;
        if (p.type != NWS_EIO_BINARY) {
            nws__conn_queue(loop, carrier, NWS_OP_TEXT, p.data - 1, p.len + 1);
            continue;
        }
        uint8_t *bytes;
        long n = decode_binary(&p, &bytes);   /* queued by this server: valid base64 */
        if (n < 0) continue;
        nws__conn_queue(loop, carrier, NWS_OP_BINARY, bytes, (size_t)n);
        free(bytes);
    }
    s->out_len = 0;
    s->owner->queued = 0;
}

/* ---- the end ---- */

int nws__eio_session_closing(nws_loop *loop, nws_conn *owner, enum nws__eio_end how) {
    nws__eio_session *s = nws__conn_session(owner);
    if (s == NULL) return 0;
    if (s->carrier != NULL) {
        nws_conn *carrier = s->carrier;
        s->carrier = NULL;
        forget_session(carrier);
        s->out_len = 0;
        if (how == NWS__EIO_END_DROPPED) {
            nws__conn_abort(loop, carrier, 0);
            return 0;
        }
        if (s->upgraded && how == NWS__EIO_END_GRACEFUL) nws__conn_queue(loop, carrier, NWS_OP_TEXT, "1", 1);   /* the close packet */
        nws__conn_close(loop, carrier, NWS_CLOSE_NORMAL, NULL, 0);
        return 0;
    }
    if (how == NWS__EIO_END_DROPPED) {
        s->out_len = 0;
        owner->queued = 0;
        nws_conn *get = take_poll(s);
        if (get != NULL) nws__conn_abort(loop, get, 0);
        return 0;
    }
    if (how == NWS__EIO_END_ERROR) {
        /* A timeout or a protocol error: the session is gone, and a later GET is refused. */
        s->out_len = 0;
        owner->queued = 0;
        nws_conn *get = take_poll(s);
        if (get != NULL) answer(loop, get, "1", 1);
        return 0;
    }
    /* The server's last packets and its close packet go to the client's next poll; after the
     * client's own "1", the poll just returns (a noop). */
    if (!s->client_closed) append(loop, owner, NWS_EIO_CLOSE, NULL, 0);
    nws_conn *get = take_poll(s);
    if (get == NULL) return 1;   /* linger for it */
    nws__eio_session_last_get(loop, get, s);
    return 0;
}

void nws__eio_session_last_get(nws_loop *loop, nws_conn *get, nws__eio_session *s) {
    if (s->out_len) answer(loop, get, s->out, s->out_len);
    else answer(loop, get, "6", 1);
    s->out_len = 0;
    s->owner->queued = 0;
    s->client_closed = 0;   /* answered: any later GET is refused */
}

void nws__eio_carrier_closed(nws_loop *loop, nws_conn *carrier, uint16_t code, const uint8_t *reason, size_t len) {
    nws__eio_session *s = nws__conn_session(carrier);
    if (s == NULL) return;
    forget_session(carrier);
    if (s->carrier != carrier) return;
    s->carrier = NULL;
    /* A probe that failed leaves the session on long-polling; a carrier's end is the session's. */
    if (s->upgraded && s->owner->state == NWS__OPEN)
        nws__conn_close(loop, s->owner, code, (const char *)reason, len);
}

void nws__eio_conn_gone(nws_loop *loop, nws_conn *c) {
    (void)loop;
    nws__eio_session *s = nws__conn_session(c);
    if (s == NULL) return;
    forget_session(c);
    if (s->poll == c) s->poll = NULL;
    if (s->carrier == c) s->carrier = NULL;
    if (s->owner == c) {
        c->queued = 0;   /* what waited was never counted in the loop's queued bytes */
        if (s->poll) forget_session(s->poll);
        if (s->carrier) forget_session(s->carrier);
        free(s->out);
        free(s);
    }
}
