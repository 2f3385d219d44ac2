/*
 * link.c — the public side of the Redis link: start and stop, and the calls any thread may
 * make. Each copies what it needs under the link's mutex and wakes the link thread through
 * its eventfd; nothing here touches a socket.
 */
#include "redis_internal.h"   /* first: it sets _GNU_SOURCE */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void wake(nws_redis_link *l) {
    uint64_t one = 1;
    /* EAGAIN means the counter is saturated: the thread is woken anyway. */
    if (write(l->wake_fd, &one, sizeof one) < 0) return;
}

static int dup_opt(const char **dst, const char *src) {
    *dst = NULL;
    if (src == NULL) return 0;
    *dst = strdup(src);
    return *dst ? 0 : -ENOMEM;
}

static void free_config(nws_redis_config *c) {
    free((char *)c->host);
    free((char *)c->username);
    free((char *)c->password);
    free((char *)c->tls_ca_file);
    free((char *)c->tls_cert_file);
    free((char *)c->tls_key_file);
    free((char *)c->tls_server_name);
}

static int copy_config(nws_redis_config *dst, const nws_redis_config *src) {
    *dst = *src;
    int r = dup_opt(&dst->host, src->host);
    if (r == 0) r = dup_opt(&dst->username, src->username);
    if (r == 0) r = dup_opt(&dst->password, src->password);
    if (r == 0) r = dup_opt(&dst->tls_ca_file, src->tls_ca_file);
    if (r == 0) r = dup_opt(&dst->tls_cert_file, src->tls_cert_file);
    if (r == 0) r = dup_opt(&dst->tls_key_file, src->tls_key_file);
    if (r == 0) r = dup_opt(&dst->tls_server_name, src->tls_server_name);
    if (dst->port == 0) dst->port = 6379;
    if (dst->reconnect_min_ms == 0) dst->reconnect_min_ms = 100;
    if (dst->reconnect_max_ms == 0) dst->reconnect_max_ms = 5000;
    if (dst->reconnect_max_ms < dst->reconnect_min_ms) dst->reconnect_max_ms = dst->reconnect_min_ms;
    if (dst->connect_timeout_ms == 0) dst->connect_timeout_ms = 2000;
    if (dst->max_pending_bytes == 0) dst->max_pending_bytes = 8u * 1024u * 1024u;
    return r;
}

static void free_link(nws_redis_link *l) {
    if (l->tls != NULL) SSL_CTX_free(l->tls);
    if (l->wake_fd >= 0) close(l->wake_fd);
    nws__op *op = l->ops_head;
    while (op != NULL) {
        nws__op *next = op->next;
        free(op);
        op = next;
    }
    nws__chanset_free(&l->channels);
    nws__rbuf_free(&l->pending);
    nws__fifo_free(&l->pending_expect);
    nws__fifo_free(&l->cmd_expect);
    free(l->failed_tokens);
    free_config(&l->cfg);
    free(l);
}

int nws_redis_link_start(const nws_redis_config *config, const nws_redis_callbacks *callbacks,
                         nws_redis_link **out) {
    if (config == NULL || config->host == NULL || callbacks == NULL || out == NULL) return -EINVAL;
    if (config->port < 0 || config->port > 65535 || config->db < 0) return -EINVAL;
    nws_redis_link *l = calloc(1, sizeof *l);
    if (l == NULL) return -ENOMEM;
    l->wake_fd = -1;
    l->ops_tail = &l->ops_head;
    l->reported = -1;
    l->cb = *callbacks;
    nws__rconn_init(&l->sub);
    nws__rconn_init(&l->cmd);
    if (copy_config(&l->cfg, config) != 0) {
        free_link(l);
        return -ENOMEM;
    }
    if (l->cfg.tls) {
        char err[256];
        l->tls = nws__redis_tls_ctx(&l->cfg, err, sizeof err);
        if (l->tls == NULL) {   /* unreadable CA, certificate or key: a configuration error */
            free_link(l);
            return -EINVAL;
        }
    }
    l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->wake_fd < 0) {
        int e = errno;
        free_link(l);
        return -e;
    }
    int r = pthread_mutex_init(&l->mu, NULL);
    if (r != 0) {
        free_link(l);
        return -r;
    }
    /* The thread starts with every signal blocked: the process's handlers stay on the
     * threads that expect them, and a SIGPIPE from a TLS write to a vanished Redis (OpenSSL
     * writes with write(), which cannot say MSG_NOSIGNAL) stays pending on this thread
     * instead of ending the process. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r = pthread_create(&l->thread, NULL, nws__redis_thread, l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        pthread_mutex_destroy(&l->mu);
        free_link(l);
        return -r;
    }
    *out = l;
    return 0;
}

void nws_redis_link_stop(nws_redis_link *l) {
    if (l == NULL) return;
    atomic_store(&l->stopping, 1);
    wake(l);
    pthread_join(l->thread, NULL);
    pthread_mutex_destroy(&l->mu);
    free_link(l);
}

static int queue_op(nws_redis_link *l, int subscribe, const char *channel, size_t len) {
    if (l == NULL || (channel == NULL && len > 0)) return -EINVAL;
    if (channel == NULL) channel = "";
    pthread_mutex_lock(&l->mu);
    int r;
    if (l->closed) {
        r = -ESHUTDOWN;
    } else if (subscribe) {
        r = nws__chanset_add(&l->channels, channel, len);
    } else {
        r = nws__chanset_remove(&l->channels, channel, len);
    }
    if (r == 1) {
        nws__op *op = malloc(sizeof *op + len);
        if (op == NULL) {
            /* Undo, so the set stays what Redis will be told. */
            if (subscribe) nws__chanset_remove(&l->channels, channel, len);
            else nws__chanset_add(&l->channels, channel, len);
            r = -ENOMEM;
        } else {
            op->next = NULL;
            op->subscribe = subscribe;
            op->len = len;
            memcpy(op->name, channel, len);
            *l->ops_tail = op;
            l->ops_tail = &op->next;
        }
    }
    pthread_mutex_unlock(&l->mu);
    if (r == 1) wake(l);
    return r < 0 ? r : 0;
}

