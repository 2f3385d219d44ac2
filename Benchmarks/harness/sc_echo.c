/*
 * sc_echo.c — the echo scenario: throughput of an echo server, closed loop.
 *
 * N connections each keep D messages of S bytes in flight: every answer is checked
 * (echo_msg.h) and answered with the next message. Messages answered during the measured
 * phase give msgs/s and MB/s (payload bytes, one direction). At measure_end no new message
 * is sent and the ones in flight are waited for (up to --drain), so that "sent == received"
 * holds exactly at the end: a server that drops messages fails with "missing", however fast
 * it looked.
 */
#include "bench.h"

#include <stdlib.h>

#include "cli.h"
#include "echo_msg.h"
#include "report.h"

typedef struct echo_worker {
    echo_msg msg;
    echo_conn *conns;          /* by slot */
    uint64_t outstanding;      /* sent, not yet answered, on connections still open */
    uint64_t measured;         /* answers received in [warm_end, measure_end) */
    int opened;                /* connections that completed the upgrade */
} echo_worker;

static const char *echo_check(bench_opts *o) {
    if (o->size == CLI_UNSET_SIZE) o->size = 20;
    if (o->connections < o->threads) return "--connections must be at least --threads";
    const char *why = echo_msg_check(o);
    if (why != NULL) return why;
    return NULL;
}

static int echo_setup(worker *w) {
    echo_worker *e = calloc(1, sizeof *e);
    if (e == NULL) return -1;
    w->sc_data = e;
    w->target = worker_share(w, w->opt->connections);
    if (worker_reserve_slots(w, (uint32_t)w->target) != 0) return -1;
    e->conns = calloc(w->nslots, sizeof *e->conns);
    if (e->conns == NULL) return -1;
    return echo_msg_init(&e->msg, w->opt);
}

static void echo_on_open(worker *w, wsconn *c) {
    echo_worker *e = w->sc_data;
    /* Connections open only before "go", when nothing has been sent: a slot reused after a
     * failed connect starts from zero. */
    echo_conn_reset(&e->conns[c->slot]);
    c->user = &e->conns[c->slot];
    e->opened++;
}

static void send_one(worker *w, wsconn *c, echo_worker *e) {
    echo_msg_send(w, c, c->user, &e->msg);
    e->outstanding++;
}

static void echo_on_go(worker *w) {
    echo_worker *e = w->sc_data;
    for (uint32_t i = 0; i < w->nslots; i++) {
        wsconn *c = &w->conns[i];
        if (c->state != WS_OPEN) continue;
        for (int d = 0; d < w->opt->depth; d++) send_one(w, c, e);
    }
}

static void echo_on_data(worker *w, wsconn *c, const nws_decoded *d) {
    echo_worker *e = w->sc_data;
    echo_conn *ec = c->user;
    if (w->clock->start == 0 || ec->received == ec->sent) {
        if (d->last) w->errors[ERR_UNEXPECTED]++;   /* an answer to nothing we sent */
        return;
    }
    if (!echo_msg_on_chunk(w, c, ec, &e->msg, d)) return;
    e->outstanding--;
    uint64_t now = w->now;
    if (now >= w->clock->warm_end && now < w->clock->measure_end) e->measured++;
    if (now < w->clock->measure_end) send_one(w, c, e);
}

/* A connection that ended takes its unanswered messages with it: they stay "missing". */
static void echo_on_end(worker *w, wsconn *c, int clean) {
    (void)clean;
    echo_worker *e = w->sc_data;
    echo_conn *ec = c->user;
    if (ec != NULL) e->outstanding -= ec->sent - ec->received;
}

static int echo_drained(worker *w) {
    echo_worker *e = w->sc_data;
    return e->outstanding == 0;
}

static void echo_report(worker **ws, int n, bench_run *run, report *r) {
    const bench_opts *o = run->opt;
    uint64_t sent = 0, received = 0, measured = 0;
    int opened = 0, open_at_end = 0;
    for (int i = 0; i < n; i++) {
        echo_worker *e = ws[i]->sc_data;
        for (uint32_t s = 0; s < ws[i]->nslots; s++) {
            sent += e->conns[s].sent;
            received += e->conns[s].received;
        }
        measured += e->measured;
        opened += e->opened;
        open_at_end += worker_open_count(ws[i]);
    }
    report_param_int(r, "connections", o->connections);
    report_param_int(r, "size", (long long)o->size);
    report_param_int(r, "depth", o->depth);
    report_param_str(r, "frames", o->binary ? "binary" : "text");
    report_protocol(r, o);
    const char *check = o->verify ? "every byte"
                        : o->protocol == PROTO_GATEWAY ? "envelope, opcode, ack id"
                        : o->protocol == PROTO_SOCKETIO ? "packet, opcode, ack id"
                        : o->size >= ECHO_SEQ_DIGITS ? "length, opcode, sequence"
                                                     : "length, opcode";
    report_param_str(r, "check", check);
    report_result_num(r, "msgs_per_s", (double)measured / o->duration, 1);
    report_result_num(r, "mb_per_s", (double)measured * (double)o->size / o->duration / 1e6, 3);
    report_result_int(r, "measured_messages", (long long)measured);
    report_result_int(r, "sent", (long long)sent);
    report_result_int(r, "received", (long long)received);
    report_result_int(r, "connections_opened", opened);
    report_result_int(r, "open_at_end", open_at_end);
    if (sent > received) run->errors[ERR_MISSING] += sent - received;
    if (sent != received) report_fail(r, "sent %llu != received %llu", (unsigned long long)sent, (unsigned long long)received);
    if (opened == 0) report_fail(r, "no connection could be opened");
}

static void echo_destroy(worker *w) {
    echo_worker *e = w->sc_data;
    if (e == NULL) return;
    echo_msg_free(&e->msg);
    free(e->conns);
    free(e);
    w->sc_data = NULL;
}

const scenario scenario_echo = {
    .name = "echo",
    .summary = "N connections, D messages of S bytes in flight each: msgs/s, MB/s; every echo checked",
    .check = echo_check,
    .setup = echo_setup,
    .on_open = echo_on_open,
    .on_data = echo_on_data,
    .on_end = echo_on_end,
    .on_go = echo_on_go,
    .drained = echo_drained,
    .report = echo_report,
    .destroy = echo_destroy,
};
