/*
 * internal.h — the structures shared by the server's files: loop, connection, send queue,
 * timer wheel, inbox, and the small interface every I/O backend implements.
 *
 * Ownership: a loop owns its connections, their send queues and its timers; only its thread
 * touches them. The inbox is the one structure written by other threads.
 */
#ifndef NWS_INTERNAL_H
#define NWS_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* accept4, clock_gettime, SO_REUSEPORT under -std=c11 */
#endif

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>   /* max_align_t */
#include <stdint.h>
#include <sys/uio.h>

#include "nws_deflate.h"
#include "nws_error.h"
#include "nws_frame.h"
#include "nws_http.h"
#include "nws_rooms.h"
#include "nws_server.h"

/* ---- connection ids: [loop:8][slot:24][generation:32] ---- */
#define NWS__SLOT_BITS 24
#define NWS__MAX_SLOTS (1u << NWS__SLOT_BITS)

static inline nws_conn_id nws__make_id(unsigned loop, uint32_t slot, uint32_t gen) {
    return ((uint64_t)loop << 56) | ((uint64_t)slot << 32) | gen;
}
static inline uint32_t nws__id_slot(nws_conn_id id) { return (uint32_t)(id >> 32) & (NWS__MAX_SLOTS - 1); }
static inline uint32_t nws__id_gen(nws_conn_id id) { return (uint32_t)id; }

/* ---- refcounted buffers ---- */
typedef struct nws_buf {
    atomic_uint refs;
    uint32_t cap;
    uint32_t len;
    uint16_t pooled;          /* NWS__POOL_LARGE or NWS__POOL_SMALL: the loop pool it goes back to */
    uint16_t engine_io;       /* a shared message: framed for Engine.IO connections (its '4' in) */
    uint8_t data[];
} nws_buf;

/* 16 KiB of payload plus the largest frame header: a 16 KiB message fits one pooled buffer. */
#define NWS__BUF_POOLED (16u * 1024u + 64u)
/* Small buffers hold the copies of small broadcasts queued behind a backlog (sendq.c): a
 * connection that falls behind holds about a kilobyte, not 16. */
#define NWS__BUF_SMALL 1024u
enum { NWS__POOL_NONE, NWS__POOL_LARGE, NWS__POOL_SMALL, NWS__POOL_KINDS };
/* nws_buf.pooled of a shared message's buffer (never pooled): its release frees the nws_msg
 * around it, and the compressed copy it may hold. */
#define NWS__POOL_MSG 0xFFFFu

typedef struct nws__buf_pool {  /* free buffers of one size, linked through their data */
    nws_buf *head;
    uint32_t count, max;
} nws__buf_pool;

struct nws_msg {              /* a framed message: header and payload contiguous in buf */
    /* The same message framed compressed (permessage-deflate, no context), made by the first
     * loop that sends it to a connection that negotiated compression; NWS__NO_GAIN when
     * compressing it did not make it shorter (deflate.c). */
    _Atomic(nws_buf *) deflated;
    nws_buf buf;
};
#define NWS__NO_GAIN ((nws_buf *)1)
/* The length of a server frame's header (unmasked: 2, 4 or 10), from its second byte. */
static inline size_t nws__server_header_len(const uint8_t *frame) {
    uint8_t len7 = frame[1] & 0x7f;
    return len7 < 126 ? 2 : len7 == 126 ? 4 : 10;
}
/* The header length of a server frame with a payload of len bytes. */
static inline size_t nws__frame_header_len(size_t len) { return len < 126 ? 2 : len <= 0xFFFF ? 4 : 10; }
/* A server frame's header (final, unmasked) for a payload of len bytes at dst; its length. A small
 * payload's 2 bytes are written here, inline: most frames a server sends. */
static inline size_t nws__put_frame_header(uint8_t *dst, int opcode, int rsv1, size_t len) {
    if (len >= 126) return nws_frame_header(dst, (uint8_t)opcode, 1, rsv1, len, NULL);
    dst[0] = (uint8_t)(0x80 | (rsv1 ? 0x40 : 0) | (opcode & 0x0F));
    dst[1] = (uint8_t)len;
    return 2;
}
static inline nws_msg *nws__msg_of(nws_buf *b) {
    return (nws_msg *)((char *)b - offsetof(nws_msg, buf));
}

/* ---- send queue: a list of slices of refcounted buffers ---- */
typedef struct nws__seg {
    struct nws__seg *next;
    nws_buf *buf;
    uint32_t off;             /* first unsent byte in buf->data */
    uint32_t len;             /* bytes from off still to send */
} nws__seg;

/* ---- timer wheel ---- */
typedef struct nws__timer {
    struct nws__timer *prev, *next;
    uint64_t deadline_ms;
} nws__timer;

#define NWS__WHEEL_SLOTS 512u
#define NWS__TICK_MS 8u

typedef struct nws__wheel {
    nws__timer slots[NWS__WHEEL_SLOTS];   /* sentinels of circular lists */
    uint64_t current_tick;                /* ticks up to this one have been processed */
    size_t count;
} nws__wheel;

/* ---- connection ---- */
enum nws__conn_state {
    NWS__HANDSHAKE = 1,   /* reading the upgrade request */
    NWS__REFUSING,        /* an HTTP error answer is being sent; then close */
    NWS__OPEN,
    NWS__CLOSING,         /* a close frame was sent or received; no more messages either way */
    NWS__POLL_WAIT,       /* an Engine.IO long-polling GET, waiting for its session's packets (eio_polling.c) */
};

/* A backend keeps its state of a connection in nws_conn.io, bytes only its file reads. In place
 * rather than behind a pointer: no extra load on the message path, no allocation for an idle
 * connection (the bytes fill what was padding). Sized for the largest need, io_uring's. */
#define NWS__CONN_IO_BYTES 2

typedef struct nws_conn nws_conn;
/* A room a connection is in (rooms.c). */
typedef struct nws__membership {
    struct nws__room *room;
    uint32_t index;           /* position of the connection in room->members */
} nws__membership;

