/*
 * tls_buffers.c — when a TLS session keeps its record buffers.
 *
 * OpenSSL gives a session's read and write buffers (about 17 KiB each) back whenever they empty
 * (SSL_MODE_RELEASE_BUFFERS, set on every context): an idle connection then costs its session's
 * state and no buffers. But a busy one pays a malloc and a free of each buffer on every read and
 * every write. So a session that has read HOT_READS times keeps its buffers, and joins its
 * loop's list of such sessions; once a second the loop gives the buffers back of those that
 * neither read nor wrote since the last look, and they release them again from then on.
 */
#include "internal.h"

#include <openssl/ssl.h>

/* Reads after which a session counts as busy: a handshake and an upgrade take fewer. */
#define HOT_READS 16
#define SWEEP_MS 1000

static void join(nws_loop *loop, nws__tls_conn *t) {
    t->hot_next = loop->tls_hot;
    if (t->hot_next != NULL) t->hot_next->hot_prev = &t->hot_next;
    t->hot_prev = &loop->tls_hot;
    loop->tls_hot = t;
    if (t->hot_next == NULL) loop->tls_sweep_ms = loop->now_ms + SWEEP_MS;
}

void nws__tls_buffers_used(nws_loop *loop, nws__tls_conn *t, int read) {
    t->used = 1;
    if (t->hot_prev != NULL || !read || ++t->reads < HOT_READS) return;
    SSL_clear_mode(t->ssl, SSL_MODE_RELEASE_BUFFERS);
    join(loop, t);
}

void nws__tls_buffers_forget(nws__tls_conn *t) {
    t->reads = 0;
    if (t->hot_prev == NULL) return;
    *t->hot_prev = t->hot_next;
    if (t->hot_next != NULL) t->hot_next->hot_prev = t->hot_prev;
    t->hot_prev = NULL;
    SSL_set_mode(t->ssl, SSL_MODE_RELEASE_BUFFERS);
}

void nws__tls_buffers_sweep(nws_loop *loop) {
    for (nws__tls_conn *t = loop->tls_hot, *next; t != NULL; t = next) {
        next = t->hot_next;
        if (t->used) {
            t->used = 0;
            continue;
        }
        nws__tls_buffers_forget(t);
        SSL_free_buffers(t->ssl);   /* refused (0) while a record is half read: freed when it empties */
    }
    loop->tls_sweep_ms = loop->now_ms + SWEEP_MS;
}
