/*
 * sendq.c — per-connection send queues of refcounted buffer slices, and the loop's pools.
 *
 * Small frames sent to one connection are copied, header and payload together, into a
 * private buffer at the tail of its queue (a "cork"), so a burst of echoes leaves in one
 * vectored write. A broadcast to a connection with an empty queue appends a slice of the
 * shared, already framed buffer instead: one encoding, any number of queues, no copy. A small
 * broadcast to a connection that is behind is copied into its cork like a direct send: a
 * slice per message would make the queue a long chain that every flush and every completion
 * walks, and leave in a sendmsg of many tiny iovecs, just when the loop has the least time
 * to spare; copied, a backlog of broadcasts leaves in one plain send. The slice the first of
 * them took is copied along with the second (regather) unless the kernel is reading it.
 *
 * The first segment of a queue is the connection's own (first_seg); the others and the
 * buffers come from per-loop free lists, so a steady stream of sends does not call malloc.
 *
 * Bytes may be appended to a private tail buffer while an earlier part of it is being sent:
 * the kernel was handed an iovec of the bytes present at submission and never reads past it.
 * A shared buffer is never appended to, and needs no mark saying so: it is made full (cap ==
 * len, nws_msg_create and the compressed copy in deflate.c), so it never has room.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* A broadcast up to this size is copied into the cork of a connection that is behind. */
#define COPY_BROADCAST_MAX 512u

static const struct { uint32_t cap, max; } pool_sizes[NWS__POOL_KINDS] = {
    [NWS__POOL_LARGE] = {NWS__BUF_POOLED, 256},
    [NWS__POOL_SMALL] = {NWS__BUF_SMALL, 4096},
};

/* A buffer of the pool kind's size (kind NWS__POOL_NONE: exactly cap bytes, never pooled). */
static nws_buf *buf_new_of(nws_loop *loop, size_t cap, uint32_t kind) {
    nws__buf_pool *pool = loop != NULL && kind != NWS__POOL_NONE ? &loop->buf_pools[kind] : NULL;
    nws_buf *b;
    if (pool != NULL && pool->head != NULL) {
        b = pool->head;
        pool->head = *(nws_buf **)b->data;
        pool->count--;
    } else {
        if (kind != NWS__POOL_NONE) cap = pool_sizes[kind].cap;
        if (cap > UINT32_MAX - sizeof(nws_buf)) return NULL;
        b = malloc(sizeof(nws_buf) + cap);
        if (b == NULL) return NULL;
        b->cap = (uint32_t)cap;
        b->pooled = (uint16_t)kind;
        b->engine_io = 0;
    }
    atomic_init(&b->refs, 1);
    b->len = 0;
    return b;
}

nws_buf *nws__buf_new(nws_loop *loop, size_t cap) {
    return buf_new_of(loop, cap, cap <= NWS__BUF_POOLED ? NWS__POOL_LARGE : NWS__POOL_NONE);
}

