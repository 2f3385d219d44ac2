/*
 * worker.c — one harness thread: its connection slots, the opening of its share of the
 * connections, the event loop over its ring, and the phases of a run.
 *
 * Phases (the clock is bench.h's): setup opens the worker's connections (at most
 * CONNECTING_MAX handshakes at once over all workers, so no listen backlog overflows: a
 * dropped SYN costs a one-second retransmit that would look like a slow server) and waits
 * until the scenario is ready, bounded by setup_deadline. Then every worker and the main
 * thread meet at the "ready" barrier; the main thread sets the clock; at "go" the scenario
 * starts sending. The loop runs until measure_end and then, for scenarios that count what
 * is in flight, until nothing is left or drain_end. At "done" the main thread takes its
 * end-of-run readings (the server's memory while the connections are still held), and at
 * "teardown" the workers let go.
 *
 * Slots: a connection lives in a slot; its generation changes whenever the slot is reused,
 * and a slot is reused only once no operation in the ring names it, so a completion always
 * finds the connection it was submitted for.
 */
#include "bench.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#define CONNECTING_MAX 512            /* over all workers */
#define MAX_WAIT_NS 10000000ull       /* look at the clock at least every 10 ms */

uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const uint8_t *worker_mask_key(worker *w) {
    if (w->keys_left == 0) {
        if (RAND_bytes(w->keys, sizeof w->keys) != 1) {
            fprintf(stderr, "navios-ws-bench: RAND_bytes failed\n");
            abort();   /* weak masks would make the run meaningless; there is no fallback */
        }
        w->keys_left = KEY_POOL;
    }
    w->keys_left--;
    return w->keys + (size_t)w->keys_left * 4;
}

static int reserve_slots(worker *w, uint32_t n) {
    w->conns = calloc(n, sizeof *w->conns);
    w->free_slots = malloc((size_t)n * sizeof *w->free_slots);
    w->dirty = malloc((size_t)n * sizeof *w->dirty);
    if (w->conns == NULL || w->free_slots == NULL || w->dirty == NULL) return -1;
    w->nslots = n;
    for (uint32_t i = 0; i < n; i++) {
        w->conns[i].fd = -1;
        w->conns[i].slot = i;
        w->free_slots[i] = n - 1 - i;   /* slot 0 is handed out first */
    }
    w->nfree = n;
    return 0;
}

static void set_port(struct sockaddr_storage *a, int port) {
    if (a->ss_family == AF_INET) ((struct sockaddr_in *)a)->sin_port = htons((uint16_t)port);
    else ((struct sockaddr_in6 *)a)->sin6_port = htons((uint16_t)port);
}

int worker_init(worker *w, int index, const bench_opts *o, const bench_clock *k,
                const struct sockaddr_storage *dst, socklen_t dst_len) {
    memset(w, 0, sizeof *w);
    w->index = index;
    w->opt = o;
    w->clock = k;
    w->sc = o->scenario;
    /* The same address with each port: the io_uring connect reads it when the SQE is
     * submitted, so it lives here, not on a stack. */
    w->ndst = 1 + o->nalso_ports;
    for (int i = 0; i < w->ndst; i++) {
        w->dst[i] = *dst;
        if (i > 0) set_port(&w->dst[i], o->also_ports[i - 1]);
    }
    w->dst_len = dst_len;
    int rc = ring_init(&w->ring);
    if (rc != 0) {
        fprintf(stderr, "navios-ws-bench: io_uring setup failed: %s\n", strerror(-rc));
        return -1;
    }
    if (w->sc->uses_histogram && (w->hist = hist_new()) == NULL) return -1;
    /* The scenario says how many connections it opens; slots for those plus what it asks
     * for on top (the connect storm reuses slots, and a slot frees only after its cancel). */
    if (w->sc->setup(w) != 0) return -1;
    return 0;
}

/* Called by a scenario's setup: n slots for this worker. */
int worker_reserve_slots(worker *w, uint32_t n) {
    if (n == 0) n = 1;
    if (n > 0xFFFFFFu) return -1;   /* the slot field of user_data is 24 bits */
    return reserve_slots(w, n);
}

