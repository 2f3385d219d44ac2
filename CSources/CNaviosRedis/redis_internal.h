/*
 * redis_internal.h — what the Redis link's files share: the link itself, one connection
 * (socket, TLS, RESP reader, write buffer), the channel set, and the small containers.
 *
 * Ownership: the fields under "shared" are guarded by link->mu and touched by any thread;
 * everything else belongs to the link thread alone (set up before it starts, freed after it
 * is joined).
 */
#ifndef NWS_REDIS_INTERNAL_H
#define NWS_REDIS_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* eventfd, clock_gettime, getaddrinfo, MSG_NOSIGNAL under -std=c11 */
#endif

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#include <openssl/ssl.h>

#include "nws_redis.h"

/* ---- a byte buffer written at the end, consumed from the front ---- */
typedef struct nws__rbuf {
    char *data;
    size_t off;               /* first byte not yet consumed */
    size_t len;               /* end of the bytes held */
    size_t cap;
} nws__rbuf;

int nws__rbuf_append(nws__rbuf *b, const void *p, size_t n);   /* 0 or -ENOMEM */
static inline size_t nws__rbuf_size(const nws__rbuf *b) { return b->len - b->off; }
void nws__rbuf_consume(nws__rbuf *b, size_t n);
void nws__rbuf_free(nws__rbuf *b);

/* ---- what the command connection waits for, in the order the commands were written ---- */
enum { NWS__EXPECT_AUTH, NWS__EXPECT_SELECT, NWS__EXPECT_PING, NWS__EXPECT_PUBLISH, NWS__EXPECT_REPLY };

typedef struct nws__expect {
    uint64_t token;           /* EXPECT_REPLY: whom to answer (0: no one); EXPECT_PUBLISH: when
                                 it was queued (nws__redis_now_ns), for its latency */
    int kind;
} nws__expect;

typedef struct nws__fifo {    /* a ring of expectations; cap is a power of two */
    nws__expect *items;
    size_t head, count, cap;
} nws__fifo;

int nws__fifo_push(nws__fifo *f, int kind, uint64_t token);     /* 0 or -ENOMEM */
int nws__fifo_pop(nws__fifo *f, nws__expect *out);              /* 1, or 0 when empty */
void nws__fifo_free(nws__fifo *f);

/* ---- the subscription set: channels are byte strings, NUL allowed ---- */
typedef struct nws__chan {
    struct nws__chan *next;
    uint64_t hash;
    size_t len;
    char name[];
} nws__chan;

typedef struct nws__chanset {
    nws__chan **buckets;
    size_t nbuckets;          /* a power of two, or 0 before the first add */
    size_t count;
} nws__chanset;

int nws__chanset_add(nws__chanset *s, const char *name, size_t len);    /* 1 added, 0 there, -ENOMEM */
int nws__chanset_remove(nws__chanset *s, const char *name, size_t len); /* 1 removed, 0 absent */
int nws__chanset_has(const nws__chanset *s, const char *name, size_t len);
/* Calls fn for every channel until it returns non-zero, which is then returned. */
int nws__chanset_each(const nws__chanset *s, int (*fn)(void *arg, const nws__chan *c), void *arg);
void nws__chanset_free(nws__chanset *s);

/* ---- one connection to Redis ---- */
enum { NWS__RCONN_CLOSED, NWS__RCONN_CONNECTING, NWS__RCONN_TLS, NWS__RCONN_OPEN };

typedef struct nws__rconn {
    int fd;
    int state;
    SSL *ssl;                 /* NULL on plain TCP */
    redisReader *reader;
    nws__rbuf out;            /* encoded commands not yet written */
    struct addrinfo *addrs;   /* resolved once per attempt; the next one is tried on failure */
    struct addrinfo *addr;
    int more_to_read;         /* a read pass stopped at its cap: poll again without waiting */
    short tls_want;           /* TLS: the socket event OpenSSL waits for (handshake, or a read
                               * that must write first) */
    char err[192];            /* why the last call failed */
} nws__rconn;

