/*
 * loop.c — the link thread: a poll loop over the wake eventfd and the two connections, the
 * attempt / up / down state machine, and what each reply means.
 *
 * An attempt ("session") opens both connections together and is torn down as a whole when
 * either fails: Redis going away breaks both anyway, and a single rule for "down" keeps the
 * state callbacks to exactly one per change. The link is up when both are open, every AUTH,
 * SELECT and PING was answered OK, and Redis confirmed every channel of the renewed set.
 */
#include "redis_internal.h"   /* first: it sets _GNU_SOURCE */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t nws__redis_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t nws__redis_now_ms(void) { return nws__redis_now_ns() / 1000000u; }

/* ---- answering commands that will get no reply ---- */

static void fail_tokens(nws_redis_link *l, nws__fifo *f) {
    nws__expect e;
    while (nws__fifo_pop(f, &e))
        if (e.kind == NWS__EXPECT_REPLY && e.token != 0 && l->cb.on_reply) l->cb.on_reply(l->cb.ctx, e.token, NULL);
}

static void fail_token_array(nws_redis_link *l, uint64_t *tokens, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (l->cb.on_reply) l->cb.on_reply(l->cb.ctx, tokens[i], NULL);
    free(tokens);
}

/* Takes the link down under the lock, so that from here on publishes and commands are refused,
 * and hands back what had been accepted but will never be answered. */
static void mark_down(nws_redis_link *l, nws__fifo *unanswered, int closing) {
    pthread_mutex_lock(&l->mu);
    l->up = 0;
    l->stats.up = 0;
    atomic_store(&l->up_hint, 0);
    if (closing) l->closed = 1;
    *unanswered = l->pending_expect;
    memset(&l->pending_expect, 0, sizeof l->pending_expect);
    l->pending.off = l->pending.len = 0;
    l->cmd_unsent = 0;
    pthread_mutex_unlock(&l->mu);
}

/* ---- the session ---- */

static void end_session(nws_redis_link *l, const char *reason) {
    char why[256];
    snprintf(why, sizeof why, "%s", reason);   /* reason may point into a connection */
    nws__fifo unanswered;
    mark_down(l, &unanswered, 0);
    nws__rconn_close(&l->sub);
    nws__rconn_close(&l->cmd);
    l->session = 0;
    l->sub_hello = l->cmd_hello = 0;
    l->sub_renewing = 0;
    l->generation++;
    uint64_t now = nws__redis_now_ms();
    l->retry_at_ms = now + l->backoff_ms;
    l->backoff_ms = l->backoff_ms >= l->cfg.reconnect_max_ms / 2 ? l->cfg.reconnect_max_ms
                                                                : l->backoff_ms * 2;
    if (l->reported != 0) {
        l->reported = 0;
        if (l->cb.on_state) l->cb.on_state(l->cb.ctx, 0, why);
    }
    fail_tokens(l, &l->cmd_expect);
    fail_tokens(l, &unanswered);
    nws__fifo_free(&unanswered);
}

static void conn_failed(nws_redis_link *l, const char *which, const char *err) {
    char why[256];
    snprintf(why, sizeof why, "%s connection: %s", which, err);
    end_session(l, why);
}

static void start_session(nws_redis_link *l) {
    l->session = 1;
    l->sub_hello = l->cmd_hello = 0;
    l->sub_renewing = 0;
    l->renew_expected = l->confirmed = 0;
    l->attempt_deadline_ms = nws__redis_now_ms() + l->cfg.connect_timeout_ms;
    if (nws__rconn_start(&l->sub, l->cfg.host, l->cfg.port) != 0) {
        conn_failed(l, "subscriber", l->sub.err);
        return;
    }
    if (nws__rconn_start(&l->cmd, l->cfg.host, l->cfg.port) != 0) conn_failed(l, "command", l->cmd.err);
}

