/*
 * bench.h — the types every part of navios-ws-bench shares: options, the error list, the
 * run's clock, a worker (one thread, one io_uring, a share of the connections), a client
 * connection, and the interface a scenario implements.
 *
 * Thread rule: a worker and everything it owns (its ring, connections, counters, histogram,
 * scenario state) belong to its thread from start to join. The only shared state is the
 * read-only options and the phase clock, written by the main thread before the "go" barrier
 * and read after it (the barrier orders the accesses). Results are merged by the main thread
 * after the workers are joined.
 *
 * Memory: connections, send buffers and scenario state are allocated when a worker starts
 * or when a connection first needs them; the message path itself does not allocate once a
 * connection's buffers have grown to the run's size.
 */
#ifndef BENCH_H
#define BENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* first include of every harness file: IP_BIND_ADDRESS_NO_PORT, barriers */
#endif
#include <liburing.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "histogram.h"
#include "nws_frame.h"

/* ---- errors ---------------------------------------------------------------------------
 * Everything the server can do wrong, one counter each. Any non-zero counter makes the run
 * fail (exit status 3): a server that drops or mangles messages must never look fast.
 *      name             key in the output       meaning */
#define BENCH_ERROR_LIST(X)                                                                   \
    X(ERR_CONNECT,     "connect",          "TCP connect failed")                             \
    X(ERR_HANDSHAKE,   "handshake",        "upgrade refused, bad Sec-WebSocket-Accept, or the connection ended during it") \
    X(ERR_CLOSED,      "closed_by_server", "the server ended TCP without a close handshake") \
    X(ERR_CLOSE_FRAME, "close_frame",      "the server sent a close frame the client did not ask for") \
    X(ERR_PROTOCOL,    "protocol",         "a server frame RFC 6455 forbids")                \
    X(ERR_LENGTH,      "length",           "an answer whose length differs from what was expected") \
    X(ERR_CONTENT,     "content",          "an answer whose bytes, opcode or sequence number differ from what was sent") \
    X(ERR_UNEXPECTED,  "unexpected",       "a message nothing asked for")                    \
    X(ERR_TIMEOUT,     "timeout",          "a connect, upgrade or close that did not finish in time") \
    X(ERR_MISSING,     "missing",          "sent or published, never received")             \
    X(ERR_DUPLICATE,   "duplicate",        "received more than once")

enum bench_error {
#define BENCH__ERR_ENUM(name, key, msg) name,
    BENCH_ERROR_LIST(BENCH__ERR_ENUM)
#undef BENCH__ERR_ENUM
    ERR_COUNT
};

const char *bench_error_key(int err);
const char *bench_error_message(int err);

/* ---- options ------------------------------------------------------------------------ */

/* What the messages are. raw: echo and latency send bare payloads (echo_msg.h); gateway:
 * NaviosWS gateway JSON events (echo, latency: an event and its ack; fanout: join/publish);
 * broadcast: fanout against a server that relays every message to every client. Unset until
 * the scenario's check picks its default. */
enum bench_protocol { PROTO_UNSET = -1, PROTO_RAW, PROTO_GATEWAY, PROTO_BROADCAST, PROTO_SOCKETIO };

#define BENCH_MAX_PORTS 8

typedef struct bench_opts {
    const struct scenario *scenario;
    const char *host;
    int port;
    int also_ports[BENCH_MAX_PORTS - 1];   /* more instances of one service (--also-port) */
    int nalso_ports;
    const char *path;
    int threads;
    int connections;          /* echo, latency, idle */
    size_t size;              /* payload bytes of each message */
    int depth;                /* echo: messages in flight per connection */
    int binary;               /* echo, latency: binary frames instead of text */
    int verify;               /* echo, latency: compare every byte, not only the sequence number */
    int deflate;              /* offer permessage-deflate, compress what is sent (deflate.c) */
    int tls;                  /* wss://: every connection over TLS (tls.c) */
    double rate;              /* latency: requests/s over all connections; fanout: publishes/s */
    double warmup, duration, drain, connect_timeout;
    int json;
    int subscribers, publishers;   /* fanout */
    const char *room;              /* fanout, gateway protocol */
    int protocol;                  /* enum bench_protocol */
    const char *event;             /* echo, latency, gateway protocol: the event echoed */
    int concurrency;          /* connect: handshakes in flight */
    int sources;              /* idle, connect: source addresses 127.0.0.2 ... (0: one, the default) */
    long server_pid;          /* -1: none */
} bench_opts;

/* ---- the run's clock ----------------------------------------------------------------
 * Absolute CLOCK_MONOTONIC nanoseconds. setup_deadline bounds connecting; the rest is set by
 * the main thread between the "ready" and "go" barriers. */
