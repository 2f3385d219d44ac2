/*
 * nws_server.h — the WebSocket server: loop threads, connections, sends, broadcasts.
 *
 * A server owns N loop threads. Each loop has its own io_uring (or epoll instance), its own
 * listening socket (SO_REUSEPORT spreads new connections over the loops), its own
 * connections, timers and send queues. Connections are named by a 64-bit id
 * (loop index, slot, generation); an id of a closed connection is refused with NWS_ESTALE,
 * never mistaken for a newer connection in the same slot.
 *
 * Thread rule: every connection belongs to its loop thread, and callbacks run there. The
 * functions below may be called from any thread: on the owning loop thread they act at once;
 * from anywhere else they go through the loop's inbox (nws_loop_post), which copies what it
 * needs and wakes the loop. Nothing else in the core is thread-safe.
 *
 * Memory: an idle open connection holds no read or write buffer: reads land in a per-loop
 * buffer (epoll) or a provided-buffer ring (io_uring); a send queue exists only while bytes
 * are waiting; a message buffer only while a fragmented or split message is being received.
 * Pointers passed to callbacks are valid only during the callback.
 */
#ifndef NWS_SERVER_H
#define NWS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "nws_deflate.h"
#include "nws_http.h"
#include "nws_tls.h"

typedef uint64_t nws_conn_id;
typedef struct nws_server nws_server;

enum nws_backend {
    NWS_BACKEND_AUTO = 0,      /* io_uring, or epoll when io_uring cannot be set up */
    NWS_BACKEND_IO_URING = 1,
    NWS_BACKEND_EPOLL = 2,
};

enum nws_backpressure_policy {
    NWS_BACKPRESSURE_CLOSE = 0,  /* drop droppable messages; close with 1008 on any other */
    NWS_BACKPRESSURE_DROP = 1,   /* drop every message past the limit; keep the connection */
};

enum nws_send_flags {
    NWS_SEND_DROPPABLE = 1u << 0,  /* may be dropped under backpressure (Socket.IO "volatile") */
};

/* A fixed resource answered to a plain GET (an example's HTML page, a client script). */
typedef struct nws_page {
    const char *path;
    const char *content_type;
    const void *body;
    size_t body_len;
} nws_page;

/* Engine.IO v4, the transport under Socket.IO, served on one path beside plain WebSocket: a
 * request to that path speaks Engine.IO (nws_eio.h). Over WebSocket, the core answers the
 * open, ping, pong, close and upgrade packets itself; a message packet reaches on_message
 * without its '4', and a text send to such a connection gets one. */
typedef struct nws_eio_config {
    const char *path;               /* "/socket.io/" (the trailing slash optional in requests); NULL = off */
    uint32_t ping_interval_ms;      /* the server pings this often; 0 = 25 s */
    uint32_t ping_timeout_ms;       /* and closes when no pong comes this long after; 0 = 20 s */
    uint64_t max_payload;           /* advertised in the open packet; 0 = 1,000,000 bytes */
} nws_eio_config;

/* The defaults a zero field of nws_server_config takes (WsEngineConfiguration's too: each has
 * its reason there). */
enum nws_server_defaults {
    NWS_DEFAULT_MAX_MESSAGE = 1 << 20,          /* far above chat traffic, far below what hurts */
    NWS_DEFAULT_HANDSHAKE_TIMEOUT_MS = 10000,   /* slow clients fit, slowloris does not */
    NWS_DEFAULT_PONG_TIMEOUT_MS = 10000,
    NWS_DEFAULT_CLOSE_TIMEOUT_MS = 3000,
    NWS_DEFAULT_MAX_BACKLOG = 1 << 20,          /* a few seconds of a busy chat per connection */
    NWS_DEFAULT_MAX_HEAD_BYTES = 8192,          /* browsers send 1-2 KiB, cookies included */
    NWS_DEFAULT_EIO_PING_INTERVAL_MS = 25000,   /* Engine.IO's own defaults: what clients expect */
    NWS_DEFAULT_EIO_PING_TIMEOUT_MS = 20000,
    NWS_DEFAULT_EIO_MAX_PAYLOAD = 1000000,
};

