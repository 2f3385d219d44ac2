/*
 * sc_latency.c — the latency scenario: an open-loop request rate, and the latency of each
 * request measured from the time it was *scheduled*, not the time it was sent.
 *
 * Why: a closed loop (send the next when the last came back) sends nothing while the server
 * stalls, so a 200 ms stall costs one slow sample instead of the 200 ms x rate requests that
 * real clients would have been waiting on ("coordinated omission"). Here request k is due
 * at start + k / R whatever happened before; if the client or the server falls behind, the
 * request goes out late and its latency includes the lateness. Requests go round-robin over
 * the open connections; with --threads T, worker i takes requests i, i+T, ... so the total
 * schedule stays evenly spaced.
 *
 * Each connection keeps the scheduled times of its requests in a FIFO; the number each echo
 * carries (echo_msg.h) says which request it answers, so a dropped message neither shifts
 * the latencies of the ones after it nor goes unnoticed. Requests scheduled during warm-up
 * are sent and checked but not recorded. The histogram is histogram.h's (3 significant
 * digits, up to 60 s).
 */
#include "bench.h"

#include <stdlib.h>

#include "cli.h"
#include "echo_msg.h"
#include "report.h"

#define MAX_SENDS_PER_TICK 1024   /* a late client still reaps completions between bursts */

typedef struct lat_conn {
    echo_conn ec;
    uint64_t *sched;           /* FIFO of scheduled times, ring of cap (power of two) */
    uint32_t head, count, cap;
    uint64_t head_seq;         /* the request number of sched[head] */
} lat_conn;

typedef struct lat_worker {
    echo_msg msg;
    lat_conn *conns;           /* by slot */
    uint64_t k;                /* this worker's next request (its k-th) */
    uint32_t rr;               /* round-robin position over slots */
    uint64_t outstanding;
    uint64_t measured_sent, measured_answered;
    uint64_t unsent;           /* due while no connection was open */
    uint64_t max_lag;          /* the latest a measured request went out after its time, ns */
    int opened;
} lat_worker;

static const char *lat_check(bench_opts *o) {
    if (o->size == CLI_UNSET_SIZE) o->size = 20;
    if (o->rate < 0) o->rate = 1000;
    if (o->connections < o->threads) return "--connections must be at least --threads";
    const char *why = echo_msg_check(o);
    if (why != NULL) return why;
    if (o->rate * (o->warmup + o->duration) > 2e9) return "--rate x (warmup + duration) over 2e9 requests";
    return NULL;
}

static int lat_setup(worker *w) {
    lat_worker *l = calloc(1, sizeof *l);
    if (l == NULL) return -1;
    w->sc_data = l;
    w->target = worker_share(w, w->opt->connections);
    if (worker_reserve_slots(w, (uint32_t)w->target) != 0) return -1;
    l->conns = calloc(w->nslots, sizeof *l->conns);
    if (l->conns == NULL) return -1;
    return echo_msg_init(&l->msg, w->opt);
}

static void lat_on_open(worker *w, wsconn *c) {
    lat_worker *l = w->sc_data;
    lat_conn *lc = &l->conns[c->slot];
    echo_conn_reset(&lc->ec);   /* nothing was sent before "go": a reused slot starts afresh */
    lc->head = lc->count = 0;
    lc->head_seq = 0;
    c->user = lc;
    l->opened++;
}

static void fifo_push(lat_conn *lc, uint64_t t) {
    if (lc->count == lc->cap) {
        uint32_t cap = lc->cap ? lc->cap * 2 : 64;
        uint64_t *n = malloc((size_t)cap * sizeof *n);
        if (n == NULL) abort();
        for (uint32_t i = 0; i < lc->count; i++) n[i] = lc->sched[(lc->head + i) & (lc->cap - 1)];
        free(lc->sched);
        lc->sched = n;
        lc->cap = cap;
        lc->head = 0;
    }
    lc->sched[(lc->head + lc->count) & (lc->cap - 1)] = t;
    lc->count++;
}

static uint64_t fifo_pop(lat_conn *lc) {
    uint64_t t = lc->sched[lc->head];
    lc->head = (lc->head + 1) & (lc->cap - 1);
    lc->count--;
    lc->head_seq++;
    return t;
}

/* The scheduled time of the request numbered seq, or 0 when it is not waiting (a duplicate);
 * requests before it were lost and leave the FIFO. */
static uint64_t take_sched(lat_conn *lc, uint64_t seq) {
    while (lc->count > 0 && lc->head_seq < seq) fifo_pop(lc);
    if (lc->count == 0 || lc->head_seq != seq) return 0;
    return fifo_pop(lc);
}

static uint64_t sched_time(const worker *w, uint64_t k) {
    double n = (double)k * w->opt->threads + w->index;
    return w->clock->start + (uint64_t)(n * 1e9 / w->opt->rate);
}

static wsconn *next_open_conn(worker *w, lat_worker *l) {
    for (uint32_t tries = 0; tries < w->nslots; tries++) {
        wsconn *c = &w->conns[l->rr];
        l->rr = l->rr + 1 == w->nslots ? 0 : l->rr + 1;
        if (c->state == WS_OPEN) return c;
    }
    return NULL;
}

