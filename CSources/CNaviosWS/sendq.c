/*
 * sendq.c — per-connection send queues of refcounted buffer slices, and the loop's pools.
 *
 * Small frames sent to one connection are copied, header and payload together, into a
 * private buffer at the tail of its queue (a "cork"), so a burst of echoes leaves in one
 * vectored write. A broadcast appends a slice of the shared, already framed buffer instead:
 * one encoding, any number of queues. Segments and 16 KiB buffers come from per-loop free
 * lists, so a steady stream of sends does not call malloc.
 *
 * Bytes may be appended to a private tail buffer while an earlier part of it is being sent:
 * the kernel was handed an iovec of the bytes present at submission and never reads past it.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define SEG_POOL_MAX 4096u
#define BUF_POOL_MAX 256u

nws_buf *nws__buf_new(nws_loop *loop, size_t cap) {
    nws_buf *b;
    if (cap <= NWS__BUF_POOLED && loop != NULL && loop->buf_pool != NULL) {
        b = loop->buf_pool;
        loop->buf_pool = *(nws_buf **)b->data;
        loop->buf_pool_count--;
    } else {
        int pooled = cap <= NWS__BUF_POOLED;
        if (pooled) cap = NWS__BUF_POOLED;
        if (cap > UINT32_MAX - sizeof(nws_buf)) return NULL;
        b = malloc(sizeof(nws_buf) + cap);
        if (b == NULL) return NULL;
        b->cap = (uint32_t)cap;
        b->pooled = (uint32_t)pooled;
    }
    atomic_init(&b->refs, 1);
    b->len = 0;
    return b;
}

void nws__buf_release(nws_loop *loop, nws_buf *b) {
    /* A sole owner needs no read-modify-write: nobody else can take a reference to a buffer
     * only it holds. Private send buffers, the common case, take this path. */
    if (atomic_load_explicit(&b->refs, memory_order_acquire) != 1 &&
        atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (b->pooled && loop != NULL && loop->buf_pool_count < BUF_POOL_MAX) {
        *(nws_buf **)b->data = loop->buf_pool;
        loop->buf_pool = b;
        loop->buf_pool_count++;
        return;
    }
    free(b);
}

static nws__seg *seg_new(nws_loop *loop) {
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

static void seg_free(nws_loop *loop, nws__seg *s) {
    s->next = loop->seg_pool;
    loop->seg_pool = s;
}

static void seg_push(nws_conn *c, nws__seg *s) {
    if (c->tail) c->tail->next = s;
    else c->head = s;
    c->tail = s;
}

static void count_queued(nws_loop *loop, nws_conn *c, size_t n) {
    c->queued += n;
    nws__stat_add(&loop->stats.queued, n);
}

uint8_t *nws__sendq_reserve(nws_loop *loop, nws_conn *c, size_t n) {
    nws__seg *t = c->tail;
    if (t == NULL || !t->appendable || t->buf->cap - t->buf->len < n) {
        nws_buf *b = nws__buf_new(loop, n);
        if (b == NULL) return NULL;
        nws__seg *s = seg_new(loop);
        if (s == NULL) {
            nws__buf_release(loop, b);
            return NULL;
        }
        s->buf = b;
        s->off = 0;
        s->len = 0;
        s->appendable = 1;
        seg_push(c, s);
        t = s;
    }
    uint8_t *dst = t->buf->data + t->buf->len;
    t->buf->len += (uint32_t)n;
    t->len += (uint32_t)n;
    count_queued(loop, c, n);
    return dst;
}

int nws__sendq_append(nws_loop *loop, nws_conn *c, const uint8_t *header, size_t header_len,
                      const void *payload, size_t payload_len) {
    uint8_t *dst = nws__sendq_reserve(loop, c, header_len + payload_len);
    if (dst == NULL) return NWS_ENOMEM;
    memcpy(dst, header, header_len);
    if (payload_len) memcpy(dst + header_len, payload, payload_len);
    return 0;
}

int nws__sendq_append_shared(nws_loop *loop, nws_conn *c, nws_buf *b) {
    nws__seg *s = seg_new(loop);
    if (s == NULL) return NWS_ENOMEM;
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    s->buf = b;
    s->off = 0;
    s->len = b->len;
    s->appendable = 0;
    seg_push(c, s);
    count_queued(loop, c, b->len);
    return 0;
}

int nws__sendq_iov(nws_conn *c, struct iovec *iov, int max) {
    int n = 0;
    for (nws__seg *s = c->head; s != NULL && n < max; s = s->next) {
        if (s->len == 0) continue;
        iov[n].iov_base = s->buf->data + s->off;
        iov[n].iov_len = s->len;
        n++;
    }
    return n;
}

void nws__sendq_consume(nws_loop *loop, nws_conn *c, size_t n) {
    nws__stat_sub(&loop->stats.queued, n);
    c->queued -= n;
    while (n > 0 && c->head != NULL) {
        nws__seg *s = c->head;
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
        c->head = s->next;
        if (c->head == NULL) c->tail = NULL;
        nws__buf_release(loop, s->buf);
        seg_free(loop, s);
    }
}

void nws__sendq_clear(nws_loop *loop, nws_conn *c) {
    nws__stat_sub(&loop->stats.queued, c->queued);
    c->queued = 0;
    while (c->head != NULL) {
        nws__seg *s = c->head;
        c->head = s->next;
        nws__buf_release(loop, s->buf);
        seg_free(loop, s);
    }
    c->tail = NULL;
}

void nws__loop_pools_free(nws_loop *loop) {
    while (loop->seg_pool) {
        nws__seg *s = loop->seg_pool;
        loop->seg_pool = s->next;
        free(s);
    }
    while (loop->buf_pool) {
        nws_buf *b = loop->buf_pool;
        loop->buf_pool = *(nws_buf **)b->data;
        free(b);
    }
    loop->buf_pool_count = 0;
}