typedef struct nws_server_config {
    const char *host;               /* bind address; NULL = "0.0.0.0" */
    uint16_t port;                  /* 0 = an ephemeral port (nws_server_port tells which) */
    int loops;                      /* loop threads; 0 = one per online CPU */
    int backend;                    /* enum nws_backend; NAVIOS_WS_BACKEND=epoll|io_uring overrides AUTO */
    uint64_t max_message;           /* bytes in a reassembled message; 0 = 1 MiB; at most 4 GiB - 1 */
    uint64_t max_frame;             /* bytes in one frame; 0 = max_message */
    uint32_t handshake_timeout_ms;  /* from accept to a complete upgrade; 0 = 10 s */
    uint32_t idle_timeout_ms;       /* close 1001 after this long without a byte in; 0 = off */
    uint32_t ping_interval_ms;      /* heartbeat ping interval; 0 = off */
    uint32_t pong_timeout_ms;       /* close when no pong this long after a ping; 0 = 10 s */
    uint32_t close_timeout_ms;      /* wait for the peer's close / FIN; 0 = 3 s */
    uint64_t max_backlog;           /* queued bytes per connection before the policy; 0 = 1 MiB */
    int backpressure_policy;        /* enum nws_backpressure_policy */
    nws_http_limits http;           /* zero fields take defaults: 8 KiB head, 4 KiB line, 64 headers */
    const char *health_path;        /* a plain GET of this path gets 200 "ok"; NULL = none */
    const char *ready_path;         /* a plain GET gets 200 "ready", or 503 while draining or set
                                       not ready (nws_server_set_ready); NULL = none */
    const nws_page *pages;          /* answered with 200 to a plain GET of their path (copied) */
    size_t page_count;
    uint32_t max_rooms_per_conn;    /* rooms one connection may be in (nws_room_join: NWS_ELIMIT); 0 = no limit */
    nws_eio_config eio;             /* Engine.IO on a path; off when eio.path is NULL */
    nws_deflate_config deflate;     /* permessage-deflate (nws_deflate.h); off when mode is 0 */
    nws_tls_config tls;             /* TLS on every connection (nws_tls.h); off when tls.cert_count is 0.
                                       Read at nws_server_create: its strings need not outlive it */
} nws_server_config;

/* What a callback learns of a connection as it opens. */
typedef struct nws_open_info {
    const nws_http_request *request;
    const nws_upgrade *upgrade;
    const char *protocol;           /* the subprotocol chosen, or NULL */
    size_t protocol_len;
    int loop;                       /* index of the loop thread that owns the connection */
    int engine_io;                  /* 1 when the connection speaks Engine.IO (config.eio.path) */
    int tls;                        /* 1 over TLS (config.tls) */
    const char *tls_peer_subject;   /* mTLS: the verified client certificate's subject (RFC 2253), or NULL */
} nws_open_info;

/* What on_http answers a plain GET with. body is malloc'd by the callback and freed by the core
 * (NULL for none); headers, when set, are extra header lines, each ending in CRLF. */
typedef struct nws_http_reply {
    int status;
    const char *content_type;
    void *body;
    size_t body_len;
    char headers[256];
} nws_http_reply;

typedef struct nws_server_callbacks {
    void *ctx;
    /* Optional. Return 0 to go on, or an HTTP status (403, 404, 401...) to refuse the upgrade.
     * May pick a subprotocol from upgrade->protocols by setting *protocol and *protocol_len to a
     * string that lives as long as the server (or inside the request). */
    int (*on_upgrade)(void *ctx, const nws_http_request *request, const nws_upgrade *upgrade,
                      const char **protocol, size_t *protocol_len);
    /* Optional. A plain GET (no upgrade) that no health, ready or page path took, on the loop
     * thread: fill *reply and return 1 to answer it (a metrics scrape, an admin page), or 0 to
     * let the core answer as it would (404 when pages are served, else 426). Keep it short: the
     * loop serves nothing else meanwhile. */
    int (*on_http)(void *ctx, const nws_http_request *request, nws_http_reply *reply);
    /* Optional. Return 1 to allow this Origin (NULL/0 when the request had none). */
    int (*check_origin)(void *ctx, const char *origin, size_t origin_len);
    void (*on_open)(void *ctx, nws_conn_id id, const nws_open_info *info);
    /* A whole text (opcode 1, valid UTF-8) or binary (opcode 2) message; user is the pointer
     * nws_conn_set_user keeps with the connection (NULL when none), handed over so that the
     * message path needs no lookup. */
    void (*on_message)(void *ctx, nws_conn_id id, int opcode, const uint8_t *data, size_t len, void *user);
    /* Once per opened connection, when it stops taking sends: the code the peer sent (1005 when
     * its close had none), the code the server sent, or 1006 when TCP ended without a close. */
    void (*on_close)(void *ctx, nws_conn_id id, uint16_t code, const uint8_t *reason, size_t len);
    /* Optional. A room got its first member on this server (present = 1) or lost its last (0).
     * Runs on a loop thread after the change, with no lock held, in the order of the changes
     * over all loops (one thread tells at a time): it may call any function of the server. */
    void (*on_room)(void *ctx, const char *room, size_t len, int present);
    /* Optional. Each loop thread calls it as it starts (started = 1) and before it exits (0). */
    void (*on_loop)(void *ctx, int loop, int started);
    /* Optional. Called once, from the last loop thread to exit, after a shutdown. */
    void (*on_stopped)(void *ctx);
} nws_server_callbacks;