/* What a connection needs only at times: while its upgrade request is read, while a message is
 * reassembled, while it is in rooms, as an Engine.IO session's, or with compression streams of
 * its own. Made at the first need (nws__conn_cold_get) and freed when nothing is left in it
 * (nws__conn_cold_trim), so an idle plain connection carries one NULL pointer for all of it. */
typedef struct nws__conn_cold {
    char *http;               /* the upgrade request while it is read, or the refusal */
    uint32_t http_len, http_cap;
    uint32_t http_prev;       /* where the request's parse resumes (upgrade.c) */
    uint32_t room_count, room_cap;
    nws__membership *rooms;   /* the rooms this connection is in (rooms.c): &first_room, or an
                                 array once it is in two */
    nws__membership first_room;
    uint8_t *message;         /* a fragmented or split message being reassembled */
    uint32_t message_len, message_cap;   /* at most max_message (32 bits, see apply_defaults) */
    struct nws__eio_session *session;   /* a long-polling session's state, shared with its GET and its WebSocket */
    struct nws__deflate_conn *deflate_state;   /* dedicated compression streams (deflate.c), or NULL */
} nws__conn_cold;

struct nws_conn {
    nws__timer timer;         /* first: the wheel hands back nws__timer pointers */
    int fd;
    uint32_t slot;
    uint32_t gen;
    uint8_t state;
    uint8_t close_sent;       /* a close frame is queued */
    uint8_t close_received;
    uint8_t write_shut;       /* shutdown(SHUT_WR) done after the close frame left */
    uint8_t awaiting_pong;
    uint8_t dirty;            /* on the loop's list of connections to flush */
    uint8_t dead;             /* the fd is being torn down */
    uint8_t io[NWS__CONN_IO_BYTES];   /* the backend's (io_uring: its send in flight, the
                                         operations that own it; epoll: unused) */
    uint8_t opened;           /* on_open was called: on_close is owed */
    uint8_t discard_input;    /* after a protocol error: input is read and dropped */
    uint8_t first_seg_busy;   /* first_seg is in the send queue */
    uint8_t eio;              /* speaks Engine.IO (eio.c): enum nws__eio_kind, or 0 */
    uint8_t handoff;          /* moving to loop handoff - 1 (handoff.c); 0: staying */
    uint8_t kept_alive;       /* an HTTP connection kept open after an Engine.IO answer, for the next request */
    uint8_t deflate;          /* permessage-deflate as negotiated: NWS__DEFLATE_* bits, 0 when not */
    uint32_t mark;            /* the last broadcast that reached it: each one at most once */
    uint32_t last_in_ms;      /* for the idle timeout; these two hold the low 32 bits of the */
    uint32_t ping_sent_ms;    /* loop's clock (nws__ms32, nws__ms_from32): 8 bytes less a connection */
    nws__seg *head, *tail;
    uint64_t queued;          /* bytes in the send queue */
    nws_conn *dirty_next;
    /* The queue's first segment lives here: a connection that keeps up has one segment at a
     * time, and a fan-out to thousands of them touches no segment pool (whose free list is a
     * chain of cache misses) and no memory outside the connection but the shared frame. */
    nws__seg first_seg;
    void *user;               /* the application's (nws_conn_set_user) */
    nws_conn *grave_next;     /* on the loop's list of connections to free */
    nws__conn_cold *cold;     /* NULL while none of it is needed */
    nws_decoder decoder;
    struct nws__tls_conn *tls;  /* a TLS connection's session and records (tls.c), or NULL */
};
/* Idle memory per connection is mostly this struct: at 216 bytes it is a 224-byte malloc chunk.
 * A field added here costs every connection 16 bytes more; the cold part costs them nothing. */
_Static_assert(sizeof(struct nws_conn) <= 216, "nws_conn outgrew its 224-byte malloc chunk");

/* A loop's run of plaintext (tls.c): the records one read brings are decrypted into it before the
 * frames in it are parsed, so a frame larger than a record is parsed where it lies, not copied
 * into a message buffer, unless it straddles two runs. */
#define NWS__TLS_RUN (64u * 1024u)

/* A TLS connection (tls.c): what is queued on the connection is plaintext, sealed into records
 * at the end of an iteration; the records wait in their own queue, the one backends send. */
typedef struct nws__tls_conn {
    void *ssl;                /* SSL * */
    struct nws__tls_contexts *contexts;   /* a reference: the certificates it was served */
    const uint8_t *in;        /* received bytes the session reads, during nws__tls_input */
    size_t in_len;
    nws__seg *wire_head, *wire_tail;   /* records to send */
    uint8_t established;      /* the handshake is done */
    uint8_t notified;         /* close_notify is queued */
    uint8_t failed;           /* the handshake failed: the alert goes, then the connection */
    uint8_t *tickets;         /* TLS 1.3 session tickets' records, held until the next write (tls.c) */
    size_t tickets_len;
    char *peer_subject;       /* mTLS: the client certificate's subject (RFC 2253), or NULL */
    uint8_t *pending;         /* records received and not read yet when the session moved loops */
    size_t pending_len;
    /* Busy sessions keep their record buffers (tls_buffers.c): */
    struct nws__tls_conn *hot_next, **hot_prev;   /* on the loop's list of them, or hot_prev NULL */
    uint16_t reads;           /* reads while not on it */
    uint8_t used;             /* read or wrote since the loop's last look */
} nws__tls_conn;

/* ---- rooms: a chained hash table of named rooms (rooms.c) ---- */
typedef struct nws__room nws__room;
struct nws__room {
    nws__room *next;          /* bucket chain */
    uint64_t hash;
    struct nws_conn **members;   /* a loop's table: its members; the registry's: unused */
    uint32_t count, cap;      /* members here; in the registry, members on every loop; in an
                                 event to tell (on_room): 1 for a first member, 0 for a last */
    uint32_t name_len;
    char name[];
};
typedef struct nws__room_table {
    nws__room **buckets;
    uint32_t mask;            /* bucket count - 1 */
    uint32_t total;           /* rooms in the table */
} nws__room_table;

/* ---- inbox: many producers, one consumer (the loop) ---- */
typedef struct nws__link {
    _Atomic(struct nws__link *) next;
} nws__link;