void worker_destroy(worker *w) {
    if (w->sc && w->sc->destroy) w->sc->destroy(w);
    ring_destroy(&w->ring);
    for (uint32_t i = 0; i < w->nslots; i++) {
        if (w->conns[i].fd >= 0) close(w->conns[i].fd);
        ws_free_buffers(&w->conns[i]);
    }
    free(w->conns);
    free(w->free_slots);
    free(w->dirty);
    hist_free(w->hist);
    wsd_worker_free(w);
    wst_worker_free(w);
}

/* ---- connections ---------------------------------------------------------------------- */

static int open_socket(worker *w, uint32_t src) {
    int fd = socket(w->dst[0].ss_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (w->opt->sources > 0 && w->dst[0].ss_family == AF_INET) {
        /* 127.0.0.2, .3, ...: each source address has its own ephemeral port range.
         * IP_BIND_ADDRESS_NO_PORT defers the port choice to connect(), which may then share
         * a port among destinations instead of reserving it outright. */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in sa = {.sin_family = AF_INET};
        sa.sin_addr.s_addr = htonl(0x7f000002u + src);
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
            int err = errno;
            close(fd);
            return -err;
        }
    }
    return fd;
}

wsconn *worker_connect(worker *w, uint32_t src) {
    if (w->nfree == 0) return NULL;
    int fd = open_socket(w, src);
    if (fd < 0) {
        static int told;   /* once per process: the reason is the same for every socket */
        if (!__atomic_exchange_n(&told, 1, __ATOMIC_RELAXED)) {
            fprintf(stderr, "navios-ws-bench: socket/bind: %s\n", strerror(-fd));
        }
        w->errors[ERR_CONNECT]++;
        return NULL;
    }
    wsconn *c = &w->conns[w->free_slots[--w->nfree]];
    c->gen++;
    c->fd = fd;
    c->state = WS_CONNECTING;
    c->sending = 0;
    c->counted_open = 0;
    c->src = src;
    c->out.len = c->out.off = 0;
    c->wire.len = c->wire.off = 0;
    c->msg_len = 0;
    c->started = now_ns();
    c->opened = 0;
    c->ordinal = -1;
    c->user = NULL;
    w->connecting++;
    const struct sockaddr_storage *dst = &w->dst[w->next_dst++ % (uint32_t)w->ndst];
    ring_connect(&w->ring, c, (const struct sockaddr *)dst, w->dst_len);
    return c;
}

void ws_release_if_idle(worker *w, wsconn *c) {
    if (c->state != WS_DEAD || c->inflight > 0) return;
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->state = WS_FREE;
    w->free_slots[w->nfree++] = c->slot;
}

void worker_mark_dirty(worker *w, wsconn *c) {
    if (c->dirty) return;
    c->dirty = 1;
    w->dirty[w->ndirty++] = c;
}

int worker_open_count(const worker *w) { return w->open; }

int worker_share(const worker *w, int total) {
    int t = w->opt->threads;
    return total / t + (w->index < total % t ? 1 : 0);
}

/* Hands every connection's queued frames to the ring, one send each: the answers to a whole
 * batch of completions leave together. */
static void flush_dirty(worker *w) {
    for (uint32_t i = 0; i < w->ndirty; i++) {
        wsconn *c = w->dirty[i];
        c->dirty = 0;
        if (c->state == WS_FREE || c->state == WS_DEAD || c->state == WS_CONNECTING) continue;
        if (c->tls != NULL && !c->sending) {   /* records: sealed now, with what the handshake wrote */
            c->wire.off = c->wire.len = 0;
            if (wst_seal(c, &c->wire) != 0) {
                ws_kill(w, c, ERR_PROTOCOL);
                continue;
            }
            if (c->wire.len == 0) continue;
            c->sending = 1;
            ring_send(&w->ring, c, c->wire.data, c->wire.len);
            continue;
        }
        if (c->sending || c->out.len == c->out.off) continue;   /* on_send comes back for it */
        outbuf t = c->wire;
        c->wire = c->out;
        c->out = t;
        c->out.len = c->out.off = 0;
        c->sending = 1;
        ring_send(&w->ring, c, c->wire.data + c->wire.off, c->wire.len - c->wire.off);
    }
    w->ndirty = 0;
}