/* Counters, summed over the loops (each read atomically; the sum is not a snapshot). */
typedef struct nws_server_stats {
    uint64_t connections_open;
    uint64_t connections_accepted;
    uint64_t upgrades_refused;        /* HTTP error answers */
    uint64_t handshake_timeouts;
    uint64_t messages_in;
    uint64_t messages_out;            /* frames queued, control frames included */
    uint64_t bytes_in;                /* read from sockets: HTTP requests too (TLS: its records) */
    uint64_t bytes_out;               /* queued as WebSocket frames or long-polling bodies (not HTTP heads) */
    uint64_t protocol_errors;         /* connections failed with 1002/1007/1009 */
    uint64_t heartbeat_timeouts;
    uint64_t idle_timeouts;
    uint64_t dropped_messages;        /* dropped under backpressure */
    uint64_t backpressure_closes;
    uint64_t queued_bytes;            /* bytes in every send queue right now */
    uint64_t deliveries;              /* broadcast copies queued (room and id-list fan-outs) */
    uint64_t eio_messages_in;         /* of messages_in: over Engine.IO */
    uint64_t eio_messages_out;        /* application messages queued to Engine.IO clients (in messages_out) */
    uint64_t eio_bytes_in;            /* of bytes_in: Engine.IO's WebSocket connections and HTTP requests */
    uint64_t eio_bytes_out;           /* of bytes_out: queued to Engine.IO clients */
} nws_server_stats;

/* One loop thread's own figures (nws_server_loop_stats). */
typedef struct nws_loop_stats {
    uint64_t iterations;              /* passes through the loop (a wake, its work, its flush) */
    uint64_t busy_ns;                 /* time from each wake to the end of its work, summed */
    uint64_t inbox_depth;             /* tasks posted from other threads, not run yet */
    uint64_t connections_open;
} nws_loop_stats;

/* Validates the config (copied) and allocates; starts nothing. */
int nws_server_create(const nws_server_config *config, const nws_server_callbacks *callbacks,
                      nws_server **out);
/* Binds the listening sockets and starts the loop threads; returns once they listen. */
int nws_server_start(nws_server *s);
uint16_t nws_server_port(const nws_server *s);
/* Whether a backend can be set up on this machine right now (io_uring is often forbidden in
 * containers); AUTO and EPOLL always can. Sets up and tears down one ring: not a hot path. */
int nws_backend_available(int backend);
int nws_server_backend(const nws_server *s);   /* the backend in use after start */
int nws_server_loop_count(const nws_server *s);
void nws_server_stats_get(const nws_server *s, nws_server_stats *out);
/* One loop's figures; NWS_EINVAL for a loop that does not exist. Any thread. */
int nws_server_loop_stats(const nws_server *s, int loop, nws_loop_stats *out);
/* Stops accepting, sends 1001 to every client, waits up to drain_ms for queues to empty and
 * peers to answer, then closes what is left and stops the loops. Returns at once; on_stopped
 * tells when it is over. Idempotent. */