typedef struct nws__inbox {
    _Atomic(nws__link *) head;   /* producers swap themselves in here */
    nws__link *tail;             /* consumer's end */
    nws__link stub;
    atomic_int wake_pending;     /* the eventfd was written and not yet read */
    int eventfd;
    atomic_int depth;            /* tasks posted and not run yet (a metric) */
} nws__inbox;

/* ---- posted tasks: the one way work crosses to a loop thread ---- */
typedef struct nws_loop nws_loop;

/* c's cold part, made if it has none (taking rooms_lock, or holding it): NULL when out of memory. */
nws__conn_cold *nws__conn_cold_get(nws_loop *loop, nws_conn *c);
nws__conn_cold *nws__conn_cold_get_locked(nws_conn *c);
/* Frees c's cold part once nothing is left in it (taking rooms_lock, or holding it). */
void nws__conn_cold_trim(nws_loop *loop, nws_conn *c);
void nws__conn_cold_trim_locked(nws_conn *c);
/* Frees c's cold part whatever is left in it but the request: for a connection no other thread
 * can reach any more (its slot is cleared), whose rooms, message and streams are gone. */
void nws__conn_cold_free(nws_conn *c);
static inline struct nws__eio_session *nws__conn_session(const nws_conn *c) {
    return c->cold != NULL ? c->cold->session : NULL;
}
/* Runs on the loop thread (or, once the loops have stopped, on the thread that runs what was
 * left: nws_server_run_leftovers) and releases what the payload holds; the task's memory is
 * freed after it returns. */
typedef void (*nws__task_fn)(nws_loop *loop, void *payload);

typedef struct nws__task {
    nws__link link;              /* first: the inbox hands back links */
    nws__task_fn run;
    max_align_t payload[];       /* the bytes run needs, in the same allocation */
} nws__task;

/* ---- loop ---- */

/* Counters have a single writer, their loop thread, and are read from anywhere: a relaxed
 * load and store, so counting costs no locked instruction on the hot path. */
static inline void nws__stat_add(_Atomic uint64_t *counter, uint64_t n) {
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n, memory_order_relaxed);
}
static inline void nws__stat_sub(_Atomic uint64_t *counter, uint64_t n) {
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) - n, memory_order_relaxed);
}
typedef struct nws__backend nws__backend;

typedef struct nws__loop_stats {
    _Atomic uint64_t iterations, busy_ns;   /* per loop: nws_server_loop_stats */
    _Atomic uint64_t open, accepted, refused, handshake_timeouts, messages_in, messages_out,
        bytes_in, bytes_out, protocol_errors, heartbeat_timeouts, idle_timeouts, dropped,
        backpressure_closes, queued, deliveries, eio_messages_in, eio_messages_out,
        eio_bytes_in, eio_bytes_out;
} nws__loop_stats;

struct nws_loop {
    nws_server *server;
    int index;
    pthread_t thread;
    int listen_fd;
    const nws__backend *backend;
    void *backend_data;          /* the backend's own state of the loop (its ring, its buffers) */
    nws_conn **slots;            /* slot -> connection, NULL when free */
    uint32_t *generations;       /* slot -> generation of its last connection */
    uint32_t slot_cap;
    uint32_t *free_slots;        /* stack of free slot numbers */
    uint32_t free_count;
    uint32_t conn_count;
    nws_conn *dirty;             /* connections with bytes to flush this iteration */
    nws_conn *graveyard;         /* torn down, freed at the end of the iteration */
    nws__seg *seg_pool;
    nws__buf_pool buf_pools[NWS__POOL_KINDS];   /* by nws_buf.pooled; [NWS__POOL_NONE] unused */
    nws__wheel wheel;
    uint64_t now_ms;
    uint64_t woke_ns;            /* when the backend's wait returned (nws__loop_woke) */
    uint64_t tick_end_ms;        /* when the last iteration's work ended: the next wait's start */
    nws__inbox inbox;
    uint8_t inbox_signalled;     /* the backend saw the inbox's eventfd readable this iteration */
    atomic_int posting;          /* posts to this loop between their check of `stopped` and their push */
    int stopping;                /* shutdown began: no accepts */
    uint64_t stop_deadline_ms;
    struct nws__spare *spares;   /* freed reassembly buffers kept for the next split message */
    uint32_t spare_count;
    nws__room_table rooms;       /* room name -> local members (rooms.c) */
    uint32_t broadcast_seq;
    struct nws__deflate_loop *deflate;   /* the loop's shared compression streams and buffers (deflate.c) */
    uint8_t deflate_oversized;           /* a scratch buffer of deflate.c's is over the size it keeps */
    uint8_t *tls_plain;          /* TLS: NWS__TLS_RUN bytes of plaintext, read or sealed (tls.c) */
    struct nws__tls_conn *tls_hot;   /* TLS sessions that keep their record buffers (tls_buffers.c) */
    uint64_t tls_sweep_ms;       /* when the loop looks for idle ones among them */
    struct nws_conn **fanout_overflow;   /* fanout.c: closed once a fan-out is over */
    uint32_t fanout_overflow_cap;
    nws__loop_stats stats;
};

struct nws_server {
    nws_server_config config;
    nws_server_callbacks cb;
    int backend;
    uint16_t port;
    int loop_count;
    nws_loop *loops;
    atomic_int running_loops;
    atomic_int shutting_down;
    atomic_int stopped;           /* the loops have exited: posts are refused (NWS_ECLOSED) */
    uint32_t drain_ms;
    atomic_int draining;          /* nws_server_drain: 503 to new upgrades, not ready */
    atomic_int not_ready;         /* nws_server_set_ready(s, 0) */
    atomic_uint retry_after_s;    /* what a refused upgrade is told while draining */
    char *host_copy;
    char *health_copy;
    char *ready_copy;
    char *eio_path_copy;
    uint8_t eio_secret[32];       /* signs Engine.IO session ids (nws_eio_sid_encode) */
    nws_page *page_copies;        /* config.pages, owned */
    /* Held by a loop while it changes its rooms or its slot table, and by any other thread
     * while it reads them (rooms.c): a loop reads its own without it. */
    pthread_mutex_t rooms_lock;
    nws__room_table registry;     /* rooms with a member on any loop, and how many (rooms.c) */
    /* A room's first and last member, queued under rooms_lock and told (on_room) after it is
     * released, in order, by one thread at a time (rooms.c). */
    nws__room *room_events, *room_events_tail;
    int room_events_telling;
    struct nws__tls_contexts *tls_contexts;   /* the certificates new connections get (tls.c), or NULL */
    pthread_mutex_t tls_lock;     /* guards tls_contexts against a reload */
};