static int send_auth(nws_redis_link *l, nws__rconn *c) {
    const char *argv[3] = {"AUTH"};
    size_t lens[3] = {4};
    int argc = 1;
    if (l->cfg.username != NULL) {
        argv[argc] = l->cfg.username;
        lens[argc++] = strlen(l->cfg.username);
    }
    argv[argc] = l->cfg.password;
    lens[argc++] = strlen(l->cfg.password);
    return nws__rconn_command(c, argc, argv, lens);
}

/* Builds SUBSCRIBE commands of up to NWS__REDIS_BATCH channels while walking the set. */
typedef struct batcher {
    nws__rconn *conn;
    const char *argv[NWS__REDIS_BATCH + 1];
    size_t lens[NWS__REDIS_BATCH + 1];
    int argc;
} batcher;

static int batch_flush(batcher *b) {
    if (b->argc <= 1) return 0;
    int r = nws__rconn_command(b->conn, b->argc, b->argv, b->lens);
    b->argc = 1;
    return r;
}

static void batch_start(batcher *b, nws__rconn *conn, int subscribe) {
    b->conn = conn;
    b->argv[0] = subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE";
    b->lens[0] = strlen(b->argv[0]);
    b->argc = 1;
}

static int batch_add(batcher *b, const char *name, size_t len) {
    b->argv[b->argc] = name;
    b->lens[b->argc++] = len;
    return b->argc == NWS__REDIS_BATCH + 1 ? batch_flush(b) : 0;
}

static int renew_one(void *arg, const nws__chan *c) { return batch_add(arg, c->name, c->len); }

static void free_ops(nws__op *op) {
    while (op != NULL) {
        nws__op *next = op->next;
        free(op);
        op = next;
    }
}

/* PING ends the hello on both connections: a Redis that wants a password we do not have
 * answers NOAUTH to it, so such a link never reports up even with nothing to subscribe. */
static const char *ping_argv[1] = {"PING"};
static const size_t ping_len[1] = {4};

static int subscriber_opened(nws_redis_link *l) {
    if (l->cfg.password != NULL) {
        if (send_auth(l, &l->sub) != 0) return -1;
        l->sub_hello++;
    }
    if (nws__rconn_command(&l->sub, 1, ping_argv, ping_len) != 0) return -1;
    l->sub_hello++;
    /* The snapshot and the discarding of queued changes happen under one lock: every
     * change made before it is in the snapshot, every change after it is queued and sent
     * behind the renewal, in order. */
    batcher b;
    batch_start(&b, &l->sub, 1);
    pthread_mutex_lock(&l->mu);
    int r = nws__chanset_each(&l->channels, renew_one, &b);
    if (r == 0) r = batch_flush(&b);
    l->renew_expected = l->channels.count;
    nws__op *ops = l->ops_head;
    l->ops_head = NULL;
    l->ops_tail = &l->ops_head;
    pthread_mutex_unlock(&l->mu);
    free_ops(ops);
    l->sub_renewing = 1;
    return r;
}

static int command_opened(nws_redis_link *l) {
    if (l->cfg.password != NULL) {
        if (send_auth(l, &l->cmd) != 0 || nws__fifo_push(&l->cmd_expect, NWS__EXPECT_AUTH, 0) != 0)
            return -1;
        l->cmd_hello++;
    }
    if (l->cfg.db > 0) {
        char db[16];
        int n = snprintf(db, sizeof db, "%d", l->cfg.db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, (size_t)n};
        if (nws__rconn_command(&l->cmd, 2, argv, lens) != 0 ||
            nws__fifo_push(&l->cmd_expect, NWS__EXPECT_SELECT, 0) != 0)
            return -1;
        l->cmd_hello++;
    }
    if (nws__rconn_command(&l->cmd, 1, ping_argv, ping_len) != 0 ||
        nws__fifo_push(&l->cmd_expect, NWS__EXPECT_PING, 0) != 0)
        return -1;
    l->cmd_hello++;
    return 0;
}

