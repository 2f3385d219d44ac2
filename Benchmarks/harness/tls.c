/*
 * tls.c — wss:// on the harness's side (--tls): each connection runs an OpenSSL client session
 * over memory BIOs. What the scenario queues in `out` is plaintext; when the worker flushes, it
 * is sealed into records, and those (with anything the handshake wrote) are what the send
 * carries. Received bytes are records: they go into the session, and the plaintext that comes
 * out takes the path plain bytes take.
 *
 * The server's certificate is not verified: the harness measures servers on loopback with
 * throwaway certificates. Each connection makes a full handshake (no session resumption), so
 * the connect scenario counts full TLS handshakes.
 */
#include "bench.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

struct wst_conn {
    SSL *ssl;
    BIO *in, *out;            /* records received; records to send */
    int established;
};

static SSL_CTX *client_ctx(worker *w) {
    if (w->tls_ctx == NULL) {
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
        if (ctx == NULL) abort();
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        static const unsigned char alpn[] = "\x08http/1.1";
        SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);
        w->tls_ctx = ctx;
    }
    return w->tls_ctx;
}

int wst_start(worker *w, wsconn *c) {
    struct wst_conn *t = calloc(1, sizeof *t);
    if (t == NULL) return -1;
    t->ssl = SSL_new(client_ctx(w));
    t->in = BIO_new(BIO_s_mem());
    t->out = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->in == NULL || t->out == NULL) abort();
    BIO_set_mem_eof_return(t->in, -1);   /* empty: "retry", not end of stream */
    SSL_set_bio(t->ssl, t->in, t->out);
    SSL_set_connect_state(t->ssl);
    SSL_set_tlsext_host_name(t->ssl, w->opt->host);
    c->tls = t;
    SSL_do_handshake(t->ssl);   /* the ClientHello, into `out` */
    worker_mark_dirty(w, c);
    return 0;
}

int wst_pending(const wsconn *c) {
    return BIO_ctrl_pending(c->tls->out) > 0;
}

int wst_seal(wsconn *c, outbuf *wire) {
    struct wst_conn *t = c->tls;
    if (t->established && c->out.len > c->out.off) {
        int n = SSL_write(t->ssl, c->out.data + c->out.off, (int)(c->out.len - c->out.off));
        if (n <= 0) return -1;
        c->out.off = c->out.len = 0;
    }
    size_t pending = BIO_ctrl_pending(t->out);
    if (pending == 0) return 0;
    if (wire->cap < wire->len + pending) {
        uint8_t *p = realloc(wire->data, wire->len + pending);
        if (p == NULL) return -1;
        wire->data = p;
        wire->cap = wire->len + pending;
    }
    int got = BIO_read(t->out, wire->data + wire->len, (int)pending);
    if (got > 0) wire->len += (size_t)got;
    return 0;
}

int wst_input(worker *w, wsconn *c, const uint8_t *data, size_t len, void (*plain)(worker *, wsconn *, uint8_t *, size_t)) {
    struct wst_conn *t = c->tls;
    if (BIO_write(t->in, data, (int)len) != (int)len) return -1;
    if (!t->established) {
        int rc = SSL_do_handshake(t->ssl);
        if (rc != 1) {
            if (SSL_get_error(t->ssl, rc) != SSL_ERROR_WANT_READ) return -1;
            if (wst_pending(c)) worker_mark_dirty(w, c);
            return 0;
        }
        t->established = 1;
        worker_mark_dirty(w, c);   /* the upgrade request waited for this */
    }
    for (;;) {
        int n = SSL_read(t->ssl, w->tls_plain, (int)sizeof w->tls_plain);
        if (n > 0) {
            plain(w, c, w->tls_plain, (size_t)n);
            if (c->tls == NULL || c->state == WS_DEAD) return 0;
            continue;
        }
        int err = SSL_get_error(t->ssl, n);
        if (wst_pending(c)) worker_mark_dirty(w, c);   /* post-handshake messages, alerts */
        if (err == SSL_ERROR_WANT_READ) return 0;
        if (err == SSL_ERROR_ZERO_RETURN) return 0;   /* close_notify: the TCP end follows */
        return -1;
    }
}

void wst_free(wsconn *c) {
    if (c->tls == NULL) return;
    SSL_free(c->tls->ssl);   /* and its BIOs */
    free(c->tls);
    c->tls = NULL;
}

void wst_worker_free(worker *w) {
    SSL_CTX_free(w->tls_ctx);
    w->tls_ctx = NULL;
}