/* ---- backend interface: what differs between io_uring and epoll ---- */
struct nws__backend {
    const char *name;
    int (*init)(nws_loop *loop);             /* 0 or NWS_E*; may fail (io_uring) */
    void (*destroy)(nws_loop *loop);
    int (*start_accepting)(nws_loop *loop);
    void (*stop_accepting)(nws_loop *loop);
    int (*conn_added)(nws_loop *loop, nws_conn *c);    /* start reading */
    void (*flush)(nws_loop *loop, nws_conn *c);        /* send what is queued */
    void (*shutdown_write)(nws_loop *loop, nws_conn *c);
    void (*teardown)(nws_loop *loop, nws_conn *c);     /* stop I/O; later nws__conn_free */
    void (*submit)(nws_loop *loop);   /* optional: sends started so far go now, not at the wait */
    /* optional: the kernel still reads c's queue (a send in flight); absent, it never does once
     * flush returns */
    int (*sending)(const nws_conn *c);
    void (*run)(nws_loop *loop);                       /* until the loop stops */
};

extern const nws__backend nws__backend_epoll;
extern const nws__backend nws__backend_uring;

/* ---- shorthands of conn.c and upgrade.c ---- */
static inline const nws_server_config *cfg(const nws_loop *loop) { return &loop->server->config; }
static inline const nws_server_callbacks *cbs(const nws_loop *loop) { return &loop->server->cb; }

/* A connection keeps its times in 32 bits of milliseconds. Such a time is in the past and less
 * than 49 days before `now` (a heartbeat or an idle timeout renews it long before), so the
 * full time is `now` less the 32-bit difference. */
static inline uint32_t nws__ms32(uint64_t ms) { return (uint32_t)ms; }
static inline uint64_t nws__ms_from32(uint64_t now, uint32_t then) { return now - (uint32_t)((uint32_t)now - then); }

/* Engine.IO's share of bytes_out: a path that only Engine.IO clients take reads bytes_out before
 * (nws__bytes_out_mark) and adds what it queued after (nws__eio_bytes_out_since), so the plain
 * WebSocket path pays nothing for the split. */
static inline uint64_t nws__bytes_out_mark(const nws_loop *loop) {
    return atomic_load_explicit(&loop->stats.bytes_out, memory_order_relaxed);
}
static inline void nws__eio_bytes_out_since(nws_loop *loop, uint64_t mark) {
    nws__stat_add(&loop->stats.eio_bytes_out, nws__bytes_out_mark(loop) - mark);
}
static inline nws_conn_id conn_id(const nws_loop *loop, const nws_conn *c) {
    return nws__make_id((unsigned)loop->index, c->slot, c->gen);
}

/* The connection in `slot` if it has generation `gen`, else NULL: every lookup by id. */
static inline nws_conn *nws__slot_conn(const nws_loop *loop, uint32_t slot, uint32_t gen) {
    nws_conn *c = slot < loop->slot_cap ? loop->slots[slot] : NULL;
    return c != NULL && c->gen == gen ? c : NULL;
}

/* ---- loop.c ---- */
extern _Thread_local nws_loop *nws__current_loop;
uint64_t nws__now_ms(void);
/* The connection of id on loop, NULL when stale: inline, every send by id takes it. */
static inline nws_conn *nws__loop_conn(nws_loop *loop, nws_conn_id id) {
    if (nws_conn_loop(id) != loop->index) return NULL;
    nws_conn *c = nws__slot_conn(loop, nws__id_slot(id), nws__id_gen(id));
    return c != NULL && !c->dead ? c : NULL;
}
void nws__loop_woke(nws_loop *loop);          /* the backend's wait returned: the clock, read once */
void nws__loop_tick(nws_loop *loop);          /* timers, inbox, flush: once per iteration */
int nws__loop_should_exit(nws_loop *loop);
int nws__loop_wait_ms(nws_loop *loop);        /* how long the backend may block */
void nws__loop_drain_inbox(nws_loop *loop);
void nws__loop_begin_shutdown(nws_loop *loop, void *payload);   /* a task posted to each loop */
void nws__loop_flush_dirty(nws_loop *loop);
/* Sends what c has queued now, not at the end of the iteration: after work that took long. */
void nws__loop_send_now(nws_loop *loop, nws_conn *c);
/* Frees c at the end of this iteration (never inside a callback that may hold it). */
void nws__loop_bury(nws_loop *loop, nws_conn *c);

/* ---- conn.c: the protocol, backend-independent ---- */
nws_conn *nws__conn_accepted(nws_loop *loop, int fd);   /* NULL when refused (limits) */
/* The same for a socket another loop accepted (handoff.c), with its TLS session (or NULL),
 * whose records still to send are counted in here. */
nws_conn *nws__conn_adopted(nws_loop *loop, int fd, struct nws__tls_conn *tls);
/* A connection with no socket (a long-polling session): a slot and an id; NULL when none is left. */
nws_conn *nws__conn_new_virtual(nws_loop *loop);
void nws__conn_on_data(nws_loop *loop, nws_conn *c, uint8_t *data, size_t len);
void nws__conn_on_eof(nws_loop *loop, nws_conn *c);
void nws__conn_on_timer(nws_loop *loop, nws_conn *c);
void nws__conn_close(nws_loop *loop, nws_conn *c, uint16_t code, const char *reason, size_t len);
void nws__conn_abort(nws_loop *loop, nws_conn *c, uint16_t reported_code);
void nws__conn_free(nws_loop *loop, nws_conn *c);   /* backend: the fd has no I/O left */
void nws__conn_sent_all(nws_loop *loop, nws_conn *c);  /* backend: the queue just emptied */
/* A send: a plain frame, or one that Engine.IO's framing or compression transforms. The
 * dispatch is inline, so that neither path pays a call for the other's registers. */