static void maybe_up(nws_redis_link *l) {
    if (!l->session || l->up) return;
    if (l->sub.state != NWS__RCONN_OPEN || l->cmd.state != NWS__RCONN_OPEN) return;
    if (l->sub_hello > 0 || l->cmd_hello > 0 || !l->sub_renewing) return;
    if (l->confirmed < l->renew_expected) return;
    pthread_mutex_lock(&l->mu);
    l->up = 1;
    l->stats.up = 1;
    if (l->ever_up) l->stats.reconnects++;
    atomic_store(&l->up_hint, 1);
    pthread_mutex_unlock(&l->mu);
    l->ever_up = 1;
    l->backoff_ms = l->cfg.reconnect_min_ms;
    if (l->reported != 1) {
        l->reported = 1;
        if (l->cb.on_state) l->cb.on_state(l->cb.ctx, 1, NULL);
    }
}

/* ---- replies ---- */

static int is_str(const redisReply *r, const char *s) {
    size_t n = strlen(s);
    return (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) && r->len == n &&
           memcmp(r->str, s, n) == 0;
}

static void subscriber_reply(nws_redis_link *l, redisReply *r) {
    char why[224];
    if (r->type == REDIS_REPLY_ERROR) {
        const char *what = l->sub_hello == 0                          ? "Redis"
                           : l->cfg.password != NULL && l->sub_hello == 2 ? "AUTH"
                                                                          : "PING";
        snprintf(why, sizeof why, "%s: %.*s", what, (int)(r->len > 160 ? 160 : r->len), r->str);
        conn_failed(l, "subscriber", why);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY) {
        if (l->sub_hello > 0) l->sub_hello--;   /* +OK of AUTH, +PONG */
        return;
    }
    if (r->elements < 3) return;
    const redisReply *kind = r->element[0], *chan = r->element[1], *data = r->element[2];
    if (is_str(kind, "message") && chan->type == REDIS_REPLY_STRING &&
        data->type == REDIS_REPLY_STRING) {
        pthread_mutex_lock(&l->mu);
        int wanted = nws__chanset_has(&l->channels, chan->str, chan->len);
        if (wanted) l->stats.received++;
        pthread_mutex_unlock(&l->mu);
        if (wanted && l->cb.on_message)
            l->cb.on_message(l->cb.ctx, chan->str, chan->len, (const uint8_t *)data->str, data->len);
    } else if (is_str(kind, "subscribe") || is_str(kind, "unsubscribe")) {
        /* Redis answers in order, so the first renew_expected confirmations are the
         * renewal's; changes queued after it are confirmed behind them. */
        l->confirmed++;
    }
}

/* Publishes answered by one pump, and the sum of their latencies (queued to answered). */
typedef struct published_batch {
    uint64_t count, latency_ns;
} published_batch;

static void command_reply(nws_redis_link *l, redisReply *r, published_batch *published) {
    nws__expect e;
    char why[224];
    if (!nws__fifo_pop(&l->cmd_expect, &e)) {
        conn_failed(l, "command", "a reply nothing was waiting for");
        return;
    }
    switch (e.kind) {
    case NWS__EXPECT_AUTH:
    case NWS__EXPECT_SELECT:
    case NWS__EXPECT_PING:
        if (r->type == REDIS_REPLY_ERROR) {
            const char *what = e.kind == NWS__EXPECT_AUTH     ? "AUTH"
                               : e.kind == NWS__EXPECT_SELECT ? "SELECT"
                                                              : "PING";
            snprintf(why, sizeof why, "%s: %.*s", what, (int)(r->len > 160 ? 160 : r->len), r->str);
            conn_failed(l, "command", why);
            return;
        }
        l->cmd_hello--;
        break;
    case NWS__EXPECT_PUBLISH:
        if (r->type == REDIS_REPLY_INTEGER) {
            published->count++;
            published->latency_ns += nws__redis_now_ns() - e.token;
        }
        break;
    case NWS__EXPECT_REPLY:
        if (e.token != 0 && l->cb.on_reply) l->cb.on_reply(l->cb.ctx, e.token, (const nws_redis_reply *)r);
        break;
    }
}