typedef struct bench_clock {
    uint64_t setup_start;     /* the first connect */
    uint64_t setup_deadline;
    uint64_t start;           /* go: warm-up begins */
    uint64_t warm_end;        /* measuring begins */
    uint64_t measure_end;     /* nothing new is sent from here */
    uint64_t drain_end;       /* in-flight answers are no longer waited for */
} bench_clock;

uint64_t now_ns(void);

/* ---- a connection --------------------------------------------------------------------- */

enum ws_state {
    WS_FREE,          /* slot unused */
    WS_CONNECTING,    /* connect submitted */
    WS_UPGRADING,     /* request sent, reading the 101 */
    WS_OPEN,
    WS_CLOSING,       /* our close frame is queued or sent; waiting for the server's */
    WS_CLOSE_WAIT,    /* both close frames exchanged; waiting for the server to end TCP */
    WS_DEAD,          /* torn down; the slot is released once the ring holds no operation on it */
};

typedef struct outbuf {
    uint8_t *data;
    size_t len, off, cap;   /* bytes data[off..len) are still to be sent */
} outbuf;

typedef struct wsconn {
    int fd;
    uint32_t slot, gen;       /* gen changes every time the slot is reused (see ring.h) */
    uint8_t state;            /* enum ws_state */
    uint8_t dirty;            /* in the worker's list of connections with bytes to send */
    uint8_t sending;          /* a send is in the ring (at most one: bytes stay in order) */
    uint8_t counted_open;
    uint32_t inflight;        /* operations in the ring that name this slot */
    uint32_t src;             /* index of the source address */
    int32_t ordinal;          /* setup connections: 0.. in the order the worker opened them
                                 (scenarios give roles by it); -1 for later ones */
    uint64_t started;         /* when the connect was submitted (ns) */
    uint64_t opened;          /* when the 101 was checked (ns) */
    outbuf out;               /* frames queued, not yet handed to the ring */
    outbuf wire;              /* the bytes of the send in flight */
    char *hs;                 /* the upgrade response while it is read, then freed */
    size_t hs_len;
    char accept[32];          /* the Sec-WebSocket-Accept the server must answer */
    nws_decoder dec;
    uint64_t msg_len;         /* payload bytes of the message being received */
    uint8_t sio;              /* --protocol socketio: enum sio_stage (sio_session.c) */
    void *user;               /* the scenario's state for this connection */
    struct wsd_conn *deflate; /* permessage-deflate as negotiated (deflate.c), or NULL */
    struct wst_conn *tls;     /* --tls: the connection's session (tls.c), or NULL */
} wsconn;

/* ---- a worker --------------------------------------------------------------------------- */

typedef struct bench_ring {
    struct io_uring ring;
    int disabled;             /* created R_DISABLED: enabled by the worker thread */
    struct io_uring_buf_ring *br;
    size_t br_bytes;
    uint8_t *bufs;
} bench_ring;

#define KEY_POOL 4096         /* mask keys drawn per RAND_bytes call */

typedef struct worker {
    int index;
    const bench_opts *opt;
    const bench_clock *clock;
    const struct scenario *sc;
    void *sc_data;            /* the scenario's per-worker state */
    bench_ring ring;
    struct sockaddr_storage dst[BENCH_MAX_PORTS];   /* --port, then each --also-port */
    int ndst;
    uint32_t next_dst;        /* connections go round robin over dst */
    socklen_t dst_len;

    wsconn *conns;            /* slots */
    uint32_t nslots;
    uint32_t *free_slots;     /* stack of released slots */
    uint32_t nfree;
    wsconn **dirty;           /* connections with queued bytes, flushed once per iteration */
    uint32_t ndirty;

    int target;               /* connections this worker opens in the setup phase */
    int next_to_open;         /* of those, how many were started */
    int connecting;           /* connects and upgrades in progress */
    int open;                 /* upgraded and not yet ended */

    uint64_t now;             /* the loop's clock: read once per iteration and after each wait */
    uint64_t errors[ERR_COUNT];
    histogram *hist;          /* the scenario's latencies, when it has any */

    uint8_t keys[KEY_POOL * 4];
    int keys_left;
    int fatal;                /* a system failure on this thread (the message is printed) */
    struct wsd_worker *deflate;   /* the shared compression streams (deflate.c), made when first used */
    struct ssl_ctx_st *tls_ctx;   /* --tls: the client context (tls.c) */
    uint8_t tls_plain[16384];     /* --tls: a record's plaintext */
} worker;

/* ---- the run as the main thread sees it ----------------------------------------------- */

