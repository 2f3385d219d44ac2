/*
 * sc_connect.c — the connect scenario: a handshake storm.
 *
 * C cycles run at once (--concurrency, split over the workers); a cycle is TCP connect,
 * upgrade, our close frame, the server's close frame, the server ending TCP. When one ends
 * the next starts, until measure_end; cycles still running then are waited for (--drain).
 * Cycles completed during the measured phase give connections/s; their handshake latency
 * (connect submitted to a checked 101) goes into the histogram.
 *
 * The close is the client's, as RFC 6455 §7.1.1 has it, and the server ends TCP: so the
 * TIME_WAIT state stays on the server's side and the client's ephemeral ports are reused at
 * once (with --sources the storm also spreads over several source addresses). A cycle that
 * takes longer than --connect-timeout is killed and counted as a timeout.
 */
#include "bench.h"

#include <stdlib.h>
#include "report.h"

#define TIMEOUT_SCAN_NS 10000000ull   /* look for stuck cycles every 10 ms */

typedef struct conn_worker {
    int concurrency;          /* this worker's share */
    int active;               /* cycles in progress */
    uint32_t next_src;
    uint64_t completed, measured, started;
    uint64_t last_scan;
} conn_worker;

static const char *connect_check(bench_opts *o) {
    if (o->concurrency < o->threads) return "--concurrency must be at least --threads";
    return NULL;
}

static int connect_setup(worker *w) {
    conn_worker *cw = calloc(1, sizeof *cw);
    if (cw == NULL) return -1;
    w->sc_data = cw;
    w->target = 0;   /* nothing before "go": connecting is the load itself */
    cw->concurrency = worker_share(w, w->opt->concurrency);
    /* A slot frees only after its cancellation completes: room for one more round. */
    return worker_reserve_slots(w, (uint32_t)cw->concurrency * 2 + 8);
}

static void start_cycles(worker *w, conn_worker *cw) {
    while (cw->active < cw->concurrency) {
        uint32_t src = w->opt->sources > 0 ? cw->next_src++ % (uint32_t)w->opt->sources : 0;
        if (worker_connect(w, src) == NULL) return;   /* no free slot yet, or counted */
        cw->active++;
        cw->started++;
    }
}

static void connect_on_go(worker *w) { start_cycles(w, w->sc_data); }

static void connect_on_open(worker *w, wsconn *c) {
    uint64_t now = now_ns();
    if (now >= w->clock->warm_end && now < w->clock->measure_end) hist_record(w->hist, now - c->started);
    ws_close(w, c);
}

static void connect_on_data(worker *w, wsconn *c, const nws_decoded *d) {
    (void)c;
    if (d->last) w->errors[ERR_UNEXPECTED]++;   /* an echo server says nothing first */
}

static void connect_on_end(worker *w, wsconn *c, int clean) {
    (void)c;
    conn_worker *cw = w->sc_data;
    cw->active--;
    if (!clean) return;
    cw->completed++;
    if (w->now >= w->clock->warm_end && w->now < w->clock->measure_end) cw->measured++;
}

static void time_out_stuck(worker *w, uint64_t now) {
    uint64_t limit = (uint64_t)(w->opt->connect_timeout * 1e9);
    for (uint32_t i = 0; i < w->nslots; i++) {
        wsconn *c = &w->conns[i];
        if (c->state != WS_FREE && c->state != WS_DEAD && now - c->started > limit) ws_kill(w, c, ERR_TIMEOUT);
    }
}

static uint64_t connect_tick(worker *w, uint64_t now) {
    conn_worker *cw = w->sc_data;
    if (now - cw->last_scan >= TIMEOUT_SCAN_NS) {
        cw->last_scan = now;
        time_out_stuck(w, now);
    }
    if (now < w->clock->measure_end) start_cycles(w, cw);
    return now + TIMEOUT_SCAN_NS;
}

static int connect_drained(worker *w) {
    conn_worker *cw = w->sc_data;
    return cw->active == 0;
}

static void connect_report(worker **ws, int n, bench_run *run, report *r) {
    const bench_opts *o = run->opt;
    uint64_t completed = 0, measured = 0, started = 0;
    histogram *h = hist_new();
    if (h == NULL) abort();
    for (int i = 0; i < n; i++) {
        conn_worker *cw = ws[i]->sc_data;
        completed += cw->completed;
        measured += cw->measured;
        started += cw->started;
        hist_merge(h, ws[i]->hist);
    }
    report_param_int(r, "concurrency", o->concurrency);
    report_param_int(r, "sources", o->sources);
    report_result_num(r, "connections_per_s", (double)measured / o->duration, 1);
    report_result_int(r, "cycles_started", (long long)started);
    report_result_int(r, "cycles_completed", (long long)completed);
    report_result_int(r, "measured_cycles", (long long)measured);
    report_latency(r, "handshake_latency_us", h);
    hist_free(h);
    if (completed == 0) report_fail(r, "no connect-upgrade-close cycle completed");
}

static void connect_destroy(worker *w) {
    free(w->sc_data);
    w->sc_data = NULL;
}

const scenario scenario_connect = {
    .name = "connect",
    .summary = "handshake storm, C in flight: connect, upgrade, close; connections/s, handshake latency",
    .check = connect_check,
    .uses_histogram = 1,
    .setup = connect_setup,
    .on_open = connect_on_open,
    .on_data = connect_on_data,
    .on_end = connect_on_end,
    .on_go = connect_on_go,
    .tick = connect_tick,
    .drained = connect_drained,
    .report = connect_report,
    .destroy = connect_destroy,
};
