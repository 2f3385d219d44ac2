/*
 * nws_redis.h — a link to one Redis server for pub/sub scale-out: one thread, two
 * connections (a subscriber, and one for PUBLISH and queries), reconnection with backoff.
 *
 * Protocol: hiredis does all of RESP (redisFormatCommandArgv encodes, redisReader parses);
 * this file owns only the sockets (plain TCP, or TLS through OpenSSL), so TLS works with the
 * hiredis of any distribution.
 *
 * Thread rule: the link runs its own thread (a poll loop). Every function below may be called
 * from any thread; each copies what it needs and wakes the link. Callbacks run on the link
 * thread, one at a time, and must not block: hand the work on (NaviosWS posts to its loops).
 *
 * Subscriptions are a set the link owns: nws_redis_subscribe adds a channel, unsubscribe
 * removes it; after a reconnection the link subscribes to the whole set again before it
 * reports the link as up. A message is delivered only if its channel is in the set when the
 * link thread reads it, so once nws_redis_unsubscribe has returned no new delivery of that
 * channel starts, even of messages Redis sent before it saw the UNSUBSCRIBE.
 *
 * Publishing while the link is down: the message is dropped and counted (stats.dropped),
 * never buffered: a late broadcast delivered after a reconnection would arrive out of order
 * with what other instances delivered meanwhile. Messages already written when a connection
 * breaks may be lost too (at most once).
 *
 * Commands (nws_redis_command) share the command connection with PUBLISH, in order, and are
 * answered by token; a command cut off by a broken connection is answered NULL, never resent.
 *
 * Memory: pending commands are copied into the command connection's write buffer, capped at
 * max_pending_bytes; beyond it a publish is dropped and counted (a stalled Redis must not
 * grow the process without bound).
 */
#ifndef NWS_REDIS_H
#define NWS_REDIS_H

#include <stddef.h>
#include <stdint.h>

typedef struct nws_redis_link nws_redis_link;

/* A reply as Redis sent it (RESP2), read with the nws_redis_reply_* functions below. */
typedef struct nws_redis_reply nws_redis_reply;

enum {
    NWS_REDIS_REPLY_STRING = 1,
    NWS_REDIS_REPLY_ARRAY = 2,
    NWS_REDIS_REPLY_INTEGER = 3,
    NWS_REDIS_REPLY_NIL = 4,
    NWS_REDIS_REPLY_STATUS = 5,
    NWS_REDIS_REPLY_ERROR = 6,
};

typedef struct nws_redis_config {
    const char *host;            /* name or address; required */
    int port;                    /* 6379 when 0 */
    const char *username;        /* NULL: AUTH with the password alone (Redis < 6 style) */
    const char *password;        /* NULL: no AUTH */
    int db;                      /* SELECT on the command connection when > 0 */
    /* TLS: off when tls == 0. The server is verified when tls_verify is set or a CA file is
     * given (against tls_ca_file, else the system's CAs; the name is tls_server_name or
     * host). tls_verify == 0 and ca_file NULL: no verification (tests). */
    int tls;
    int tls_verify;
    const char *tls_ca_file;
    const char *tls_cert_file;   /* client certificate, optional */
    const char *tls_key_file;
    const char *tls_server_name; /* SNI and verification name; host when NULL */
    uint32_t reconnect_min_ms;   /* first retry delay; 100 when 0 */
    uint32_t reconnect_max_ms;   /* cap of the doubling delay; 5000 when 0 */
    uint32_t connect_timeout_ms; /* one attempt, until up: connect, TLS, AUTH, SELECT, PING,
                                  * the renewed SUBSCRIBEs; 2000 when 0 */
    size_t max_pending_bytes;    /* cap of unsent command bytes; 8 MiB when 0 */
} nws_redis_config;

typedef struct nws_redis_callbacks {
    void *ctx;
    /* A message on a subscribed channel. Pointers valid during the call only. */
    void (*on_message)(void *ctx, const char *channel, size_t channel_len,
                       const uint8_t *data, size_t len);
    /* The link came up (both connections ready, every subscription renewed: up = 1) or
     * went down (up = 0, with a reason). Called once per change; the first attempt's failure
     * reports up = 0 too. */
    void (*on_state)(void *ctx, int up, const char *reason);
    /* The reply to nws_redis_command's command with this token, or NULL when the link was or
     * went down before it came. The reply is valid during the call only. */
    void (*on_reply)(void *ctx, uint64_t token, const nws_redis_reply *reply);
} nws_redis_callbacks;

typedef struct nws_redis_stats {
    uint64_t published;          /* PUBLISH commands Redis answered (so: written to it) */
    uint64_t publish_latency_ns; /* of those, the time from nws_redis_publish to Redis' answer, summed */
    uint64_t dropped;            /* publishes dropped: link down, or over max_pending_bytes */
    uint64_t received;           /* messages passed to on_message */
    uint64_t reconnects;         /* times the link came up again after being up */
    int up;
} nws_redis_stats;

/* Starts the link thread; it connects in the background (a Redis that is down is not an
 * error here: the link retries with backoff). 0 or a negative errno: -EINVAL without a host,
 * or when a TLS CA, certificate or key file cannot be loaded. */
int nws_redis_link_start(const nws_redis_config *config, const nws_redis_callbacks *callbacks,
                         nws_redis_link **out);

/* Stops the thread, closes the connections, frees the link. NUMSUB questions still
 * unanswered get on_numsub(-1) before it returns; the stop itself is not reported through
 * on_state. No callback runs after it returns. Not from a callback. It returns at once
 * unless the thread is inside a name resolution (getaddrinfo has no timeout of its own). */
void nws_redis_link_stop(nws_redis_link *link);

/* Adds / removes a channel of the subscription set (adding a channel already there, or
 * removing one that is not, does nothing). 0 or a negative errno. */
int nws_redis_subscribe(nws_redis_link *link, const char *channel, size_t channel_len);
int nws_redis_unsubscribe(nws_redis_link *link, const char *channel, size_t channel_len);

/* PUBLISH channel data. 0 when queued; -ENOTCONN (link down) or -ENOBUFS (over the cap)
 * when dropped and counted. */
int nws_redis_publish(nws_redis_link *link, const char *channel, size_t channel_len,
                      const uint8_t *data, size_t len);

/* Any command, its arguments as byte strings (copied). With a token other than 0 its reply
 * comes to on_reply with that token; when the link is down, on_reply(NULL) runs on the link
 * thread soon after. Token 0 wants no reply: refused with -ENOTCONN while down, as a publish.
 * 0 or a negative errno (then no callback comes): -ENOBUFS over max_pending_bytes. */
int nws_redis_command(nws_redis_link *link, int argc, const char *const *argv, const size_t *argv_len,
                      uint64_t token);

/* Reading a reply: its type (NWS_REDIS_REPLY_*); the bytes of a string, status or error (NULL
 * for other types); an integer; an array's length and elements. */
int nws_redis_reply_type(const nws_redis_reply *reply);
const char *nws_redis_reply_string(const nws_redis_reply *reply, size_t *len);
long long nws_redis_reply_integer(const nws_redis_reply *reply);
size_t nws_redis_reply_count(const nws_redis_reply *reply);
const nws_redis_reply *nws_redis_reply_element(const nws_redis_reply *reply, size_t index);

void nws_redis_stats_get(nws_redis_link *link, nws_redis_stats *out);

#endif