typedef struct bench_run {
    const bench_opts *opt;
    bench_clock clock;
    long rss_before_kib, rss_after_kib;   /* the server's (--server-pid); -1 unknown */
    double server_cpu_pct, client_cpu_pct;  /* during the measured phase; -1 unknown */
    uint64_t errors[ERR_COUNT];           /* the workers' counters, summed */
} bench_run;

/* ---- a scenario --------------------------------------------------------------------------
 * Callbacks run on the worker's thread. Only name and the hooks a scenario needs are set. */
struct report;
typedef struct scenario {
    const char *name;
    const char *summary;                        /* one line for --help */
    /* Fills defaults and refuses impossible combinations; NULL or a reason. */
    const char *(*check)(bench_opts *o);
    int uses_histogram;
    /* How the worker sleeps once "go" is passed. 0 or 1: it wakes for every completion. N: it
     * wakes when N completions are ready or wait_window_ns has passed, whichever is first
     * (see worker_run). */
    unsigned wait_batch;
    uint64_t wait_window_ns;
    /* Allocates w->sc_data and sets w->target (connections opened before "go"). 0 or -1. */
    int (*setup)(worker *w);
    /* All of this worker's setup connections are open (or failed): is it ready for "go"?
     * (fanout: every subscriber's join acknowledged). NULL: yes. */
    int (*ready)(worker *w);
    void (*on_open)(worker *w, wsconn *c);                       /* after a good 101 */
    void (*on_data)(worker *w, wsconn *c, const nws_decoded *d); /* a chunk of a message */
    /* The connection ended: clean (our close handshake completed) or not (the error is
     * already counted). */
    void (*on_end)(worker *w, wsconn *c, int clean);
    void (*on_go)(worker *w);                                    /* after the "go" barrier */
    /* Scheduled work; returns the next time it wants to run (0: no wish). */
    uint64_t (*tick)(worker *w, uint64_t now);
    /* After measure_end: nothing is left in flight, the worker may stop before drain_end. */
    int (*drained)(worker *w);
    /* Main thread, after the workers are joined: parameters and results into the report;
     * counts that do not add up go into run->errors (missing, duplicate). */
    void (*report)(worker **ws, int n, struct bench_run *run, struct report *r);
    void (*destroy)(worker *w);
} scenario;

extern const scenario scenario_echo, scenario_latency, scenario_fanout, scenario_connect,
    scenario_idle;

/* ---- worker.c: slots, opening connections, the loop -------------------------------- */

int worker_init(worker *w, int index, const bench_opts *o, const bench_clock *k,
                const struct sockaddr_storage *dst, socklen_t dst_len);
void worker_destroy(worker *w);
/* For a scenario's setup: the worker's n connection slots (allocated once). 0 or -1. */
int worker_reserve_slots(worker *w, uint32_t n);
/* A free slot in state WS_CONNECTING with its connect submitted, or NULL (no slot, or
 * socket() failed: counted as ERR_CONNECT). */
wsconn *worker_connect(worker *w, uint32_t src);
void worker_mark_dirty(worker *w, wsconn *c);
/* Runs the loop until `until` (ns) or until stop(w) says so. */
void worker_run(worker *w, uint64_t until, int (*stop)(worker *w));
/* Random mask key, 4 bytes, from the worker's pool. */
const uint8_t *worker_mask_key(worker *w);
/* This worker's part of `total` (connections, subscribers, ...) split evenly over threads:
 * item i goes to worker i % threads. */
int worker_share(const worker *w, int total);
/* Number of this worker's slots whose connection is upgraded and not ended. */
int worker_open_count(const worker *w);

/* Thread body: setup, barriers, measured loop. */
typedef struct run_sync {
    pthread_barrier_t ready, go, done, teardown;
} run_sync;
typedef struct worker_thread_arg {
    worker *w;
    run_sync *sync;
} worker_thread_arg;
void *worker_thread(void *arg);

/* ---- ring.c: io_uring, buffer ring, user_data tags -------------------------------------- */

enum op_kind { OP_CONNECT = 1, OP_RECV, OP_SEND, OP_CANCEL };

int ring_init(bench_ring *r);
int ring_enable(bench_ring *r);
void ring_destroy(bench_ring *r);
void ring_connect(bench_ring *r, wsconn *c, const struct sockaddr *addr, socklen_t len);
void ring_recv(bench_ring *r, wsconn *c);
void ring_send(bench_ring *r, wsconn *c, const uint8_t *data, size_t len);
void ring_cancel(bench_ring *r, wsconn *c);
/* Submits what is queued and waits up to timeout_ns for `want` completions. */
void ring_wait(bench_ring *r, uint64_t timeout_ns, unsigned want);
uint8_t *ring_buffer(bench_ring *r, unsigned bid);
void ring_recycle(bench_ring *r, unsigned bid);
uint64_t ring_tag(enum op_kind kind, uint32_t slot, uint32_t gen);
enum op_kind ring_tag_kind(uint64_t tag);
uint32_t ring_tag_slot(uint64_t tag);
uint32_t ring_tag_gen(uint64_t tag);