int nws__conn_send_plain(nws_loop *loop, nws_conn *c, int opcode, const void *data, size_t len, unsigned flags);
int nws__conn_send_transformed(nws_loop *loop, nws_conn *c, int opcode, const void *data, size_t len,
                               unsigned flags);
static inline int nws__conn_send(nws_loop *loop, nws_conn *c, int opcode, const void *data, size_t len,
                                 unsigned flags) {
    if (__builtin_expect((c->eio | c->deflate) != 0, 0))
        return nws__conn_send_transformed(loop, c, opcode, data, len, flags);
    return nws__conn_send_plain(loop, c, opcode, data, len, flags);
}
int nws__conn_send_msg(nws_loop *loop, nws_conn *c, nws_msg *m, unsigned flags);
/* Internal send flag: over the backlog, return NWS_EBACKPRESSURE but leave the close to the
 * caller (nws__conn_close_overflowed), which is iterating over connections a close would change. */
#define NWS__SEND_DEFER_CLOSE (1u << 31)
void nws__conn_close_overflowed(nws_loop *loop, nws_conn *c);
/* For eio.c: a frame queued as it is (no backlog policy: the protocol's own packets); a message
 * for the application; a pong; a peer that broke the protocol (closed with the error's code). */
int nws__conn_queue(nws_loop *loop, nws_conn *c, int opcode, const void *data, size_t len);
void nws__conn_deliver(nws_loop *loop, nws_conn *c, int opcode, const uint8_t *data, size_t len);
void nws__conn_pong(nws_loop *loop, nws_conn *c);
void nws__conn_fail(nws_loop *loop, nws_conn *c, int err);
/* For upgrade.c: a connection with bytes to flush this iteration; the upgrade succeeded;
 * frames that followed the request. */
void nws__conn_mark_dirty(nws_loop *loop, nws_conn *c);
/* Compresses and queues the shared messages that wait for c's own compressor (deflate.c):
 * sendq.c calls it before anything else joins c's queue, the flush before the queue leaves. */
void nws__conn_compress_deferred(nws_loop *loop, nws_conn *c);
void nws__conn_opened(nws_loop *loop, nws_conn *c);
void nws__conn_frames_input(nws_loop *loop, nws_conn *c, uint8_t *data, size_t len);

/* ---- eio.c, eio_polling.c: Engine.IO ---- */
enum nws__eio_kind {
    NWS__EIO_WEBSOCKET = 1,   /* a session that began on WebSocket: the connection is the session */
    NWS__EIO_POLLING,         /* a session that began on long-polling: a connection with no socket */
    NWS__EIO_CARRIER,         /* a WebSocket probing for a polling session, then carrying it */
};
/* A session that began on long-polling: its GET, its WebSocket, what waits for a GET. */
typedef struct nws__eio_session {
    nws_conn *owner;          /* the session's connection (no socket): its id is the session's */
    nws_conn *poll;           /* a GET waiting for packets, or NULL */
    nws_conn *carrier;        /* the WebSocket that probes (then carries) the session, or NULL */
    uint8_t upgraded;         /* the carrier sent "5": every packet goes over it from now on */
    uint8_t client_closed;    /* the client sent "1": a waiting GET is released with a noop */
    uint8_t *out;             /* packets waiting for a GET, joined by 0x1e */
    size_t out_len, out_cap;
} nws__eio_session;

/* Whether the request is for config.eio.path: then eio.c answers it. */
int nws__eio_is_request(const nws_loop *loop, const nws_http_request *req);
/* What an Engine.IO request becomes: answered here (a refusal, a long-polling GET or POST,
 * a handshake over polling, or a move to the loop of the session it names), a new session over
 * WebSocket, or the WebSocket that will carry a polling session. `head_len` ends the head
 * in c->http; a POST's body follows it. */
enum { NWS__EIO_ANSWERED, NWS__EIO_NEW_WEBSOCKET, NWS__EIO_NEW_CARRIER, NWS__EIO_SPARE_CARRIER };
int nws__eio_request(nws_loop *loop, nws_conn *c, const nws_http_request *req, size_t head_len, int websocket_upgrade);
/* The upgrade of an Engine.IO connection is done: a new session's open packet goes out first. */
int nws__eio_opened(nws_loop *loop, nws_conn *c);
/* A whole message of an Engine.IO connection: a packet. */
void nws__eio_input(nws_loop *loop, nws_conn *c, int opcode, const uint8_t *data, size_t len);
/* The bytes of a POST the request still waits for (its Content-Length), 0 when none. Over
 * config.eio.max_payload: -1 (the request is refused with 413). */
long nws__eio_body_wanted(const nws_loop *loop, const nws_http_request *req);

/* eio_polling.c: sessions with no socket of their own. */
/* A long-polling handshake: the application's say (origin, on_upgrade), then the session's
 * connection, opened and told (on_open); NULL when refused (`get` is answered then). */
nws_conn *nws__eio_session_open(nws_loop *loop, nws_conn *get, const nws_http_request *req);
void nws__eio_session_get(nws_loop *loop, nws_conn *get, nws__eio_session *s);
void nws__eio_session_post(nws_loop *loop, nws_conn *post, nws__eio_session *s, const uint8_t *body, size_t len);
/* A send, a shared message, a packet of the core (ping, noop) for a session with no socket. */
int nws__eio_session_send(nws_loop *loop, nws_conn *c, int opcode, const void *data, size_t len);
int nws__eio_session_send_msg(nws_loop *loop, nws_conn *c, nws_msg *m);
void nws__eio_session_packet(nws_loop *loop, nws_conn *c, char type);
/* Answers a waiting GET with what is queued (the end of an iteration, like a flush). */
void nws__eio_session_flush(nws_loop *loop, nws_conn *c);
/* The carrier's probe is done ("5"): what waited for a GET goes over the WebSocket. */
void nws__eio_session_upgraded(nws_loop *loop, nws__eio_session *s);
/* How a session ends: gracefully (what was queued, then "1"), on an error (a timeout, a protocol
 * error: "1" at once), or dropped as a network failure would drop it (no close packet: its GET
 * and carrier are cut, and clients reconnect). */