void nws__rconn_init(nws__rconn *c);
/* Resolves host and starts a non-blocking connect. 0, or -1 with c->err set. */
int nws__rconn_start(nws__rconn *c, const char *host, int port);
/* The poll events the connection waits for (0 when closed). */
short nws__rconn_events(const nws__rconn *c);
/* Advances connect and TLS handshake, writes what is buffered, reads what arrived into the
 * reader. *opened is set to 1 on the call where the transport became ready. 0, or -1 with
 * c->err set (the caller closes). ctx is NULL on plain TCP. */
int nws__rconn_service(nws__rconn *c, short revents, SSL_CTX *ctx, const char *server_name,
                       int *opened);
/* Encodes a command with hiredis into the write buffer. 0 or -1 (out of memory). */
int nws__rconn_command(nws__rconn *c, int argc, const char **argv, const size_t *argvlen);
/* The next complete reply: 1 with *out (free with freeReplyObject), 0 when none is complete,
 * -1 on a protocol error (c->err set). */
int nws__rconn_reply(nws__rconn *c, redisReply **out);
/* Writes what it can of the write buffer now. 0, or -1 with c->err set. */
int nws__rconn_flush(nws__rconn *c);
void nws__rconn_close(nws__rconn *c);

/* TLS context from the configuration, or NULL with err set. It verifies the server when
 * cfg->tls_verify or cfg->tls_ca_file is set. */
SSL_CTX *nws__redis_tls_ctx(const nws_redis_config *cfg, char *err, size_t errlen);
/* A client session on a connected socket: SNI and, when the context verifies, the name or
 * address checked against the certificate. NULL with err set. */
SSL *nws__redis_tls_new(SSL_CTX *ctx, int fd, const char *server_name, char *err, size_t errlen);
/* OpenSSL's reason for the last failure (its error queue, or the verification result). */
void nws__redis_tls_error(SSL *ssl, const char *what, char *err, size_t errlen);

/* ---- the link ---- */
typedef struct nws__op {     /* a subscription change waiting for the link thread */
    struct nws__op *next;
    int subscribe;            /* 1 SUBSCRIBE, 0 UNSUBSCRIBE */
    size_t len;
    char name[];
} nws__op;

struct nws_redis_link {
    nws_redis_config cfg;     /* strings below are the link's own copies */
    nws_redis_callbacks cb;
    SSL_CTX *tls;
    int wake_fd;              /* eventfd: other threads' calls and stop */
    pthread_t thread;
    atomic_int stopping;
    atomic_int up_hint;       /* a lock-free early "down" answer for publish */

    pthread_mutex_t mu;
    /* ---- shared, under mu ---- */
    int up;                   /* both connections ready and the set renewed */
    int closed;               /* the thread has exited its loop: calls are refused */
    nws__chanset channels;
    nws__op *ops_head, **ops_tail;
    nws__rbuf pending;        /* commands accepted while up, not yet moved to the connection */
    nws__fifo pending_expect;
    size_t cmd_unsent;        /* bytes the command connection still has to write */
    uint64_t *failed_tokens;  /* commands asked while down: answered NULL by the link thread */
    size_t failed_count, failed_cap;
    nws_redis_stats stats;

    /* ---- the link thread's own ---- */
    nws__rconn sub, cmd;
    nws__fifo cmd_expect;
    int session;              /* 0 waiting for the next attempt, 1 attempt running or up */
    unsigned generation;      /* counts ended sessions: a reply loop notices its end */
    int sub_hello;            /* AUTH / PING replies still awaited on the subscriber connection */
    int cmd_hello;            /* AUTH / SELECT / PING replies awaited on the command connection */
    int sub_renewing;         /* the set was snapshotted and sent: confirmations count */
    size_t renew_expected, confirmed;
    int reported;             /* -1 nothing yet, 0 down, 1 up */
    int ever_up;
    uint64_t retry_at_ms, attempt_deadline_ms;
    uint32_t backoff_ms;
};

void *nws__redis_thread(void *arg);
uint64_t nws__redis_now_ms(void);
uint64_t nws__redis_now_ns(void);

/* SUBSCRIBE / UNSUBSCRIBE carry at most this many channels each: a large set is renewed in
 * batches so no single command (and no single argv array) grows with the set. */
#define NWS__REDIS_BATCH 256

#endif
