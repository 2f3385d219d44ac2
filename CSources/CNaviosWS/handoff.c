/*
 * handoff.c — a connection moves to another loop. An Engine.IO request (a long-polling GET or
 * POST, a WebSocket that will carry a session) names a session, and everything of a session
 * (its timer, its rooms, its messages) happens on the loop that owns it; the kernel spread the
 * connections over the loops without knowing that. So the loop that accepted the request stops
 * reading its socket; once its backend holds no operation on it, the socket and every byte read
 * from it so far go to the session's loop in a task, which takes the connection as if it had
 * accepted it and reads those bytes again. A client that keeps its connection alive pays this
 * once.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct handoff {
    int fd;
    nws__tls_conn *tls;       /* a TLS connection's session, its records still to send with it */
    size_t len;
    uint8_t bytes[];          /* what was read: plaintext, the TLS session's too */
} handoff;

static void run_handoff(nws_loop *loop, void *payload) {
    handoff *h = payload;
    nws_conn *c = loop->stopping ? NULL : nws__conn_adopted(loop, h->fd, h->tls);
    if (c == NULL) {
        if (h->tls != NULL) {   /* a connection of its own to free it with (its records are dropped) */
            nws_conn stub = {.tls = h->tls};
            nws__sendq_clear(loop, &stub);
            nws__tls_free(loop, &stub);
        }
        close(h->fd);   /* stopping, or over a limit: as a refused accept */
        return;
    }
    c->last_in_ms = nws__ms32(loop->now_ms);
    nws__conn_on_plain(loop, c, h->bytes, h->len);
    if (!c->dead) nws__tls_resume(loop, c);
}

void nws__conn_handoff(nws_loop *loop, nws_conn *c, int to) {
    c->handoff = (uint8_t)(to + 1);
    if (c->tls != NULL) nws__tls_stash(c->tls);
    nws__conn_abort(loop, c, 0);   /* never opened: nothing is reported */
}

void nws__conn_handoff_keep(nws_loop *loop, nws_conn *c, const uint8_t *data, size_t len) {
    if (nws__upgrade_keep(loop, c, data, len) != 0) c->handoff = 0;   /* bytes would be lost: closed instead */
}

void nws__conn_release_fd(nws_loop *loop, nws_conn *c) {
    int fd = c->fd;
    if (fd < 0) return;
    c->fd = -1;
    if (c->handoff == 0) {
        close(fd);
        return;
    }
    size_t held = c->cold != NULL ? c->cold->http_len : 0;   /* the request and what followed it */
    handoff *h = nws__task_new(sizeof *h + held, run_handoff);
    if (h == NULL) {
        close(fd);
        return;
    }
    h->fd = fd;
    h->tls = c->tls;          /* the session goes with its socket */
    c->tls = NULL;
    h->len = held;
    if (held) memcpy(h->bytes, c->cold->http, held);
    if (nws__task_post(&loop->server->loops[c->handoff - 1], h) != 0) close(fd);   /* the loops stopped */
}