void nws__buf_release(nws_loop *loop, nws_buf *b) {
    /* A sole owner needs no read-modify-write: nobody else can take a reference to a buffer
     * only it holds. Private send buffers, the common case, take this path. */
    if (atomic_load_explicit(&b->refs, memory_order_acquire) != 1 &&
        atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (b->pooled == NWS__POOL_MSG) {
        nws__msg_free(b);
        return;
    }
    nws__buf_pool *pool = loop != NULL && b->pooled != NWS__POOL_NONE ? &loop->buf_pools[b->pooled] : NULL;
    if (pool != NULL && pool->count < pool_sizes[b->pooled].max) {
        *(nws_buf **)b->data = pool->head;
        pool->head = b;
        pool->count++;
        return;
    }
    free(b);
}

/* A segment: the connection's own first one when free (c NULL: never), else a pooled one. */
static nws__seg *seg_new(nws_loop *loop, nws_conn *c) {
    if (c != NULL && !c->first_seg_busy) {
        c->first_seg_busy = 1;
        c->first_seg.next = NULL;
        return &c->first_seg;
    }
    nws__seg *s = loop->seg_pool;
    if (s != NULL) {
        loop->seg_pool = s->next;
    } else {
        s = malloc(sizeof *s);
        if (s == NULL) return NULL;
    }
    s->next = NULL;
    return s;
}

static void seg_free(nws_loop *loop, nws_conn *c, nws__seg *s) {
    if (s == &c->first_seg) {
        c->first_seg_busy = 0;
        return;
    }
    s->next = loop->seg_pool;
    loop->seg_pool = s;
}

/* A queue is a (head, tail) pair: the connection's own, or a TLS connection's records (tls.c).
 * Helpers take the pair as two pointers and are inlined into each caller, so the plain path
 * pays nothing for the records' queue existing. */
__attribute__((always_inline)) static inline void seg_push(nws__seg **head, nws__seg **tail, nws__seg *s) {
    if (*tail) (*tail)->next = s;
    else *head = s;
    *tail = s;
}

static void count_queued(nws_loop *loop, nws_conn *c, size_t n) {
    c->queued += n;
    nws__stat_add(&loop->stats.queued, n);
}

/* What a new tail buffer is: a pooled 16 KiB one (or an exact one when n is larger); a pooled
 * small one (n at most NWS__BUF_SMALL); or one of exactly n bytes, never pooled. An HTTP answer
 * takes the last: during a connect storm on io_uring hundreds of them are in flight at once,
 * and pooled kilobyte buffers would stay behind as that many kilobytes the loop keeps. */
enum { BUF_POOLED, BUF_POOLED_SMALL, BUF_EXACT };

/* n bytes at the tail of a queue of c's, in a new buffer of kind `fresh` if the tail has no
 * room. first_owner: whose first_seg a new segment may be (NULL: never). */
__attribute__((always_inline)) static inline uint8_t *reserve_in(nws_loop *loop, nws_conn *c, nws__seg **head, nws__seg **tail,
                                       nws_conn *first_owner, size_t n, int fresh) {
    nws__seg *t = *tail;
    if (t == NULL || t->buf->cap - t->buf->len < n) {   /* n > 0: a full shared buffer never takes it */
        nws_buf *b = fresh == BUF_POOLED_SMALL ? buf_new_of(loop, n, NWS__POOL_SMALL)
                     : fresh == BUF_EXACT      ? buf_new_of(loop, n, NWS__POOL_NONE)
                                               : nws__buf_new(loop, n);
        if (b == NULL) return NULL;
        nws__seg *s = seg_new(loop, first_owner);
        if (s == NULL) {
            nws__buf_release(loop, b);
            return NULL;
        }
        s->buf = b;
        s->off = 0;
        s->len = 0;
        seg_push(head, tail, s);
        t = s;
    }
    uint8_t *dst = t->buf->data + t->buf->len;
    t->buf->len += (uint32_t)n;
    t->len += (uint32_t)n;
    count_queued(loop, c, n);
    return dst;
}

/* Messages waiting for c's compressor (nws__deflate_defer) go first: the queue keeps the order
 * in which they were sent. */
static uint8_t *reserve(nws_loop *loop, nws_conn *c, size_t n, int fresh) {
    nws__conn_compress_waiting(loop, c);
    return reserve_in(loop, c, &c->head, &c->tail, c, n, fresh);
}

uint8_t *nws__sendq_reserve(nws_loop *loop, nws_conn *c, size_t n) { return reserve(loop, c, n, BUF_POOLED); }

uint8_t *nws__sendq_reserve_small(nws_loop *loop, nws_conn *c, size_t n) {
    return reserve(loop, c, n, n <= NWS__BUF_SMALL ? BUF_POOLED_SMALL : BUF_POOLED);
}

int nws__sendq_append_records(nws_loop *loop, nws_conn *c, const uint8_t *data, size_t len) {
    uint8_t *dst = reserve_in(loop, c, &c->tls->wire_head, &c->tls->wire_tail, NULL, len, BUF_POOLED);
    if (dst == NULL) return NWS_ENOMEM;
    memcpy(dst, data, len);
    return 0;
}

int nws__sendq_append(nws_loop *loop, nws_conn *c, const uint8_t *header, size_t header_len,
                      const void *payload, size_t payload_len) {
    uint8_t *dst = reserve(loop, c, header_len + payload_len, BUF_EXACT);
    if (dst == NULL) return NWS_ENOMEM;
    memcpy(dst, header, header_len);
    if (payload_len) memcpy(dst + header_len, payload, payload_len);
    return 0;
}

/* A queue of one segment whose buffer is full, the kernel not reading it: its bytes and n more go
 * into one fresh small buffer, so they leave in one plain send, not a sendmsg of two slices.
 * That is the queue of a subscriber to two broadcasts in one iteration: the first a slice of the
 * shared frame (its queue was empty), the second copied behind it. Returns where the n go, or
 * NULL when the queue is not such a one (or on no memory: reserve then tries, and reports it). */
static uint8_t *regather(nws_loop *loop, nws_conn *c, size_t n) {
    nws__seg *s = c->head;
    nws_buf *old = s->buf;
    if (s != c->tail || old->cap - old->len >= n || s->len + n > NWS__BUF_SMALL) return NULL;
    if (c->tls == NULL && loop->backend != NULL && loop->backend->sending != NULL && loop->backend->sending(c))
        return NULL;   /* (a TLS connection's plaintext is sealed into records, never sent itself) */
    nws_buf *b = buf_new_of(loop, s->len + n, NWS__POOL_SMALL);
    if (b == NULL) return NULL;
    memcpy(b->data, old->data + s->off, s->len);
    uint8_t *dst = b->data + s->len;
    b->len = s->len + (uint32_t)n;
    s->buf = b;
    s->off = 0;
    s->len = b->len;
    count_queued(loop, c, n);
    nws__buf_release(loop, old);
    return dst;
}

int nws__sendq_append_shared(nws_loop *loop, nws_conn *c, nws_buf *b) {
    if (c->tail != NULL && b->len <= COPY_BROADCAST_MAX) {
        nws__conn_compress_waiting(loop, c);   /* they go first, and may make the queue longer */
        uint8_t *dst = regather(loop, c, b->len);
        if (dst == NULL) dst = reserve_in(loop, c, &c->head, &c->tail, c, b->len, BUF_POOLED_SMALL);
        if (dst == NULL) return NWS_ENOMEM;
        memcpy(dst, b->data, b->len);
        return 0;
    }
    nws__conn_compress_waiting(loop, c);   /* (reserve does it on the path above) */
    nws__seg *s = seg_new(loop, c);
    if (s == NULL) return NWS_ENOMEM;
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    s->buf = b;
    s->off = 0;
    s->len = b->len;
    seg_push(&c->head, &c->tail, s);
    count_queued(loop, c, b->len);
    return 0;
}

int nws__sendq_iov(nws_conn *c, struct iovec *iov, int max) {
    int n = 0;
    for (nws__seg *s = nws__sendq_wire(c); s != NULL && n < max; s = s->next) {
        if (s->len == 0) continue;
        iov[n].iov_base = s->buf->data + s->off;
        iov[n].iov_len = s->len;
        n++;
    }
    return n;
}

/* Drops n bytes from the head of a queue of c's. */
__attribute__((always_inline)) static inline void consume_from(nws_loop *loop, nws_conn *c, nws__seg **head, nws__seg **tail, size_t n) {
    nws__stat_sub(&loop->stats.queued, n);
    c->queued -= n;
    while (n > 0 && *head != NULL) {
        nws__seg *s = *head;
        if (n < s->len) {
            s->off += (uint32_t)n;
            s->len -= (uint32_t)n;
            return;
        }
        n -= s->len;
        s->off += s->len;
        s->len = 0;
        /* Fully sent buffers go back to the pool at once, tail included: an idle
         * connection keeps no send buffer. */
        *head = s->next;
        if (*head == NULL) *tail = NULL;
        nws__buf_release(loop, s->buf);
        seg_free(loop, c, s);
    }
}

void nws__sendq_consume(nws_loop *loop, nws_conn *c, size_t n) {
    if (__builtin_expect(c->tls != NULL, 0)) consume_from(loop, c, &c->tls->wire_head, &c->tls->wire_tail, n);
    else consume_from(loop, c, &c->head, &c->tail, n);
}

void nws__sendq_consume_plain(nws_loop *loop, nws_conn *c, size_t n) { consume_from(loop, c, &c->head, &c->tail, n); }

static void clear(nws_loop *loop, nws_conn *c, nws__seg **head, nws__seg **tail) {
    while (*head != NULL) {
        nws__seg *s = *head;
        *head = s->next;
        nws__buf_release(loop, s->buf);
        seg_free(loop, c, s);
    }
    *tail = NULL;
}

void nws__sendq_clear(nws_loop *loop, nws_conn *c) {
    nws__stat_sub(&loop->stats.queued, c->queued);
    c->queued = 0;
    clear(loop, c, &c->head, &c->tail);
    if (c->tls != NULL) clear(loop, c, &c->tls->wire_head, &c->tls->wire_tail);
}

void nws__loop_pools_free(nws_loop *loop) {
    while (loop->seg_pool) {
        nws__seg *s = loop->seg_pool;
        loop->seg_pool = s->next;
        free(s);
    }
    for (int kind = 0; kind < NWS__POOL_KINDS; kind++) {
        nws__buf_pool *pool = &loop->buf_pools[kind];
        while (pool->head) {
            nws_buf *b = pool->head;
            pool->head = *(nws_buf **)b->data;
            free(b);
        }
        pool->count = 0;
    }
}