/* Services one connection: progress, then every complete reply. 0, or -1 when the session
 * ended (the connections are closed then). */
static int pump(nws_redis_link *l, nws__rconn *c, short revents) {
    int is_sub = c == &l->sub;
    const char *which = is_sub ? "subscriber" : "command";
    const char *name = l->cfg.tls_server_name ? l->cfg.tls_server_name : l->cfg.host;
    unsigned gen = l->generation;
    int opened = 0;
    if (nws__rconn_service(c, revents, l->tls, name, &opened) != 0) {
        conn_failed(l, which, c->err);
        return -1;
    }
    if (opened) {
        if ((is_sub ? subscriber_opened(l) : command_opened(l)) != 0) {
            conn_failed(l, which, "out of memory");
            return -1;
        }
    }
    published_batch published = {0, 0};
    for (;;) {
        redisReply *r = NULL;
        int got = nws__rconn_reply(c, &r);
        if (got < 0) {
            conn_failed(l, which, c->err);
            return -1;
        }
        if (got == 0) break;
        if (is_sub) subscriber_reply(l, r);
        else command_reply(l, r, &published);
        freeReplyObject(r);
        if (l->generation != gen) return -1;
    }
    if (published.count) {
        pthread_mutex_lock(&l->mu);
        l->stats.published += published.count;
        l->stats.publish_latency_ns += published.latency_ns;
        pthread_mutex_unlock(&l->mu);
    }
    if (nws__rconn_flush(c) != 0) {
        conn_failed(l, which, c->err);
        return -1;
    }
    return 0;
}

/* ---- what other threads queued ---- */

static int send_ops(nws_redis_link *l, const nws__op *ops) {
    batcher b;
    b.argc = 0;
    int r = 0, kind = -1;
    for (const nws__op *op = ops; op != NULL; op = op->next) {
        if (op->subscribe != kind) {
            if ((r = batch_flush(&b)) != 0) return r;
            batch_start(&b, &l->sub, op->subscribe);
            kind = op->subscribe;
        }
        if ((r = batch_add(&b, op->name, op->len)) != 0) return r;
    }
    return batch_flush(&b);
}

static void drain_queues(nws_redis_link *l) {
    nws__op *ops = NULL;
    uint64_t *failed = NULL;
    size_t nfailed = 0;
    int moved = 0, oom = 0;
    pthread_mutex_lock(&l->mu);
    if (l->ops_head != NULL) {
        ops = l->ops_head;
        l->ops_head = NULL;
        l->ops_tail = &l->ops_head;
    }
    if (l->failed_count > 0) {
        failed = l->failed_tokens;
        nfailed = l->failed_count;
        l->failed_tokens = NULL;
        l->failed_count = l->failed_cap = 0;
    }
    /* Accepted commands exist only while up, and up implies the command connection is
     * open: move them behind what it is writing, and their expectations with them. */
    if (l->up && nws__rbuf_size(&l->pending) > 0) {
        if (nws__rbuf_size(&l->cmd.out) == 0) {
            nws__rbuf t = l->cmd.out;
            l->cmd.out = l->pending;
            l->pending = t;
        } else if (nws__rbuf_append(&l->cmd.out, l->pending.data + l->pending.off,
                                    nws__rbuf_size(&l->pending)) == 0) {
            l->pending.off = l->pending.len = 0;
        } else {
            oom = 1;
        }
        nws__expect e;
        while (!oom && nws__fifo_pop(&l->pending_expect, &e))
            if (nws__fifo_push(&l->cmd_expect, e.kind, e.token) != 0) oom = 1;
        l->cmd_unsent = nws__rbuf_size(&l->cmd.out);   /* the cap keeps counting them */
        moved = 1;
    }
    pthread_mutex_unlock(&l->mu);

    /* Replies could no longer be matched to their commands: start over. */
    if (oom) conn_failed(l, "command", "out of memory");

    /* Before the renewal snapshot the queued changes are already part of the set that will
     * be renewed; after it they go out in order behind the renewal. */
    if (ops != NULL && l->sub_renewing && send_ops(l, ops) != 0)
        conn_failed(l, "subscriber", "out of memory");
    free_ops(ops);
    if (l->session && l->sub_renewing && nws__rconn_flush(&l->sub) != 0)
        conn_failed(l, "subscriber", l->sub.err);
    if (moved && l->session && nws__rconn_flush(&l->cmd) != 0)
        conn_failed(l, "command", l->cmd.err);
    fail_token_array(l, failed, nfailed);
}