static void dispatch(worker *w, struct io_uring_cqe *cqe) {
    uint64_t t = io_uring_cqe_get_data64(cqe);
    enum op_kind kind = ring_tag_kind(t);
    if (kind == OP_CANCEL) return;
    uint32_t slot = ring_tag_slot(t);
    wsconn *c = slot < w->nslots ? &w->conns[slot] : NULL;
    if (c == NULL || c->gen != ring_tag_gen(t)) {
        /* Cannot happen while inflight counts are right; a buffer must still go back. */
        if (cqe->flags & IORING_CQE_F_BUFFER) ring_recycle(&w->ring, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        return;
    }
    switch (kind) {
    case OP_CONNECT:
        c->inflight--;
        ws_on_connect(w, c, cqe->res);
        break;
    case OP_SEND:
        c->inflight--;
        ws_on_send(w, c, cqe->res);
        break;
    case OP_RECV:
        if (!(cqe->flags & IORING_CQE_F_MORE)) c->inflight--;
        ws_on_recv(w, c, cqe);
        break;
    default:
        break;
    }
}

/* Starts connects until this worker's share of CONNECTING_MAX is in progress. */
static void open_more(worker *w) {
    int cap = CONNECTING_MAX / w->opt->threads;
    if (cap < 16) cap = 16;
    while (w->next_to_open < w->target && w->connecting < cap) {
        int i = w->next_to_open++;
        uint32_t src = w->opt->sources > 0 ? (uint32_t)((i * w->opt->threads + w->index) % w->opt->sources) : 0;
        wsconn *c = worker_connect(w, src);
        if (c != NULL) c->ordinal = i;
    }
}

void worker_run(worker *w, uint64_t until, int (*stop)(worker *w)) {
    int going = w->clock->start != 0;
    for (;;) {
        uint64_t now = w->now = now_ns();
        uint64_t next = until;
        if (!going) open_more(w);
        if (going && w->sc->tick) {
            uint64_t t = w->sc->tick(w, now);
            if (t != 0 && t < next) next = t;
        }
        flush_dirty(w);
        if (now >= until || (stop && stop(w))) return;
        uint64_t wait = next > now ? next - now : 0;
        if (wait > MAX_WAIT_NS) wait = MAX_WAIT_NS;
        unsigned want = 1;
        if (going && w->sc->wait_batch > 1) {
            want = w->sc->wait_batch;
            if (wait > w->sc->wait_window_ns) wait = w->sc->wait_window_ns;
        }
        ring_wait(&w->ring, wait, want);
        w->now = now_ns();
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&w->ring.ring, head, cqe) {
            dispatch(w, cqe);
            seen++;
        }
        io_uring_cq_advance(&w->ring.ring, seen);
    }
}

/* ---- the thread -------------------------------------------------------------------------- */

static int setup_done(worker *w) {
    if (w->next_to_open < w->target || w->connecting > 0) return 0;
    return w->sc->ready == NULL || w->sc->ready(w);
}

static int measured_done(worker *w) {
    if (now_ns() < w->clock->measure_end) return 0;
    return w->sc->drained == NULL || w->sc->drained(w);
}

/* What setup_deadline left unfinished is the server's failure to accept in time. */
static void time_out_setup(worker *w) {
    w->errors[ERR_TIMEOUT] += (uint64_t)(w->target - w->next_to_open);
    w->next_to_open = w->target;
    for (uint32_t i = 0; i < w->nslots; i++) {
        wsconn *c = &w->conns[i];
        if (c->state == WS_CONNECTING || c->state == WS_UPGRADING) ws_kill(w, c, ERR_TIMEOUT);
    }
}

void *worker_thread(void *arg) {
    worker_thread_arg *a = arg;
    worker *w = a->w;
    int rc = ring_enable(&w->ring);
    if (rc != 0) {
        fprintf(stderr, "navios-ws-bench: enabling the io_uring failed: %s\n", strerror(-rc));
        w->fatal = 1;
    } else {
        worker_run(w, w->clock->setup_deadline, setup_done);
        time_out_setup(w);
    }
    pthread_barrier_wait(&a->sync->ready);
    pthread_barrier_wait(&a->sync->go);   /* the main thread has set the clock */
    if (!w->fatal) {
        if (w->sc->on_go) w->sc->on_go(w);
        worker_run(w, w->clock->drain_end, measured_done);
    }
    pthread_barrier_wait(&a->sync->done);
    pthread_barrier_wait(&a->sync->teardown);
    return NULL;
}