enum nws__eio_end { NWS__EIO_END_ERROR = 0, NWS__EIO_END_GRACEFUL = 1, NWS__EIO_END_DROPPED = 2 };
/* A session closes: its waiting GET returns (closed gracefully: what was queued and "1", or a
 * noop when the client asked; on an error "1"; dropped: cut), its carrier is closed (dropped:
 * cut). 1 when it should linger for the GET that has not come yet. */
int nws__eio_session_closing(nws_loop *loop, nws_conn *owner, enum nws__eio_end how);
/* A GET for a closed session that lingers: what waited for it. */
void nws__eio_session_last_get(nws_loop *loop, nws_conn *get, nws__eio_session *s);
/* A carrier stops: after the upgrade its session closes with it. */
void nws__eio_carrier_closed(nws_loop *loop, nws_conn *carrier, uint16_t code, const uint8_t *reason, size_t len);
/* A connection is freed: a session's own (its state goes too), its GET's, or its carrier's. */
void nws__eio_conn_gone(nws_loop *loop, nws_conn *c);

/* ---- handoff.c: a request for a session on another loop moves there ---- */
/* Stops reading c, and once its backend is done with it gives its socket and the bytes read
 * so far to loop `to`, which carries on as if it had accepted it. */
void nws__conn_handoff(nws_loop *loop, nws_conn *c, int to);
/* Backends: the socket of a torn-down connection (closed, or handed to another loop), and
 * bytes that arrived for a connection being handed off. */
void nws__conn_release_fd(nws_loop *loop, nws_conn *c);
void nws__conn_handoff_keep(nws_loop *loop, nws_conn *c, const uint8_t *data, size_t len);

/* ---- liveness.c: what a connection's timer means (pure functions) ---- */
typedef struct nws__liveness {   /* what the decisions read of a connection */
    uint8_t state;               /* enum nws__conn_state */
    uint8_t awaiting_pong;
    uint64_t last_in_ms;
    uint64_t ping_sent_ms;
    uint8_t eio;                 /* enum nws__eio_kind: Engine.IO's heartbeat (config.eio), or none for a carrier */
} nws__liveness;

typedef enum nws__timer_action {
    NWS__TIMER_REARM = 0,          /* nothing due: wait for the next deadline */
    NWS__TIMER_PING,               /* send a ping (Engine.IO's "2" on such a connection), then wait for its pong */
    NWS__TIMER_HANDSHAKE_TIMEOUT,  /* the upgrade request took too long: answer 408 */
    NWS__TIMER_CLOSE_IDLE,         /* no byte in for the idle timeout: close 1001 */
    NWS__TIMER_PONG_TIMEOUT,       /* no pong in time: cut, reported 1006 */
    NWS__TIMER_ABORT,              /* an HTTP answer or a close the peer never let finish: cut */
} nws__timer_action;

nws__timer_action nws__liveness_on_timer(const nws__liveness *l, const nws_server_config *k, uint64_t now);
/* When a ping the timer sends now counts as sent: when it was due, if the wheel's tick made it
 * only a little late (so that the pong's deadline is the interval plus the timeout after the
 * last one, as clients count it), else now. */
uint64_t nws__liveness_ping_time(const nws__liveness *l, const nws_server_config *k, uint64_t now);
/* When an open connection's timer must next fire; UINT64_MAX: no timer. */
uint64_t nws__liveness_deadline(const nws__liveness *l, const nws_server_config *k);

/* ---- upgrade.c: the HTTP request before the upgrade, and HTTP answers ---- */
void nws__upgrade_input(nws_loop *loop, nws_conn *c, uint8_t *data, size_t len);
/* An HTTP answer with `status` (a handshake timeout's 408 too); the connection closes after it. */
void nws__upgrade_refuse(nws_loop *loop, nws_conn *c, int status, const char *body);
/* 503 with Retry-After: the server drains (nws_server_drain) and takes no new client. */
void nws__upgrade_refuse_draining(nws_loop *loop, nws_conn *c);
/* Any HTTP answer: status, a content type and a body; the connection closes after it. `headers`
 * are more header lines, each ending with CRLF. */
void nws__upgrade_answer(nws_loop *loop, nws_conn *c, int status, const char *content_type, const void *body,
                         size_t len);
void nws__upgrade_answer_with(nws_loop *loop, nws_conn *c, int status, const char *content_type, const char *headers,
                              const void *body, size_t len);
/* The same, and the connection stays open for the next request (its request buffer, which
 * must hold that one request only, is let go). */
void nws__upgrade_answer_keep_alive(nws_loop *loop, nws_conn *c, int status, const char *content_type,
                                    const char *headers, const void *body, size_t len);
/* Appends bytes to the connection's request buffer (what a request brought beyond its head,
 * what a connection moving to another loop carries). 0 or NWS_ENOMEM. */
int nws__upgrade_keep(nws_loop *loop, nws_conn *c, const uint8_t *data, size_t len);
/* Frees the request a connection held (and its cold part, if nothing else is in it). */
void nws__upgrade_request_free(nws_loop *loop, nws_conn *c);
/* The protocol's refusal of an Engine.IO request: 400 and its JSON error body (eio.c). */
void nws__eio_refuse(nws_loop *loop, nws_conn *c, int error);
/* Runs the connection's timer now if it is due: a request that finds its session's pong overdue
 * finds the session closed, whether or not the wheel's tick has come (conn.c). */
void nws__conn_catch_up(nws_loop *loop, nws_conn *c);
/* An answer to an Engine.IO request (eio.c): with CORS headers when its Origin is allowed; a
 * 200 keeps an HTTP/1.1 connection open unless the client asked otherwise. */
void nws__eio_answer(nws_loop *loop, nws_conn *c, int status, const char *content_type, const void *body, size_t len);

/* ---- sendq.c ---- */
nws_buf *nws__buf_new(nws_loop *loop, size_t cap);
void nws__buf_release(nws_loop *loop, nws_buf *b);
/* Room for n bytes at the end of the queue's private tail buffer (queued already: the caller
 * fills it before anything can send it), or NULL when out of memory. */
