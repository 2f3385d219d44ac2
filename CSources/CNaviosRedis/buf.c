/*
 * buf.c — the link's two containers: a byte buffer (write side of a connection, and the
 * queue of accepted commands) and a ring of expectations (what each command reply answers).
 */
#include "redis_internal.h"   /* first: it sets _GNU_SOURCE */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int nws__rbuf_append(nws__rbuf *b, const void *p, size_t n) {
    if (n == 0) return 0;
    if (b->off > 0 && b->off == b->len) b->off = b->len = 0;
    if (b->len + n > b->cap) {
        /* Slide the unconsumed bytes down before growing: a buffer drained steadily from
         * the front should not creep upward in memory. */
        if (b->off > 0) {
            memmove(b->data, b->data + b->off, b->len - b->off);
            b->len -= b->off;
            b->off = 0;
        }
        if (b->len + n > b->cap) {
            size_t cap = b->cap ? b->cap : 4096;
            while (cap < b->len + n) cap *= 2;
            char *d = realloc(b->data, cap);
            if (d == NULL) return -ENOMEM;
            b->data = d;
            b->cap = cap;
        }
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void nws__rbuf_consume(nws__rbuf *b, size_t n) {
    b->off += n;
    if (b->off >= b->len) b->off = b->len = 0;
}

void nws__rbuf_free(nws__rbuf *b) {
    free(b->data);
    b->data = NULL;
    b->off = b->len = b->cap = 0;
}

int nws__fifo_push(nws__fifo *f, int kind, uint64_t token) {
    if (f->count == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        nws__expect *items = malloc(cap * sizeof *items);
        if (items == NULL) return -ENOMEM;
        for (size_t i = 0; i < f->count; i++) items[i] = f->items[(f->head + i) & (f->cap - 1)];
        free(f->items);
        f->items = items;
        f->cap = cap;
        f->head = 0;
    }
    nws__expect *e = &f->items[(f->head + f->count) & (f->cap - 1)];
    e->kind = kind;
    e->token = token;
    f->count++;
    return 0;
}

int nws__fifo_pop(nws__fifo *f, nws__expect *out) {
    if (f->count == 0) return 0;
    *out = f->items[f->head];
    f->head = (f->head + 1) & (f->cap - 1);
    f->count--;
    return 1;
}

void nws__fifo_free(nws__fifo *f) {
    free(f->items);
    f->items = NULL;
    f->head = f->count = f->cap = 0;
}
