/*
 * main.c — navios-ws-bench: a WebSocket load generator on io_uring for any RFC 6455 server.
 *
 * The main thread parses the command line, starts one worker per --threads (each with its
 * own io_uring and an even share of the connections), sets the run's clock once every
 * worker is ready, takes the readings only it can take (the server's CPU during the measured
 * phase, its memory while the connections are held), merges the workers' counts and prints
 * one report. Exit status 3 whenever the server misbehaved: a fast run that lost messages
 * is a failed run.
 *
 *   navios-ws-bench echo --port 9001 --connections 100 --size 20 --depth 16
 *   navios-ws-bench latency --port 9001 --connections 50 --rate 20000 --json
 *   navios-ws-bench echo --port 9002 --protocol gateway --event echo --depth 16
 *   navios-ws-bench fanout --port 9002 --subscribers 1000 --rate 200 --protocol gateway
 *   navios-ws-bench connect --port 9001 --concurrency 32 --duration 3
 *   navios-ws-bench idle --port 9001 --connections 10000 --server-pid PID
 *
 * Bounded in time: setup gets --connect-timeout, then warm-up, duration and drain, and an
 * alarm ends the process (status 4) 15 s after all of that if it is somehow still running.
 */
#include "bench.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"

#define EXIT_SERVER_MISBEHAVED 3
#define EXIT_TIME_LIMIT 4
#define ALARM_SLACK_S 15

static int resolve(const bench_opts *o, struct sockaddr_storage *dst, socklen_t *len) {
    char port[16];
    snprintf(port, sizeof port, "%d", o->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(o->host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "navios-ws-bench: cannot resolve %s: %s\n", o->host, gai_strerror(rc));
        return -1;
    }
    memcpy(dst, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* Source addresses 127.0.0.2... can only reach a loopback server. */
static int is_loopback_v4(const struct sockaddr_storage *a) {
    if (a->ss_family != AF_INET) return 0;
    return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
}

static void raise_nofile(rlim_t want) {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur >= want) return;
    if (rl.rlim_max < want) rl.rlim_max = want;   /* allowed as root; else up to the hard limit */
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0) return;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want) {
        fprintf(stderr, "navios-ws-bench: open-file limit is %llu, below the %llu wanted\n",
                (unsigned long long)rl.rlim_cur, (unsigned long long)want);
    }
}

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "navios-ws-bench: hard time limit exceeded\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(EXIT_TIME_LIMIT);
}

static void sleep_until(uint64_t t) {
    struct timespec ts = {.tv_sec = (time_t)(t / 1000000000u), .tv_nsec = (long)(t % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
    }
}

static uint64_t seconds_ns(double s) { return (uint64_t)(s * 1e9); }

/* CPU use of the server and of this process between warm_end and measure_end. */
static void sample_cpu(bench_run *run) {
    const bench_opts *o = run->opt;
    sleep_until(run->clock.warm_end);
    double s0 = o->server_pid > 0 ? proc_cpu_seconds(o->server_pid) : -1, c0 = proc_cpu_seconds(0);
    sleep_until(run->clock.measure_end);
    double s1 = o->server_pid > 0 ? proc_cpu_seconds(o->server_pid) : -1, c1 = proc_cpu_seconds(0);
    double span = o->duration;
    run->client_cpu_pct = (c1 - c0) / span * 100.0;
    run->server_cpu_pct = s0 >= 0 && s1 >= 0 ? (s1 - s0) / span * 100.0 : -1;
}

static void report_common(const bench_run *run, report *r) {
    const bench_opts *o = run->opt;
    report_param_int(r, "threads", o->threads);
    report_param_num(r, "warmup_s", o->warmup, 3);
    report_param_num(r, "duration_s", o->duration, 3);
    report_param_num(r, "drain_s", o->drain, 3);
    report_param_num(r, "connect_timeout_s", o->connect_timeout, 3);
    if (o->server_pid > 0) report_param_int(r, "server_pid", o->server_pid);
    report_result_num(r, "client_cpu_pct", run->client_cpu_pct, 1);
    if (run->server_cpu_pct >= 0) report_result_num(r, "server_cpu_pct", run->server_cpu_pct, 1);
}

/* Starts the workers, runs the phases, and joins them; -1 when the harness itself failed. */
static int run_workers(bench_run *run, worker *ws, int n) {
    run_sync sync;
    pthread_barrier_init(&sync.ready, NULL, (unsigned)n + 1);
    pthread_barrier_init(&sync.go, NULL, (unsigned)n + 1);
    pthread_barrier_init(&sync.done, NULL, (unsigned)n + 1);
    pthread_barrier_init(&sync.teardown, NULL, (unsigned)n + 1);
    pthread_t *tids = calloc((size_t)n, sizeof *tids);
    worker_thread_arg *args = calloc((size_t)n, sizeof *args);
    if (tids == NULL || args == NULL) return -1;
    for (int i = 0; i < n; i++) {
        args[i] = (worker_thread_arg){.w = &ws[i], .sync = &sync};
        if (pthread_create(&tids[i], NULL, worker_thread, &args[i]) != 0) {
            fprintf(stderr, "navios-ws-bench: cannot start a worker thread\n");
            exit(1);   /* the others wait at a barrier that can no longer fill */
        }
    }
    pthread_barrier_wait(&sync.ready);
    const bench_opts *o = run->opt;
    bench_clock *k = &run->clock;
    k->start = now_ns();
    k->warm_end = k->start + seconds_ns(o->warmup);
    k->measure_end = k->warm_end + seconds_ns(o->duration);
    k->drain_end = k->measure_end + seconds_ns(o->drain);
    pthread_barrier_wait(&sync.go);
    sample_cpu(run);
    pthread_barrier_wait(&sync.done);
    run->rss_after_kib = o->server_pid > 0 ? proc_rss_kib(o->server_pid) : -1;
    pthread_barrier_wait(&sync.teardown);
    int fatal = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(tids[i], NULL);
        fatal |= ws[i].fatal;
    }
    free(tids);
    free(args);
    return fatal ? -1 : 0;
}