int nws_redis_subscribe(nws_redis_link *l, const char *channel, size_t channel_len) {
    return queue_op(l, 1, channel, channel_len);
}

int nws_redis_unsubscribe(nws_redis_link *l, const char *channel, size_t channel_len) {
    return queue_op(l, 0, channel, channel_len);
}

/* Appends an encoded command and its expectation, if the link is up and the cap allows.
 * Called with the lock held. */
static int accept_command(nws_redis_link *l, const char *cmd, size_t len, int kind, uint64_t token,
                          int *wake_needed) {
    if (!l->up) return -ENOTCONN;
    size_t queued = nws__rbuf_size(&l->pending) + l->cmd_unsent;
    if (queued + len > l->cfg.max_pending_bytes) return -ENOBUFS;
    *wake_needed = nws__rbuf_size(&l->pending) == 0;
    size_t before = l->pending.len;
    if (nws__rbuf_append(&l->pending, cmd, len) != 0) return -ENOMEM;
    if (nws__fifo_push(&l->pending_expect, kind, token) != 0) {
        l->pending.len = before;
        return -ENOMEM;
    }
    return 0;
}

int nws_redis_publish(nws_redis_link *l, const char *channel, size_t channel_len,
                      const uint8_t *data, size_t len) {
    if (l == NULL || (channel == NULL && channel_len > 0) || (data == NULL && len > 0)) return -EINVAL;
    int r = -ENOTCONN;
    char *cmd = NULL;
    int n = -1;
    /* Encode outside the lock, but not for a link known to be down. */
    if (atomic_load(&l->up_hint)) {
        const char *argv[3] = {"PUBLISH", channel ? channel : "", data ? (const char *)data : ""};
        size_t lens[3] = {7, channel_len, len};
        n = redisFormatCommandArgv(&cmd, 3, argv, lens);
        if (n < 0) r = -ENOMEM;
    }
    int wake_needed = 0;
    pthread_mutex_lock(&l->mu);
    if (n >= 0) r = accept_command(l, cmd, (size_t)n, NWS__EXPECT_PUBLISH, nws__redis_now_ns(), &wake_needed);
    if (r != 0) l->stats.dropped++;
    pthread_mutex_unlock(&l->mu);
    if (cmd != NULL) redisFreeCommand(cmd);
    if (r == 0 && wake_needed) wake(l);
    return r;
}

int nws_redis_command(nws_redis_link *l, int argc, const char *const *argv, const size_t *argv_len,
                      uint64_t token) {
    if (l == NULL || argc <= 0 || argv == NULL || argv_len == NULL) return -EINVAL;
    char *cmd = NULL;
    int n = redisFormatCommandArgv(&cmd, argc, (const char **)argv, argv_len);
    if (n < 0) return -ENOMEM;
    int wake_needed = 0, r;
    pthread_mutex_lock(&l->mu);
    if (l->closed) {
        r = -ESHUTDOWN;
    } else {
        r = accept_command(l, cmd, (size_t)n, NWS__EXPECT_REPLY, token, &wake_needed);
        if (r == -ENOTCONN && token != 0) {
            /* Down: the answer is NULL, given on the link thread like any other answer. */
            r = 0;
            if (l->failed_count == l->failed_cap) {
                size_t cap = l->failed_cap ? l->failed_cap * 2 : 16;
                uint64_t *t = realloc(l->failed_tokens, cap * sizeof *t);
                if (t == NULL) r = -ENOMEM;
                else {
                    l->failed_tokens = t;
                    l->failed_cap = cap;
                }
            }
            if (r == 0) {
                l->failed_tokens[l->failed_count++] = token;
                wake_needed = 1;
            }
        }
    }
    pthread_mutex_unlock(&l->mu);
    redisFreeCommand(cmd);
    if (r == 0 && wake_needed) wake(l);
    return r;
}

/* A reply is hiredis's own object: these read it without its header in ours. */
int nws_redis_reply_type(const nws_redis_reply *reply) { return ((const redisReply *)reply)->type; }

const char *nws_redis_reply_string(const nws_redis_reply *reply, size_t *len) {
    const redisReply *r = (const redisReply *)reply;
    int stringy = r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR;
    *len = stringy ? r->len : 0;
    return stringy ? r->str : NULL;
}

long long nws_redis_reply_integer(const nws_redis_reply *reply) {
    const redisReply *r = (const redisReply *)reply;
    return r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
}

size_t nws_redis_reply_count(const nws_redis_reply *reply) {
    const redisReply *r = (const redisReply *)reply;
    return r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
}

const nws_redis_reply *nws_redis_reply_element(const nws_redis_reply *reply, size_t index) {
    const redisReply *r = (const redisReply *)reply;
    return r->type == REDIS_REPLY_ARRAY && index < r->elements ? (const nws_redis_reply *)r->element[index] : NULL;
}

void nws_redis_stats_get(nws_redis_link *l, nws_redis_stats *out) {
    pthread_mutex_lock(&l->mu);
    *out = l->stats;
    pthread_mutex_unlock(&l->mu);
}
