/*
 * conn.c — one connection to Redis: a non-blocking socket (every address of the host tried
 * in turn), an optional TLS session on it, hiredis's reader for what arrives and a byte
 * buffer for what is to be written. It knows nothing of what the commands mean; link.c and
 * loop.c do.
 */
#include "redis_internal.h"   /* first: it sets _GNU_SOURCE */

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

/* A read pass stops after this much so the other connection and the cross-thread queues
 * are served between the chunks of a busy subscription stream. */
#define READ_PASS_CAP (512u * 1024u)

void nws__rconn_init(nws__rconn *c) {
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

static void describe_addr(const struct addrinfo *ai, char *out, size_t n) {
    char host[INET6_ADDRSTRLEN], port[8];
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        snprintf(out, n, "?");
    else if (ai->ai_family == AF_INET6)
        snprintf(out, n, "[%s]:%s", host, port);
    else
        snprintf(out, n, "%s:%s", host, port);
}

static void connect_error(nws__rconn *c, int err) {
    char where[INET6_ADDRSTRLEN + 12];
    describe_addr(c->addr, where, sizeof where);
    snprintf(c->err, sizeof c->err, "connect %s: %s", where, strerror(err));
}

/* Starts connecting to c->addr, moving on to the next address when one fails at once. */
static int connect_next(nws__rconn *c) {
    for (; c->addr != NULL; c->addr = c->addr->ai_next) {
        int fd = socket(c->addr->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            connect_error(c, errno);
            continue;
        }
        int one = 1, idle_s = 10, interval_s = 5, probes = 3, user_timeout_ms = 30000;
        /* Commands are small and pipelined: waiting for more to fill a segment only adds
         * latency to a broadcast. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        /* A Redis host that vanished without a FIN (crash, partition) would leave the
         * subscriber connection silent forever: keepalive probes after 10 s of silence find
         * it in about 25 s, and written data unacknowledged for 30 s fails the connection
         * instead of being retransmitted for a quarter of an hour. */
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof idle_s);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval_s, sizeof interval_s);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms);
        if (connect(fd, c->addr->ai_addr, c->addr->ai_addrlen) == 0 || errno == EINPROGRESS) {
            c->fd = fd;
            c->state = NWS__RCONN_CONNECTING;
            return 0;
        }
        connect_error(c, errno);
        close(fd);
    }
    return -1;
}

int nws__rconn_start(nws__rconn *c, const char *host, int port) {
    nws__rconn_close(c);
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {0};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int r = getaddrinfo(host, service, &hints, &c->addrs);
    if (r != 0) {
        c->addrs = NULL;
        snprintf(c->err, sizeof c->err, "resolve %s: %s", host, gai_strerror(r));
        return -1;
    }
    c->reader = redisReaderCreate();
    if (c->reader == NULL) {
        snprintf(c->err, sizeof c->err, "out of memory");
        return -1;
    }
    c->addr = c->addrs;
    return connect_next(c);
}

short nws__rconn_events(const nws__rconn *c) {
    switch (c->state) {
    case NWS__RCONN_CONNECTING: return POLLOUT;
    case NWS__RCONN_TLS: return c->tls_want;
    case NWS__RCONN_OPEN:
        return (short)(POLLIN | (nws__rbuf_size(&c->out) > 0 ? POLLOUT : 0) | c->tls_want);
    default: return 0;
    }
}

/* The connect finished one way or the other: on failure the next address is tried. */
static int finish_connect(nws__rconn *c) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err == 0) return 1;
    connect_error(c, err);
    close(c->fd);
    c->fd = -1;
    c->addr = c->addr->ai_next;
    return connect_next(c) == 0 ? 0 : -1;
}

static int handshake(nws__rconn *c) {
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        c->tls_want = 0;
        c->state = NWS__RCONN_OPEN;
        return 1;
    }
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ: c->tls_want = POLLIN; return 0;
    case SSL_ERROR_WANT_WRITE: c->tls_want = POLLOUT; return 0;
    default:
        nws__redis_tls_error(c->ssl, "TLS handshake", c->err, sizeof c->err);
        return -1;
    }
}