uint8_t *nws__sendq_reserve(nws_loop *loop, nws_conn *c, size_t n);
/* The same, but a new tail buffer is a small one when n fits it: for sends that come by the
 * thousand at once and are not followed by more (an upgrade's answer, each member's copy of a
 * broadcast compressed per member), which would otherwise take a 16 KiB buffer, and a page, each. */
uint8_t *nws__sendq_reserve_small(nws_loop *loop, nws_conn *c, size_t n);
/* Appends header + payload as one frame, copying into the queue's private tail buffer. */
int nws__sendq_append(nws_loop *loop, nws_conn *c, const uint8_t *header, size_t header_len,
                      const void *payload, size_t payload_len);
int nws__sendq_append_shared(nws_loop *loop, nws_conn *c, nws_buf *b);
/* The queue a backend sends: the connection's, or a TLS connection's records. */
static inline nws__seg *nws__sendq_wire(const nws_conn *c) {
    return __builtin_expect(c->tls != NULL, 0) ? c->tls->wire_head : c->head;
}
/* Fills iov with up to max slices from the head; returns the count. */
int nws__sendq_iov(nws_conn *c, struct iovec *iov, int max);
/* TLS records, appended to the records' queue (counted in c->queued); the plaintext they
 * sealed leaves the connection's queue with nws__sendq_consume_plain. */
int nws__sendq_append_records(nws_loop *loop, nws_conn *c, const uint8_t *data, size_t len);
void nws__sendq_consume_plain(nws_loop *loop, nws_conn *c, size_t n);
/* The queue's one slice when it holds a single segment (the usual cork buffer), else 0: a
 * backend sends it with no iovec array, and without a call on every flush. */
static inline int nws__sendq_single(const nws_conn *c, struct iovec *iov) {
    const nws__seg *s = nws__sendq_wire(c);
    if (s == NULL || s->next != NULL) return 0;
    iov->iov_base = s->buf->data + s->off;
    iov->iov_len = s->len;
    return 1;
}
/* Drops n sent bytes from the head of what backends send. */
void nws__sendq_consume(nws_loop *loop, nws_conn *c, size_t n);
void nws__sendq_clear(nws_loop *loop, nws_conn *c);
void nws__loop_pools_free(nws_loop *loop);

/* ---- message.c: reassembly buffers for fragmented or split messages ---- */
typedef struct nws__spare {
    struct nws__spare *next;
    uint64_t cap;
} nws__spare;
/* Makes room for len more bytes of the message being reassembled (expected: the bytes the
 * frame header announced, a hint for the first allocation). 0 or NWS_ENOMEM. */
int nws__message_append(nws_loop *loop, nws_conn *c, const uint8_t *data, size_t len, uint64_t expected);
/* Ends the message: its buffer goes back to the loop's spares (or to malloc when large). */
void nws__message_release(nws_loop *loop, nws_conn *c);
void nws__message_spares_free(nws_loop *loop);

/* ---- rooms.c ---- */
/* The room of that name in t, or NULL. */
nws__room *nws__room_find(const nws__room_table *t, const char *name, size_t len);
/* Leaves every room (takes rooms_lock) and frees the connection's list. */
void nws__rooms_leave_all(nws_loop *loop, nws_conn *c);
void nws__rooms_free(nws_loop *loop);
void nws__registry_free(nws_server *s);

/* ---- deflate.c: permessage-deflate's compression and decompression ---- */
enum {
    NWS__DEFLATE_ON = 1,            /* negotiated: RSV1 is allowed and messages may be compressed */
    NWS__DEFLATE_SHARED_OUT = 2,    /* server_no_context_takeover: the loop's compressor */
    NWS__DEFLATE_SHARED_IN = 4,     /* client_no_context_takeover: the loop's decompressor */
    NWS__DEFLATE_BITS_SHIFT = 3,    /* bits 3..5: the server's window bits - 8 */
    NWS__DEFLATE_DEFERRED = 64,     /* shared messages wait for the flush (nws__deflate_defer) */
    NWS__DEFLATE_FAILED = 128,      /* compressing them failed: the flush closes it (1011) */
};
/* The upgrade agreed on p: c's flags, and its own streams when a side keeps context. 0 or NWS_ENOMEM. */
int nws__deflate_accept(nws_loop *loop, nws_conn *c, const nws_deflate_params *p);
/* Compresses prefix (0 or 1 byte: Engine.IO's '4') then data as one message for c, and queues
 * it as one frame of opcode with RSV1 (small: a new tail buffer as nws__sendq_reserve_small
 * gives). The frame's bytes; 0 when nothing was queued: send it plain (it did not get shorter,
 * and no context forbids that); or NWS_E*. */
ssize_t nws__deflate_queue(nws_loop *loop, nws_conn *c, int opcode, const uint8_t *prefix, size_t prefix_len,
                           const void *data, size_t len, int small);
/* m framed compressed, once for every loop (the connections with a window of 15 and no
 * context: any shared-mode one); NULL when it did not get shorter or memory ran out. */
nws_buf *nws__deflate_shared_frame(nws_loop *loop, nws_msg *m);
/* Inflates a whole compressed message of c; *out is the loop's, valid until the next call.
 * 0, NWS_ETOOBIG past max_message (before more is spent), NWS_EINFLATE, NWS_ENOMEM. */
int nws__deflate_inflate(nws_loop *loop, nws_conn *c, const uint8_t *in, size_t len, const uint8_t **out,
                         size_t *out_len);
/* What nws__deflate_queue or nws__deflate_inflate used: large buffers go back. */
void nws__deflate_trim(nws_loop *loop);
/* After a message: scratch buffers a large one grew are given back (nws__deflate_trim). */
static inline void nws__deflate_done(nws_loop *loop) {
    if (__builtin_expect(loop->deflate_oversized, 0)) nws__deflate_trim(loop);
}
void nws__deflate_conn_free(nws_conn *c);
/* A shared message (a broadcast) to a connection with its own compressor is compressed at the
 * end of the iteration, not during the fan-out: every member's copy then leaves as soon as it
 * is compressed (the flush submits as it goes), and the broadcasts of one iteration leave in
 * one send per member. The list holds a reference to each message; 0 or NWS_ENOMEM. */
