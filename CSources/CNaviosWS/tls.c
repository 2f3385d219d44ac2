/*
 * tls.c — TLS on the loop threads (nws_tls.h): the server's certificates, and each TLS
 * connection's session between the bytes the backend moves and the plaintext the rest of the
 * core reads and queues.
 *
 * OpenSSL reads and writes through a BIO of ours: reading takes from the bytes the backend
 * just received (no copy into a memory BIO), writing appends records to the connection's
 * records queue (sendq.c), which the backend sends as it sends any queue. Plaintext queued on
 * the connection is sealed once per loop iteration (and when a send completes), in runs of up
 * to 16 KiB, so a burst of frames becomes few records.
 *
 * Certificates: one SSL_CTX per certificate, the first the default; SNI picks another by
 * name. The set is immutable and reference counted: a reload swaps in a new set, connections
 * keep the one they started with.
 */
#include "internal.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RECORD_PLAIN 16384u   /* the most plaintext one record carries */

typedef struct nws__tls_contexts {
    atomic_int refs;
    size_t count;
    SSL_CTX **ctx;            /* [0]: the default */
    char **names;             /* the SNI name of each, or NULL */
} nws__tls_contexts;

/* ---- certificates ---- */

static void contexts_release(nws__tls_contexts *set) {
    if (set == NULL || atomic_fetch_sub(&set->refs, 1) != 1) return;
    for (size_t i = 0; i < set->count; i++) {
        SSL_CTX_free(set->ctx[i]);
        free(set->names[i]);
    }
    free(set->ctx);
    free(set->names);
    free(set);
}

/* "*.example.com" matches one label in front of example.com; anything else matches itself. */
static int name_matches(const char *pattern, const char *name) {
    if (strncmp(pattern, "*.", 2) == 0) {
        const char *dot = strchr(name, '.');
        return dot != NULL && dot != name && strcasecmp(dot + 1, pattern + 2) == 0;
    }
    return strcasecmp(pattern, name) == 0;
}

static int on_server_name(SSL *ssl, int *alert, void *arg) {
    (void)alert;
    nws__tls_contexts *set = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name == NULL) return SSL_TLSEXT_ERR_NOACK;
    for (size_t i = 0; i < set->count; i++) {
        if (set->names[i] != NULL && name_matches(set->names[i], name)) {
            SSL_set_SSL_CTX(ssl, set->ctx[i]);
            return SSL_TLSEXT_ERR_OK;
        }
    }
    return SSL_TLSEXT_ERR_NOACK;   /* the default certificate answers */
}