static void send_request(worker *w, lat_worker *l, wsconn *c, uint64_t due, uint64_t now) {
    lat_conn *lc = c->user;
    fifo_push(lc, due);
    echo_msg_send(w, c, &lc->ec, &l->msg);
    l->outstanding++;
    if (due >= w->clock->warm_end) {
        l->measured_sent++;
        if (now > due && now - due > l->max_lag) l->max_lag = now - due;
    }
}

static uint64_t lat_tick(worker *w, uint64_t now) {
    lat_worker *l = w->sc_data;
    for (int sent = 0; sent < MAX_SENDS_PER_TICK; sent++) {
        uint64_t due = sched_time(w, l->k);
        if (due >= w->clock->measure_end) return 0;
        if (due > now) return due;
        wsconn *c = next_open_conn(w, l);
        if (c != NULL) send_request(w, l, c, due, now);
        else l->unsent++;
        l->k++;
    }
    return now;   /* behind schedule: come straight back after reaping completions */
}

static void lat_on_data(worker *w, wsconn *c, const nws_decoded *d) {
    lat_worker *l = w->sc_data;
    lat_conn *lc = c->user;
    if (lc->ec.received == lc->ec.sent) {
        if (d->last) w->errors[ERR_UNEXPECTED]++;
        return;
    }
    if (!echo_msg_on_chunk(w, c, &lc->ec, &l->msg, d)) return;
    l->outstanding--;
    uint64_t due = l->msg.numbered ? take_sched(lc, lc->ec.next_seq - 1) : (lc->count ? fifo_pop(lc) : 0);
    if (due == 0 || due < w->clock->warm_end || due >= w->clock->measure_end) return;
    uint64_t now = now_ns();   /* per answer: the loop's clock is a batch old */
    hist_record(w->hist, now > due ? now - due : 0);
    l->measured_answered++;
}

static void lat_on_end(worker *w, wsconn *c, int clean) {
    (void)clean;
    lat_worker *l = w->sc_data;
    lat_conn *lc = c->user;
    if (lc != NULL) l->outstanding -= lc->ec.sent - lc->ec.received;
}

static int lat_drained(worker *w) {
    lat_worker *l = w->sc_data;
    return l->outstanding == 0;
}

static void lat_report(worker **ws, int n, bench_run *run, report *r) {
    const bench_opts *o = run->opt;
    uint64_t sent = 0, received = 0, msent = 0, manswered = 0, unsent = 0, max_lag = 0;
    int opened = 0;
    histogram *h = hist_new();
    if (h == NULL) abort();
    for (int i = 0; i < n; i++) {
        lat_worker *l = ws[i]->sc_data;
        for (uint32_t s = 0; s < ws[i]->nslots; s++) {
            sent += l->conns[s].ec.sent;
            received += l->conns[s].ec.received;
        }
        msent += l->measured_sent;
        manswered += l->measured_answered;
        unsent += l->unsent;
        if (l->max_lag > max_lag) max_lag = l->max_lag;
        opened += l->opened;
        hist_merge(h, ws[i]->hist);
    }
    report_param_int(r, "connections", o->connections);
    report_param_num(r, "rate", o->rate, 1);
    report_param_int(r, "size", (long long)o->size);
    report_param_str(r, "frames", o->binary ? "binary" : "text");
    report_protocol(r, o);
    report_result_num(r, "sent_per_s", (double)msent / o->duration, 1);
    report_result_num(r, "answered_per_s", (double)manswered / o->duration, 1);
    report_result_int(r, "sent", (long long)sent);
    report_result_int(r, "received", (long long)received);
    report_result_int(r, "unsent_no_connection", (long long)unsent);
    report_result_num(r, "max_send_lag_us", (double)max_lag / 1e3, 1);
    report_result_int(r, "connections_opened", opened);
    report_latency(r, "latency_us", h);
    hist_free(h);
    if (sent > received) run->errors[ERR_MISSING] += sent - received;
    if (sent != received) report_fail(r, "sent %llu != received %llu", (unsigned long long)sent, (unsigned long long)received);
    if (unsent) report_fail(r, "%llu requests were due while no connection was open", (unsigned long long)unsent);
    if (opened == 0) report_fail(r, "no connection could be opened");
}

static void lat_destroy(worker *w) {
    lat_worker *l = w->sc_data;
    if (l == NULL) return;
    for (uint32_t s = 0; s < w->nslots && l->conns; s++) free(l->conns[s].sched);
    echo_msg_free(&l->msg);
    free(l->conns);
    free(l);
    w->sc_data = NULL;
}

const scenario scenario_latency = {
    .name = "latency",
    .summary = "open-loop rate R over N connections: latency from each request's scheduled time",
    .check = lat_check,
    .uses_histogram = 1,
    .setup = lat_setup,
    .on_open = lat_on_open,
    .on_data = lat_on_data,
    .on_end = lat_on_end,
    .tick = lat_tick,
    .drained = lat_drained,
    .report = lat_report,
    .destroy = lat_destroy,
};