void nws_server_shutdown(nws_server *s, uint32_t drain_ms);
/* Readiness, as a plain GET of config.ready_path reports it: the application's say (a link it
 * needs is down: 0), and nothing once draining. A server starts ready. Any thread. */
void nws_server_set_ready(nws_server *s, int ready);
int nws_server_ready(const nws_server *s);
/* The start of a rolling deploy's drain: readiness turns false, and new upgrades (WebSocket,
 * and new Engine.IO sessions) are refused with 503 and "Retry-After: retry_after_s", so that a
 * load balancer sends clients elsewhere. Open connections are served as before, until
 * nws_server_shutdown. Any thread; idempotent (a later call only changes Retry-After). */
void nws_server_drain(nws_server *s, uint32_t retry_after_s);
int nws_server_draining(const nws_server *s);
/* Blocks until every loop thread has exited; from then on nws_loop_post and the other posts
 * are refused with NWS_ECLOSED. */
void nws_server_wait(nws_server *s);
/* After nws_server_wait: runs, on the calling thread and in order, what was posted to the loops
 * and not run before they exited (a posted function, a send to a connection that is gone), so
 * that what each holds is released. nws_server_destroy does it too, for what is left then. */
void nws_server_run_leftovers(nws_server *s);
/* Frees the server; call after nws_server_wait (or when it never started). */
void nws_server_destroy(nws_server *s);

/* Frames data as one message (opcode TEXT, BINARY, PING or PONG) and queues it.
 * 0, or NWS_ESTALE (no such connection), NWS_ECLOSED (closing), NWS_EDROPPED (droppable and the
 * queue is over its limit), NWS_EBACKPRESSURE (over the limit: the connection is being closed
 * with 1008), NWS_ETOOBIG, NWS_ENOMEM. From another thread the result of the send itself is not
 * known yet: 0 means "posted". */
int nws_send(nws_server *s, nws_conn_id id, int opcode, const void *data, size_t len, unsigned flags);
/* A pointer the application keeps with a connection (its own object for the connection), so
 * that on_message is handed it without a lookup. Only on the loop thread that owns the
 * connection (in on_open, on_message...); it is forgotten with the connection. set returns 0 or
 * NWS_ESTALE; get returns NULL for a stale id, another loop's id, or none set. */
int nws_conn_set_user(nws_server *s, nws_conn_id id, void *user);
void *nws_conn_user(nws_server *s, nws_conn_id id);
/* Starts the close handshake with code (1000 when 0) and a reason; 0 or NWS_ESTALE/NWS_ECLOSED.
 * Code 1006, which is never sent, drops the connection instead, as a network failure would: no
 * close frame, and for Engine.IO no close packet (its clients then reconnect). */
int nws_close(nws_server *s, nws_conn_id id, uint16_t code, const char *reason, size_t reason_len);

/* A message framed once and shared (refcounted) by every connection it is sent to. */
typedef struct nws_msg nws_msg;
nws_msg *nws_msg_create(int opcode, const void *data, size_t len);
/* The same for Engine.IO connections (a text becomes a message packet). A broadcast of either
 * reaches only the connections that speak its protocol: a room of both gets one of each. */
nws_msg *nws_msg_create_engine_io(int opcode, const void *data, size_t len);
void nws_msg_release(nws_msg *m);
/* Queues m to each id (ids of closed connections are skipped). Ids are grouped by loop; each
 * loop fans out to its own connections. Returns the count of ids queued at once on this thread
 * plus those posted to other loops. */
int nws_broadcast(nws_server *s, nws_msg *m, const nws_conn_id *ids, size_t count, unsigned flags);

/* Runs fn(arg) on loop thread `loop` (0 <= loop < nws_server_loop_count). The one way to reach a
 * loop from another thread. 0, NWS_EINVAL, NWS_ENOMEM, or NWS_ECLOSED once the loops have
 * stopped (fn will not run). What was posted and not yet run when the loop stopped is run by
 * nws_server_run_leftovers, on the thread that calls it. */
int nws_loop_post(nws_server *s, int loop, void (*fn)(void *arg), void *arg);
/* The index of the loop thread calling, or -1 off the loops. */
int nws_loop_current(const nws_server *s);
/* The loop index an id belongs to. */
static inline int nws_conn_loop(nws_conn_id id) { return (int)(id >> 56); }

#endif