/* ALPN: http/1.1 when offered (the upgrade is HTTP/1.1); otherwise none is chosen. */
static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *out_len, const unsigned char *in,
                   unsigned int in_len, void *arg) {
    (void)ssl;
    (void)arg;
    static const unsigned char http11[] = "\x08http/1.1";
    unsigned char *chosen;
    if (SSL_select_next_proto(&chosen, out_len, http11, sizeof http11 - 1, in, in_len) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

static int use_pem(SSL_CTX *ctx, const char *cert_pem, const char *key_pem) {
    BIO *b = BIO_new_mem_buf(cert_pem, -1);
    X509 *leaf = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    int ok = leaf != NULL && SSL_CTX_use_certificate(ctx, leaf) == 1;
    X509_free(leaf);
    for (X509 *extra; ok && (extra = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL;)
        ok = SSL_CTX_add0_chain_cert(ctx, extra) == 1;
    ERR_clear_error();   /* the end of the chain reads as an error */
    BIO_free(b);
    b = ok ? BIO_new_mem_buf(key_pem, -1) : NULL;
    EVP_PKEY *key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    ok = key != NULL && SSL_CTX_use_PrivateKey(ctx, key) == 1;
    EVP_PKEY_free(key);
    BIO_free(b);
    return ok;
}

static SSL_CTX *context_new(const nws_tls_config *k, const nws_tls_cert *cert, nws__tls_contexts *set) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) return NULL;
    SSL_CTX_set_min_proto_version(ctx, k->min_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    /* Idle connections give their record buffers back; renegotiation is a DoS lever. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    int ok = cert->cert_file ? SSL_CTX_use_certificate_chain_file(ctx, cert->cert_file) == 1 &&
                                   SSL_CTX_use_PrivateKey_file(ctx, cert->key_file, SSL_FILETYPE_PEM) == 1
                             : cert->cert_pem && cert->key_pem && use_pem(ctx, cert->cert_pem, cert->key_pem);
    ok = ok && SSL_CTX_check_private_key(ctx) == 1;
    if (ok && k->client_ca_file != NULL) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(k->client_ca_file);
        ok = names != NULL && SSL_CTX_load_verify_locations(ctx, k->client_ca_file, NULL) == 1;
        if (names) SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (k->client_cert_optional ? 0 : SSL_VERIFY_FAIL_IF_NO_PEER_CERT),
                           NULL);
    }
    SSL_CTX_set_tlsext_servername_callback(ctx, on_server_name);
    SSL_CTX_set_tlsext_servername_arg(ctx, set);
    SSL_CTX_set_alpn_select_cb(ctx, on_alpn, NULL);
    if (!ok) {
        SSL_CTX_free(ctx);
        ERR_clear_error();
        return NULL;
    }
    return ctx;
}

static nws__tls_contexts *contexts_new(const nws_tls_config *k) {
    if (k->cert_count == 0 || k->certs == NULL) return NULL;
    nws__tls_contexts *set = calloc(1, sizeof *set);
    if (set == NULL) return NULL;
    atomic_init(&set->refs, 1);
    set->ctx = calloc(k->cert_count, sizeof *set->ctx);
    set->names = calloc(k->cert_count, sizeof *set->names);
    if (set->ctx == NULL || set->names == NULL) {
        contexts_release(set);
        return NULL;
    }
    for (size_t i = 0; i < k->cert_count; i++) {
        set->count = i + 1;
        set->ctx[i] = context_new(k, &k->certs[i], set);
        const char *name = k->certs[i].server_name;
        set->names[i] = name ? strdup(name) : NULL;
        if (set->ctx[i] == NULL || (name != NULL && set->names[i] == NULL)) {
            contexts_release(set);
            return NULL;
        }
    }
    return set;
}

int nws__tls_server_init(nws_server *s) {
    pthread_mutex_init(&s->tls_lock, NULL);
    if (s->config.tls.cert_count == 0) return 0;
    s->tls_contexts = contexts_new(&s->config.tls);
    return s->tls_contexts != NULL ? 0 : NWS_EINVAL;
}

void nws__tls_server_free(nws_server *s) {
    contexts_release(s->tls_contexts);
    s->tls_contexts = NULL;
    pthread_mutex_destroy(&s->tls_lock);
}

int nws_server_tls_reload(nws_server *s, const nws_tls_config *tls) {
    if (s == NULL || tls == NULL || s->tls_contexts == NULL) return NWS_EINVAL;
    nws__tls_contexts *set = contexts_new(tls);
    if (set == NULL) return NWS_EINVAL;
    pthread_mutex_lock(&s->tls_lock);
    nws__tls_contexts *old = s->tls_contexts;
    s->tls_contexts = set;
    pthread_mutex_unlock(&s->tls_lock);
    contexts_release(old);
    return 0;
}

/* ---- the BIO between OpenSSL and the connection ---- */

static int bio_read(BIO *b, char *out, int len) {
    nws__tls_conn *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (t->in_len == 0) {
        BIO_set_retry_read(b);
        return -1;
    }
    size_t n = (size_t)len < t->in_len ? (size_t)len : t->in_len;
    memcpy(out, t->in, n);
    t->in += n;
    t->in_len -= n;
    return (int)n;
}

/* The connection a BIO writes for: set while a loop thread drives its session. A handshake
 * step's records are staged in the loop's plaintext run, unused then, until the step's outcome
 * says whether they go now (a flight, an alert) or wait (tickets: hold_tickets). */
static _Thread_local struct {
    nws_loop *loop;
    nws_conn *c;
    size_t staged;
    uint8_t staging;
} writing;

static int append(const uint8_t *data, size_t len) {
    return nws__sendq_append_records(writing.loop, writing.c, data, len);
}

/* What the step staged goes to the wire queue. */
static int unstage(void) {
    size_t n = writing.staged;
    writing.staged = 0;
    writing.staging = 0;
    return n > 0 ? append(writing.loop->tls_plain, n) : 0;
}

/* Held tickets precede whatever the session writes next: their records are numbered before it. */
static int release_tickets(nws__tls_conn *t) {
    uint8_t *tickets = t->tickets;
    t->tickets = NULL;
    int rc = append(tickets, t->tickets_len);
    free(tickets);
    return rc;
}

static int bio_write(BIO *b, const char *data, int len) {
    BIO_clear_retry_flags(b);
    if (writing.c == NULL) return -1;
    nws__tls_conn *t = writing.c->tls;
    if (writing.staging) {
        if (writing.staged + (size_t)len <= NWS__TLS_RUN) {
            memcpy(writing.loop->tls_plain + writing.staged, data, (size_t)len);
            writing.staged += (size_t)len;
            return len;
        }
        if (unstage() != 0) return -1;   /* a flight larger than the stage goes as it comes */
    } else if (__builtin_expect(t->tickets != NULL, 0) && release_tickets(t) != 0) {
        return -1;
    }
    return append((const uint8_t *)data, (size_t)len) == 0 ? len : -1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static void bio_method_init(void) {
    bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "navios-ws");
    BIO_meth_set_read(bio_method, bio_read);
    BIO_meth_set_write(bio_method, bio_write);
    BIO_meth_set_ctrl(bio_method, bio_ctrl);
}

/* ---- a connection's session ---- */

int nws__tls_accept(nws_loop *loop, nws_conn *c) {
    nws_server *s = loop->server;
    pthread_once(&bio_once, bio_method_init);
    nws__tls_conn *t = calloc(1, sizeof *t);
    if (t == NULL || bio_method == NULL) {
        free(t);
        return NWS_ENOMEM;
    }
    pthread_mutex_lock(&s->tls_lock);
    t->contexts = s->tls_contexts;
    atomic_fetch_add(&t->contexts->refs, 1);
    pthread_mutex_unlock(&s->tls_lock);
    SSL *ssl = SSL_new(t->contexts->ctx[0]);
    BIO *bio = BIO_new(bio_method);
    if (ssl == NULL || bio == NULL) {
        SSL_free(ssl);
        BIO_free(bio);
        contexts_release(t->contexts);
        free(t);
        return NWS_ENOMEM;
    }
    BIO_set_data(bio, t);
    BIO_set_init(bio, 1);
    SSL_set_bio(ssl, bio, bio);
    SSL_set_accept_state(ssl);
    t->ssl = ssl;
    c->tls = t;
    return 0;
}

void nws__tls_free(nws_loop *loop, nws_conn *c) {
    (void)loop;
    nws__tls_conn *t = c->tls;
    if (t == NULL) return;
    nws__tls_buffers_forget(t);
    SSL_free(t->ssl);
    contexts_release(t->contexts);
    free(t->peer_subject);
    free(t->pending);
    free(t->tickets);
    free(t);
    c->tls = NULL;
}

void nws__tls_stash(nws__tls_conn *t) {
    nws__tls_buffers_forget(t);   /* off this loop's list: the adopting loop counts afresh */
    if (t->in_len == 0) return;
    uint8_t *copy = realloc(t->pending, t->pending_len + t->in_len);
    if (copy == NULL) return;   /* those records are lost: the peer will find the session broken */
    memcpy(copy + t->pending_len, t->in, t->in_len);
    t->pending = copy;
    t->pending_len += t->in_len;
    t->in_len = 0;
}

void nws__tls_resume(nws_loop *loop, nws_conn *c) {
    nws__tls_conn *t = c->tls;
    if (t == NULL || t->pending == NULL) return;
    uint8_t *records = t->pending;
    size_t len = t->pending_len;
    t->pending = NULL;
    t->pending_len = 0;
    nws__tls_input(loop, c, records, len);
    free(records);
}

const char *nws__tls_peer_subject(const nws_conn *c) {
    return c->tls != NULL ? c->tls->peer_subject : NULL;
}

/* The first bytes of plain HTTP ("GET / HTTP/1.1"), where a TLS record would begin with 0x16. */
static int looks_like_http(const uint8_t *p, size_t len) {
    size_t i = 0;
    while (i < len && i < 8 && p[i] >= 'A' && p[i] <= 'Z') i++;
    return i >= 3 && i < len && p[i] == ' ';
}

static void record_peer(nws__tls_conn *t) {
    X509 *peer = SSL_get1_peer_certificate(t->ssl);
    if (peer == NULL) return;
    BIO *b = BIO_new(BIO_s_mem());
    if (b != NULL && X509_NAME_print_ex(b, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253) >= 0) {
        char *text;
        long n = BIO_get_mem_data(b, &text);
        t->peer_subject = n >= 0 ? strndup(text, (size_t)n) : NULL;
    }
    BIO_free(b);
    X509_free(peer);
}

/* TLS 1.3 session tickets go with the server's next write (its first response), not on their
 * own as soon as the client's Finished arrives (OpenSSL writes them in the step that reads it).
 * A client speaks first here (its upgrade request), and a client that writes on one thread while
 * another thread blocks in a read on the same session (Python's sync WebSocket and Socket.IO
 * clients) can stall inside OpenSSL when tickets arrive while it writes that request: the request
 * never leaves (Tests/Interop/test_tls.py). Sent with the response, they arrive while the client
 * waits for it. Holding OpenSSL's own records, rather than asking for tickets later, keeps its
 * counts and spares the session a second pass through its handshake buffers. */
static void hold_tickets(nws__tls_conn *t) {
    if (writing.staged == 0 || !writing.staging) return;
    t->tickets = malloc(writing.staged);
    if (t->tickets == NULL) return;   /* they go now, as OpenSSL would send them */
    memcpy(t->tickets, writing.loop->tls_plain, writing.staged);
    t->tickets_len = writing.staged;
    writing.staged = 0;
}

/* The session failed: its alert (already queued) goes, then the connection. */
static void fail(nws_loop *loop, nws_conn *c) {
    c->tls->failed = 1;
    ERR_clear_error();
    if (c->queued > 0) {
        c->discard_input = 1;
        c->state = NWS__REFUSING;   /* closed once its queue is sent, or at the close timeout */
        nws__wheel_set(&loop->wheel, &c->timer, loop->now_ms + cfg(loop)->close_timeout_ms);
        nws__conn_mark_dirty(loop, c);
    } else {
        nws__conn_abort(loop, c, 0);
    }
}

void nws__tls_input(nws_loop *loop, nws_conn *c, const uint8_t *data, size_t len) {
    nws__tls_conn *t = c->tls;
    if (t->failed) return;
    if (!t->established && SSL_get_state(t->ssl) == TLS_ST_BEFORE && looks_like_http(data, len)) {
        /* Plain HTTP to the TLS port: said so in plain HTTP, as web servers do. */
        char answer[256];
        static const char why[] = "this port speaks TLS: use https:// or wss://\n";
        int n = nws_http_error_response(answer, sizeof answer, 400, why, sizeof why - 1);
        t->failed = 1;
        if (n > 0) nws__sendq_append_records(loop, c, (const uint8_t *)answer, (size_t)n);
        fail(loop, c);
        return;
    }
    writing.loop = loop;
    writing.c = c;
    t->in = data;
    t->in_len = len;
    nws__tls_buffers_used(loop, t, 1);
    int handshaking = !t->established;
    if (handshaking) {
        writing.staging = 1;
        int rc = SSL_do_handshake(t->ssl);
        if (rc == 1) {
            t->established = 1;
            if (SSL_version(t->ssl) == TLS1_3_VERSION) hold_tickets(t);   /* all this step wrote */
            record_peer(t);
        }
        if (unstage() != 0 || (rc != 1 && SSL_get_error(t->ssl, rc) != SSL_ERROR_WANT_READ)) {
            fail(loop, c);
            goto done;
        }
    }
    /* The records read fill one run of plaintext before the core parses it: a client that
     * sends one record per message then costs one parse per run, not per message. */
    uint8_t *plain = loop->tls_plain;
    size_t used = 0;
    while (t->established && !c->dead) {
        int n = SSL_read(t->ssl, plain + used, (int)(NWS__TLS_RUN - used));
        /* Asked at once: SSL_get_error reads the thread's error queue and the session's last
         * I/O, which parsing the run below may touch. */
        int err = n > 0 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, n);
        if (n > 0 && (used += (size_t)n) < NWS__TLS_RUN) continue;
        if (used > 0) {
            nws__conn_on_plain(loop, c, plain, used);
            used = 0;
            if (c->tls != t) {   /* the session moved to another loop with its socket (handoff.c) */
                writing.c = NULL;
                ERR_clear_error();
                return;
            }
        }
        if (n > 0) continue;
        if (err == SSL_ERROR_WANT_READ) break;
        if (c->dead) {   /* closed by what was just parsed: this read's outcome no longer matters */
            ERR_clear_error();
            break;
        }
        if (err == SSL_ERROR_ZERO_RETURN) nws__conn_on_eof(loop, c);   /* close_notify: as a FIN */
        else fail(loop, c);
        break;
    }
done:
    t->in = NULL;
    t->in_len = 0;
    writing.c = NULL;
    if (c->dead || t->wire_head == NULL) return;
    /* A handshake step costs a key exchange and a signature, hundreds of microseconds: its
     * flight goes to the kernel now, not after the other handshakes of this iteration. */
    if (handshaking) nws__loop_send_now(loop, c);
    else nws__conn_mark_dirty(loop, c);
}

void nws__tls_seal(nws_loop *loop, nws_conn *c) {
    nws__tls_conn *t = c->tls;
    if (c->head == NULL || !t->established || t->failed) return;
    writing.loop = loop;
    writing.c = c;
    uint8_t *run = loop->tls_plain;
    size_t total = 0, used = 0;
    for (nws__seg *s = c->head; s != NULL; s = s->next) {
        const uint8_t *p = s->buf->data + s->off;
        size_t left = s->len;
        while (left > 0) {
            /* A record that one segment fills alone (a whole one, or the queue's last bytes) is
             * sealed where it lies; the run gathers only what several segments share. */
            if (used == 0 && (left >= RECORD_PLAIN || s->next == NULL)) {
                size_t n = left < RECORD_PLAIN ? left : RECORD_PLAIN;
                if (SSL_write(t->ssl, p, (int)n) != (int)n) goto broken;
                total += n, p += n, left -= n;
                continue;
            }
            size_t n = left < RECORD_PLAIN - used ? left : RECORD_PLAIN - used;
            memcpy(run + used, p, n);
            used += n, p += n, left -= n;
            if (used == RECORD_PLAIN && SSL_write(t->ssl, run, (int)used) != (int)used) goto broken;
            if (used == RECORD_PLAIN) total += used, used = 0;
        }
    }
    if (used > 0 && SSL_write(t->ssl, run, (int)used) != (int)used) goto broken;
    total += used;
    writing.c = NULL;
    nws__tls_buffers_used(loop, t, 0);
    nws__sendq_consume_plain(loop, c, total);
    return;
broken:
    writing.c = NULL;
    nws__conn_abort(loop, c, NWS_CLOSE_ABNORMAL);
}

int nws__tls_close_notify(nws_loop *loop, nws_conn *c) {
    nws__tls_conn *t = c->tls;
    if (t->notified || !t->established || t->failed) return 0;
    t->notified = 1;
    writing.loop = loop;
    writing.c = c;
    SSL_shutdown(t->ssl);
    writing.c = NULL;
    ERR_clear_error();
    return t->wire_head != NULL;
}