int nws__deflate_defer(nws_conn *c, nws_msg *m);
nws_msg *const *nws__deflate_deferred(const nws_conn *c, uint32_t *count);
/* Releases the messages and clears NWS__DEFLATE_DEFERRED. */
void nws__deflate_deferred_clear(nws_conn *c);
/* The one check every path takes before c's queue or compressor: what waits goes first. */
static inline void nws__conn_compress_waiting(nws_loop *loop, nws_conn *c) {
    if (__builtin_expect(c->deflate & NWS__DEFLATE_DEFERRED, 0)) nws__conn_compress_deferred(loop, c);
}
void nws__deflate_loop_free(nws_loop *loop);
/* nws__sendq_reserve's common case, inline: n bytes where c's private tail buffer has room and
 * nothing waits for c's compressor; NULL sends the caller to nws__sendq_reserve. */
static inline uint8_t *nws__sendq_room(nws_loop *loop, nws_conn *c, size_t n) {
    nws__seg *t = c->tail;
    if (t == NULL || t->buf->cap - t->buf->len < n || (c->deflate & NWS__DEFLATE_DEFERRED)) return NULL;
    uint8_t *dst = t->buf->data + t->buf->len;
    t->buf->len += (uint32_t)n;
    t->len += (uint32_t)n;
    c->queued += n;
    nws__stat_add(&loop->stats.queued, n);
    return dst;
}
/* Gives back the last n bytes that nws__sendq_room reserved and nothing filled. */
static inline void nws__sendq_unreserve(nws_loop *loop, nws_conn *c, size_t n) {
    nws__seg *t = c->tail;
    t->buf->len -= (uint32_t)n;
    t->len -= (uint32_t)n;
    c->queued -= n;
    nws__stat_sub(&loop->stats.queued, n);
}
/* A shared message's last reference went: it is freed with its compressed copy. */
void nws__msg_free(nws_buf *b);

/* ---- tls.c ---- */
int nws__tls_server_init(nws_server *s);      /* the certificates of config.tls; NWS_EINVAL when they do not load */
void nws__tls_server_free(nws_server *s);
int nws__tls_accept(nws_loop *loop, nws_conn *c);   /* a new connection's session: 0 or NWS_ENOMEM */
void nws__tls_free(nws_loop *loop, nws_conn *c);
/* Bytes received: records read, plaintext handed to nws__conn_on_plain, answers queued. */
void nws__tls_input(nws_loop *loop, nws_conn *c, const uint8_t *data, size_t len);
/* The plaintext queued on c, sealed into records (the backends send those). */
void nws__tls_seal(nws_loop *loop, nws_conn *c);
/* Queues close_notify once; 1 when records wait to be sent before the write side shuts. */
int nws__tls_close_notify(nws_loop *loop, nws_conn *c);
const char *nws__tls_peer_subject(const nws_conn *c);
/* The session moves to another loop: the records of this read not read yet go with it, and
 * the loop that adopts it reads them (nws__tls_resume) after the plaintext that came before. */
void nws__tls_stash(nws__tls_conn *t);
void nws__tls_resume(nws_loop *loop, nws_conn *c);
/* Plaintext of a connection: what nws__conn_on_data does with bytes once TLS is off them. */
void nws__conn_on_plain(nws_loop *loop, nws_conn *c, uint8_t *data, size_t len);

/* ---- tls_buffers.c ---- */
/* t read (read 1) or wrote: a session that reads often keeps its record buffers. */
void nws__tls_buffers_used(nws_loop *loop, nws__tls_conn *t, int read);
/* t gives its buffers back when they empty again, and leaves the loop's list (freed, or moving). */
void nws__tls_buffers_forget(nws__tls_conn *t);
/* Once a second (nws__loop_tick): the buffers of listed sessions idle since the last look go back. */
void nws__tls_buffers_sweep(nws_loop *loop);

/* ---- fanout.c ---- */
typedef struct nws__fanout {
    nws_loop *loop;
    uint32_t overflowed;      /* connections set aside in loop->fanout_overflow */
    int queued;
    int engine_io;            /* the message is framed for Engine.IO (counted apart) */
    uint64_t bytes_mark;      /* bytes_out when it began (Engine.IO's share, counted at the end) */
} nws__fanout;
nws__fanout nws__fanout_begin(nws_loop *loop, const nws_msg *m);
/* Queues m to c; over its backlog, c is closed by nws__fanout_end, not during the walk. */
void nws__fanout_send(nws__fanout *f, nws_conn *c, nws_msg *m, unsigned flags);
/* Closes what was set aside and counts the deliveries (once per fan-out, not per member); the
 * number of connections the message was queued to. */
int nws__fanout_end(nws__fanout *f);

/* ---- timer.c ---- */
void nws__wheel_init(nws__wheel *w, uint64_t now_ms);
void nws__wheel_set(nws__wheel *w, nws__timer *t, uint64_t deadline_ms);
void nws__wheel_cancel(nws__wheel *w, nws__timer *t);
/* Calls fire(t) for every timer due at now_ms; a fired timer is unlinked first. */
void nws__wheel_advance(nws__wheel *w, uint64_t now_ms, void (*fire)(nws__timer *t, void *arg), void *arg);
/* Ms until the next tick that may hold a timer, or -1 when the wheel is empty. */
int nws__wheel_timeout_ms(const nws__wheel *w, uint64_t now_ms);

/* ---- inbox.c ---- */
int nws__inbox_init(nws__inbox *q);
void nws__inbox_destroy(nws__inbox *q);
void nws__inbox_ack_wake(nws__inbox *q);               /* loop thread, before draining */
/* A task of `size` bytes of payload (uninitialised) that `run` will be handed, or NULL when out
 * of memory. Fill the payload, then post it, or free it if it is not wanted after all. */
void *nws__task_new(size_t size, nws__task_fn run);
void nws__task_free(void *payload);
/* Queues the task on loop's inbox and wakes the loop; any thread. NWS_ECLOSED (the task freed
 * unrun) once the server's loops have stopped: nothing would ever run it. */
int nws__task_post(nws_loop *loop, void *payload);
/* Runs every task queued on loop's inbox, in order, and frees each: the loop thread, or after
 * the loops have stopped, the one thread that runs what they left. */
void nws__inbox_run(nws_loop *loop);

#endif