/* Reads into the reader until the socket is drained or the pass is over its cap. */
static int read_some(nws__rconn *c) {
    char buf[64 * 1024];
    size_t total = 0;
    c->more_to_read = 0;
    for (;;) {
        if (total >= READ_PASS_CAP) {
            c->more_to_read = 1;
            return 0;
        }
        ssize_t n;
        if (c->ssl != NULL) {
            ERR_clear_error();
            int r = SSL_read(c->ssl, buf, (int)sizeof buf);
            if (r <= 0) {
                switch (SSL_get_error(c->ssl, r)) {
                case SSL_ERROR_WANT_READ: c->tls_want = 0; return 0;
                case SSL_ERROR_WANT_WRITE: c->tls_want = POLLOUT; return 0;
                case SSL_ERROR_ZERO_RETURN:
                    snprintf(c->err, sizeof c->err, "closed by Redis");
                    return -1;
                default:
                    nws__redis_tls_error(c->ssl, "TLS read", c->err, sizeof c->err);
                    return -1;
                }
            }
            c->tls_want = 0;
            n = r;
        } else {
            n = recv(c->fd, buf, sizeof buf, 0);
            if (n == 0) {
                snprintf(c->err, sizeof c->err, "closed by Redis");
                return -1;
            }
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
                snprintf(c->err, sizeof c->err, "read: %s", strerror(errno));
                return -1;
            }
        }
        if (redisReaderFeed(c->reader, buf, (size_t)n) != REDIS_OK) {
            snprintf(c->err, sizeof c->err, "protocol error: %s", c->reader->errstr);
            return -1;
        }
        total += (size_t)n;
    }
}

int nws__rconn_flush(nws__rconn *c) {
    if (c->state != NWS__RCONN_OPEN) return 0;
    while (nws__rbuf_size(&c->out) > 0) {
        size_t want = nws__rbuf_size(&c->out);
        const char *p = c->out.data + c->out.off;
        ssize_t n;
        if (c->ssl != NULL) {
            ERR_clear_error();
            int r = SSL_write(c->ssl, p, want > INT_MAX ? INT_MAX : (int)want);
            if (r <= 0) {
                switch (SSL_get_error(c->ssl, r)) {
                case SSL_ERROR_WANT_WRITE:
                case SSL_ERROR_WANT_READ: return 0;   /* POLLIN is always polled when open */
                default:
                    nws__redis_tls_error(c->ssl, "TLS write", c->err, sizeof c->err);
                    return -1;
                }
            }
            n = r;
        } else {
            /* MSG_NOSIGNAL: a Redis that went away must be an error here, not SIGPIPE. */
            n = send(c->fd, p, want, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
                snprintf(c->err, sizeof c->err, "write: %s", strerror(errno));
                return -1;
            }
        }
        nws__rbuf_consume(&c->out, (size_t)n);
    }
    return 0;
}

int nws__rconn_service(nws__rconn *c, short revents, SSL_CTX *ctx, const char *server_name,
                       int *opened) {
    *opened = 0;
    if (c->state == NWS__RCONN_CONNECTING) {
        if (!(revents & (POLLOUT | POLLERR | POLLHUP))) return 0;
        int r = finish_connect(c);
        if (r <= 0) return r;
        if (ctx == NULL) {
            c->state = NWS__RCONN_OPEN;
            *opened = 1;
            return 0;
        }
        c->ssl = nws__redis_tls_new(ctx, c->fd, server_name, c->err, sizeof c->err);
        if (c->ssl == NULL) return -1;
        c->state = NWS__RCONN_TLS;
        revents = 0;   /* the handshake starts now; it says what it waits for */
    }
    if (c->state == NWS__RCONN_TLS) {
        int r = handshake(c);
        if (r < 0) return -1;
        if (r == 0) return 0;
        *opened = 1;
        /* Redis may already have sent nothing: the read below only drains what is there
         * (a TLS 1.3 session ticket, typically). */
        revents |= POLLIN;
    }
    if (c->state != NWS__RCONN_OPEN) return 0;
    if ((revents & (POLLIN | POLLHUP | POLLERR)) || c->more_to_read || c->tls_want) {
        if (read_some(c) != 0) return -1;
    }
    return nws__rconn_flush(c);
}

int nws__rconn_command(nws__rconn *c, int argc, const char **argv, const size_t *argvlen) {
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    if (len < 0) return -1;
    int r = nws__rbuf_append(&c->out, cmd, (size_t)len);
    redisFreeCommand(cmd);
    return r == 0 ? 0 : -1;
}

int nws__rconn_reply(nws__rconn *c, redisReply **out) {
    void *reply = NULL;
    if (c->reader == NULL) return 0;
    if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) {
        snprintf(c->err, sizeof c->err, "protocol error: %s", c->reader->errstr);
        return -1;
    }
    if (reply == NULL) return 0;
    *out = reply;
    return 1;
}

void nws__rconn_close(nws__rconn *c) {
    /* No close_notify: the connection is abandoned (Redis gone, or the link stopping), and
     * waiting on a peer to acknowledge it would only delay the reconnection. */
    if (c->ssl != NULL) SSL_free(c->ssl);
    if (c->fd >= 0) close(c->fd);
    if (c->reader != NULL) redisReaderFree(c->reader);
    if (c->addrs != NULL) freeaddrinfo(c->addrs);
    nws__rbuf_free(&c->out);
    char err[sizeof c->err];
    memcpy(err, c->err, sizeof err);
    nws__rconn_init(c);
    memcpy(c->err, err, sizeof err);
}
