/*
 * sc_idle.c — the idle scenario: hold N upgraded connections that send nothing, and (with
 * --server-pid) report how much resident memory the server spends per connection.
 *
 * The connections come from source addresses 127.0.0.2, .3, ... (--sources; by default one
 * per 10,000 connections) so their count is not capped by the ephemeral ports of a single
 * address. The server's VmRSS is read before the first connect and again at the end of the
 * hold while every connection is still open; the difference over the connections open then
 * is the cost of one. Pings are answered (wsconn.c), so a server with a heartbeat keeps
 * them; a connection the server drops, or a message it sends unasked, is an error.
 */
#include "bench.h"

#include <stdlib.h>
#include "report.h"

#define CONNECTIONS_PER_SOURCE 10000   /* of about 28,000 ephemeral ports per address */

typedef struct idle_worker {
    int opened;
    uint64_t last_open;       /* when this worker's last connection was upgraded */
} idle_worker;

static const char *idle_check(bench_opts *o) {
    if (o->connections < o->threads) return "--connections must be at least --threads";
    if (o->sources < 0) {
        o->sources = o->connections / CONNECTIONS_PER_SOURCE + 1;
        if (o->sources > 250) o->sources = 250;
    }
    return NULL;
}

static int idle_setup(worker *w) {
    idle_worker *iw = calloc(1, sizeof *iw);
    if (iw == NULL) return -1;
    w->sc_data = iw;
    w->target = worker_share(w, w->opt->connections);
    return worker_reserve_slots(w, (uint32_t)w->target);
}

static void idle_on_open(worker *w, wsconn *c) {
    idle_worker *iw = w->sc_data;
    iw->opened++;
    iw->last_open = c->opened;
}

static void idle_on_data(worker *w, wsconn *c, const nws_decoded *d) {
    (void)c;
    if (d->last) w->errors[ERR_UNEXPECTED]++;
}

static void idle_report(worker **ws, int n, bench_run *run, report *r) {
    const bench_opts *o = run->opt;
    int opened = 0, open_at_end = 0;
    uint64_t last_open = 0;
    for (int i = 0; i < n; i++) {
        idle_worker *iw = ws[i]->sc_data;
        opened += iw->opened;
        open_at_end += worker_open_count(ws[i]);
        if (iw->last_open > last_open) last_open = iw->last_open;
    }
    report_param_int(r, "connections", o->connections);
    report_param_int(r, "sources", o->sources);
    report_result_int(r, "opened", opened);
    report_result_int(r, "open_at_end", open_at_end);
    if (last_open > run->clock.setup_start) report_result_num(r, "connect_s", (double)(last_open - run->clock.setup_start) / 1e9, 3);
    if (run->rss_before_kib >= 0 && run->rss_after_kib >= 0) {
        report_result_int(r, "server_rss_before_kib", run->rss_before_kib);
        report_result_int(r, "server_rss_after_kib", run->rss_after_kib);
        if (open_at_end > 0) {
            double per = (double)(run->rss_after_kib - run->rss_before_kib) * 1024.0 / open_at_end;
            report_result_num(r, "server_rss_bytes_per_conn", per, 0);
        }
    }
    if (open_at_end != o->connections) report_fail(r, "%d of %d connections open at the end", open_at_end, o->connections);
}

static void idle_destroy(worker *w) {
    free(w->sc_data);
    w->sc_data = NULL;
}

const scenario scenario_idle = {
    .name = "idle",
    .summary = "hold N idle connections (several 127.x sources); server RSS per connection",
    .check = idle_check,
    .setup = idle_setup,
    .on_open = idle_on_open,
    .on_data = idle_on_data,
    .report = idle_report,
    .destroy = idle_destroy,
};