/* ---- the thread ---- */

static int poll_timeout(const nws_redis_link *l, uint64_t now) {
    if (l->sub.more_to_read || l->cmd.more_to_read) return 0;
    uint64_t at;
    if (!l->session) at = l->retry_at_ms;
    else if (!l->up) at = l->attempt_deadline_ms;
    else return -1;
    return at <= now ? 0 : (int)(at - now > 60000 ? 60000 : at - now);
}

void *nws__redis_thread(void *arg) {
    nws_redis_link *l = arg;
    l->backoff_ms = l->cfg.reconnect_min_ms;
    l->retry_at_ms = 0;
    while (!atomic_load(&l->stopping)) {
        struct pollfd p[3] = {
            {.fd = l->wake_fd, .events = POLLIN},
            {.fd = l->sub.fd, .events = nws__rconn_events(&l->sub)},
            {.fd = l->cmd.fd, .events = nws__rconn_events(&l->cmd)},
        };
        int n = poll(p, 3, poll_timeout(l, nws__redis_now_ms()));
        if (n < 0) {
            /* EINTR, or ENOMEM: no events this time, but deadlines are still looked at;
             * a link thread that gave up here would leave the link silently dead. */
            for (int i = 0; i < 3; i++) p[i].revents = 0;
        }
        if (p[0].revents & POLLIN) {
            uint64_t v;
            if (read(l->wake_fd, &v, sizeof v) < 0) { /* EAGAIN: someone else read it */ }
        }
        if (atomic_load(&l->stopping)) break;

        uint64_t now = nws__redis_now_ms();
        if (!l->session && now >= l->retry_at_ms) start_session(l);
        drain_queues(l);
        if (l->session && p[1].fd >= 0 && p[1].fd == l->sub.fd &&
            (p[1].revents || l->sub.more_to_read))
            pump(l, &l->sub, p[1].revents);
        if (l->session && p[2].fd >= 0 && p[2].fd == l->cmd.fd &&
            (p[2].revents || l->cmd.more_to_read))
            pump(l, &l->cmd, p[2].revents);
        maybe_up(l);
        if (l->session && !l->up && nws__redis_now_ms() >= l->attempt_deadline_ms) {
            char why[128];
            snprintf(why, sizeof why, "not up within %u ms (connect, TLS, AUTH, SELECT, PING, SUBSCRIBE)",
                     (unsigned)l->cfg.connect_timeout_ms);
            end_session(l, why);
        }
        if (l->up) {
            pthread_mutex_lock(&l->mu);
            l->cmd_unsent = nws__rbuf_size(&l->cmd.out);
            pthread_mutex_unlock(&l->mu);
        }
    }

    /* Stopping: refuse new calls first, then answer every command still waiting so no
     * caller waits for an answer that will never come. */
    nws__fifo unanswered;
    mark_down(l, &unanswered, 1);
    fail_tokens(l, &l->cmd_expect);
    fail_tokens(l, &unanswered);
    nws__fifo_free(&unanswered);
    pthread_mutex_lock(&l->mu);
    uint64_t *failed = l->failed_tokens;
    size_t nfailed = l->failed_count;
    l->failed_tokens = NULL;
    l->failed_count = l->failed_cap = 0;
    pthread_mutex_unlock(&l->mu);
    fail_token_array(l, failed, nfailed);
    nws__rconn_close(&l->sub);
    nws__rconn_close(&l->cmd);
    return NULL;
}