int main(int argc, char **argv) {
    bench_opts o;
    int rc = cli_parse(&o, argc, argv);
    if (rc > 0) {
        cli_usage(stdout);
        return 0;
    }
    if (rc < 0) {
        fputs("navios-ws-bench --help lists the scenarios and options\n", stderr);
        return 2;
    }
    struct sockaddr_storage dst;
    socklen_t dst_len;
    if (resolve(&o, &dst, &dst_len) != 0) return 1;
    if (o.sources > 0 && !is_loopback_v4(&dst)) {
        fprintf(stderr, "navios-ws-bench: --sources binds to 127.0.0.x: ignored for %s\n", o.host);
        o.sources = 0;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm((unsigned)(o.connect_timeout + o.warmup + o.duration + o.drain) + ALARM_SLACK_S);

    long total_conns = (long)o.connections + o.subscribers + o.publishers + 2L * o.concurrency;
    raise_nofile((rlim_t)total_conns + 256);

    bench_run run = {.opt = &o, .rss_before_kib = -1, .rss_after_kib = -1, .server_cpu_pct = -1, .client_cpu_pct = -1};
    run.clock.setup_start = now_ns();
    run.clock.setup_deadline = run.clock.setup_start + seconds_ns(o.connect_timeout);
    if (o.server_pid > 0) run.rss_before_kib = proc_rss_kib(o.server_pid);

    worker *ws = calloc((size_t)o.threads, sizeof *ws);
    worker **wp = calloc((size_t)o.threads, sizeof *wp);
    if (ws == NULL || wp == NULL) return 1;
    for (int i = 0; i < o.threads; i++) {
        wp[i] = &ws[i];
        if (worker_init(&ws[i], i, &o, &run.clock, &dst, dst_len) != 0) return 1;
    }
    if (run_workers(&run, ws, o.threads) != 0) return 1;

    for (int i = 0; i < o.threads; i++) {
        for (int e = 0; e < ERR_COUNT; e++) run.errors[e] += ws[i].errors[e];
    }
    char target[600];
    int v6 = strchr(o.host, ':') != NULL;
    snprintf(target, sizeof target, "ws://%s%s%s:%d%s", v6 ? "[" : "", o.host, v6 ? "]" : "", o.port, o.path);
    report *r = report_new(o.scenario->name, target);
    o.scenario->report(wp, o.threads, &run, r);
    report_common(&run, r);
    report_errors(r, run.errors);
    report_print(r, o.json, stdout);
    int ok = report_ok(r);
    report_free(r);
    for (int i = 0; i < o.threads; i++) worker_destroy(&ws[i]);
    free(ws);
    free(wp);
    return ok ? 0 : EXIT_SERVER_MISBEHAVED;
}
