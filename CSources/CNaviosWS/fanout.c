/*
 * fanout.c — one framed message queued to many connections of a loop (a room broadcast, a
 * broadcast to a list of ids), with one rule for connections over their backlog: they are
 * set aside during the walk and closed once it is over, since a close leaves every room and
 * would change the member arrays being walked (and free a room that empties).
 */
#include "internal.h"

#include <stdlib.h>

nws__fanout nws__fanout_begin(nws_loop *loop, const nws_msg *m) {
    return (nws__fanout){loop, 0, 0, m->buf.engine_io, nws__bytes_out_mark(loop)};
}

void nws__fanout_send(nws__fanout *f, nws_conn *c, nws_msg *m, unsigned flags) {
    nws_loop *loop = f->loop;
    int rc = nws__conn_send_msg(loop, c, m, flags | NWS__SEND_DEFER_CLOSE);
    if (rc == 0) f->queued++;
    if (rc != NWS_EBACKPRESSURE) return;
    if (f->overflowed == loop->fanout_overflow_cap) {
        uint32_t cap = loop->fanout_overflow_cap ? loop->fanout_overflow_cap * 2 : 16;
        nws_conn **grown = realloc(loop->fanout_overflow, cap * sizeof *grown);
        if (grown == NULL) return;   /* no memory to remember it: this message is dropped for it */
        loop->fanout_overflow = grown;
        loop->fanout_overflow_cap = cap;
    }
    loop->fanout_overflow[f->overflowed++] = c;
}

int nws__fanout_end(nws__fanout *f) {
    for (uint32_t i = 0; i < f->overflowed; i++) nws__conn_close_overflowed(f->loop, f->loop->fanout_overflow[i]);
    f->overflowed = 0;
    nws__stat_add(&f->loop->stats.deliveries, (uint64_t)f->queued);
    if (f->engine_io) {   /* its members are all Engine.IO clients (nws__conn_send_msg) */
        nws__stat_add(&f->loop->stats.eio_messages_out, (uint64_t)f->queued);
        nws__eio_bytes_out_since(f->loop, f->bytes_mark);
    }
    return f->queued;
}