/* ---- wsconn.c: one client connection ------------------------------------------------------ */

/* The connect completed (res: 0 or -errno): sends the upgrade request and arms recv. */
void ws_on_connect(worker *w, wsconn *c, int res);
void ws_on_recv(worker *w, wsconn *c, struct io_uring_cqe *cqe);
void ws_on_send(worker *w, wsconn *c, int res);
/* Queues one masked frame (payload masked with a fresh key). */
void ws_send_frame(worker *w, wsconn *c, uint8_t opcode, const uint8_t *data, size_t len);
/* Room for one masked frame of `len` payload bytes: writes the header, returns where the
 * payload goes and the key it must be masked with; ws_commit_frame then queues it. For
 * scenarios that build a payload in place instead of copying it twice. */
uint8_t *ws_reserve_frame(worker *w, wsconn *c, uint8_t opcode, size_t len, const uint8_t **key);
void ws_commit_frame(worker *w, wsconn *c, size_t len);
/* The same, never compressed, with RSV1 as asked (deflate.c writes its frames with it). */
uint8_t *ws_reserve_plain_frame(worker *w, wsconn *c, uint8_t opcode, int rsv1, size_t len, const uint8_t **key);

/* ---- deflate.c: permessage-deflate, the client's side ------------------------------------ */
/* The offer's header line, CRLF included. */
const char *wsd_offer_header(void);
/* The server's answer (the Sec-WebSocket-Extensions value): 0 and c->deflate set, or -1. */
int wsd_accept(wsconn *c, const char *answer, size_t len);
/* ws_reserve_frame of a data frame on a compressing connection: plain payload, a zero key. */
uint8_t *wsd_reserve(worker *w, wsconn *c, uint8_t opcode, size_t len, const uint8_t **key);
/* ws_commit_frame: 1 when a reserved payload was compressed and queued, 0 when none waited. */
int wsd_commit(worker *w, wsconn *c, size_t len);
/* A chunk of a compressed message: 1 when *whole holds the message inflated, 0 while more
 * chunks are needed, -1 when it does not inflate (or its text is not UTF-8). */
int wsd_on_data(worker *w, wsconn *c, const nws_decoded *in, nws_decoded *whole);
void wsd_conn_free(wsconn *c);
void wsd_worker_free(worker *w);

/* ---- tls.c: wss://, the client's side ------------------------------------------------------ */
/* The connection's session once TCP is up: its ClientHello is queued. 0 or -1. */
int wst_start(worker *w, wsconn *c);
/* Seals the plaintext queued in c->out (once the handshake is done) and appends every record
 * waiting to be sent to wire. 0 or -1. */
int wst_seal(wsconn *c, outbuf *wire);
/* Records are waiting to be sent. */
int wst_pending(const wsconn *c);
/* Received records: their plaintext goes to `plain`. 0, or -1 when the session failed. */
int wst_input(worker *w, wsconn *c, const uint8_t *data, size_t len,
              void (*plain)(worker *, wsconn *, uint8_t *, size_t));
void wst_free(wsconn *c);
void wst_worker_free(worker *w);
/* Starts the closing handshake (close 1000); the connection ends cleanly once the server has
 * answered with its close frame and ended TCP. */
void ws_close(worker *w, wsconn *c);
/* Tears the connection down now; err >= 0 is counted, -1 counts nothing (end of the run). */
void ws_kill(worker *w, wsconn *c, int err);
/* The connection holds nothing in the ring any more: close the fd, free the slot. */
void ws_release_if_idle(worker *w, wsconn *c);
void ws_free_buffers(wsconn *c);

/* Counts the connection as open and tells the scenario (after the 101, or after the
 * Socket.IO handshake). */
void ws_opened(worker *w, wsconn *c);

/* ---- sio_session.c: --protocol socketio's Engine.IO and Socket.IO session ------------------ */

enum sio_stage { SIO_NONE, SIO_WAIT_OPEN, SIO_WAIT_CONNECTED, SIO_CONNECTED };
/* A data message of a connection with a session: 1 when it was the session's (handshake or
 * ping, answered here), 0 when it is the scenario's. Whole messages only in the handshake. */
int sio_on_message(worker *w, wsconn *c, const nws_decoded *d);

/* ---- procstat.c ------------------------------------------------------------------------- */

long proc_rss_kib(long pid);       /* VmRSS, or -1 */
double proc_cpu_seconds(long pid); /* utime + stime; pid 0 = this process; -1 when unknown */

#endif
