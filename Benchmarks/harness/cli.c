/*
 * cli.c — the command line of navios-ws-bench: one scenario name, then options. Numbers are
 * parsed strictly (a typo is a usage error, never a silent 0), and each scenario's check
 * fills what depends on it and refuses what cannot work.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const scenario *const scenarios[] = {&scenario_echo, &scenario_latency, &scenario_fanout,
                                            &scenario_connect, &scenario_idle};
#define NSCENARIOS (sizeof scenarios / sizeof scenarios[0])

void cli_usage(FILE *f) {
    fputs("usage: navios-ws-bench SCENARIO [options]      (or --scenario SCENARIO)\n\nscenarios:\n", f);
    for (size_t i = 0; i < NSCENARIOS; i++) fprintf(f, "  %-9s %s\n", scenarios[i]->name, scenarios[i]->summary);
    fputs("\ntarget:\n"
          "  --host H              server address or name, also sent as Host (127.0.0.1)\n"
          "  --port N              (9001)\n"
          "  --path P              request target of the upgrade (/; socketio:\n"
          "                        /socket.io/?EIO=4&transport=websocket)\n"
          "load:\n"
          "  --connections N       echo, latency, idle: connections (100)\n"
          "  --size BYTES          payload of each message (echo, latency: 20; fanout: pads the text)\n"
          "  --depth D             echo: messages in flight per connection (1)\n"
          "  --binary              echo, latency: binary frames instead of text\n"
          "  --tls                 wss://: TLS on every connection (the server's certificate is not\n"
          "                        checked; every connection makes a full handshake)\n"
          "  --deflate             offer permessage-deflate (the server must accept it), compress\n"
          "                        every message sent and inflate every compressed one received\n"
          "  --verify              echo, latency: compare every byte of every echo, not only its\n"
          "                        length and sequence number\n"
          "  --rate R              latency: requests/s over all connections (1000);\n"
          "                        fanout: publishes/s over all publishers (100)\n"
          "  --subscribers M       fanout (100)\n"
          "  --publishers K        fanout (1)\n"
          "  --protocol P          echo, latency: raw (the payload is the message) or gateway (each\n"
          "                        message a NaviosWS event {\"event\":E,\"data\":{\"text\":PAYLOAD},\n"
          "                        \"id\":N} answered by its ack {...,\"ack\":N}) (raw);\n"
          "                        fanout: gateway (NaviosWS JSON events join/publish) or broadcast\n"
          "                        (the server relays every text message to every client) (gateway);\n"
          "                        any scenario: socketio (each connection an Engine.IO v4 session\n"
          "                        CONNECTed to \"/\", pings answered; echo, latency: the event\n"
          "                        42N[\"E\",{\"text\":PAYLOAD}] answered by its ack 43N[{...}];\n"
          "                        fanout: join and room-emit, delivered as room-message)\n"
          "  --event NAME          echo, latency, gateway protocol: the event sent (echo)\n"
          "  --room NAME           fanout, gateway protocol (bench)\n"
          "  --concurrency C       connect: handshakes in flight (16)\n"
          "  --sources K           bind to 127.0.0.2 .. 127.0.0.(K+1) round robin, so the\n"
          "                        connection count is not capped by one address's ephemeral ports\n"
          "                        (idle: one per 10,000 connections by default)\n"
          "  --also-port N         another instance of the same service (up to 7 times):\n"
          "                        connections go round robin over --port and these\n"
          "  --threads N           worker threads, each with its own io_uring (1)\n"
          "time (seconds; every run is bounded by them and a hard alarm):\n"
          "  --warmup S            (1)   --duration S   (5)\n"
          "  --drain S             after the measured phase, how long in-flight answers are\n"
          "                        waited for before they count as missing (2)\n"
          "  --connect-timeout S   to open every connection, and for each connect scenario cycle (10)\n"
          "output:\n"
          "  --json                one JSON object instead of the table\n"
          "  --server-pid PID      also report the server's CPU and memory (idle: RSS per connection)\n"
          "\nexit status: 0 ok; 3 the server misbehaved (any error, or counts that do not add up);\n"
          "2 usage; 1 the harness itself could not run; 4 the hard time limit was hit.\n",
          f);
}

static const scenario *find_scenario(const char *name) {
    for (size_t i = 0; i < NSCENARIOS; i++) {
        if (strcmp(scenarios[i]->name, name) == 0) return scenarios[i];
    }
    return NULL;
}

static int bad(const char *flag, const char *value) {
    fprintf(stderr, "navios-ws-bench: bad value for %s: %s\n", flag, value ? value : "(missing)");
    return -1;
}

static int parse_long(const char *flag, const char *v, long lo, long hi, long *out) {
    if (v == NULL) return bad(flag, v);
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) return bad(flag, v);
    *out = x;
    return 0;
}

static int parse_int(const char *flag, const char *v, int lo, int hi, int *out) {
    long x;
    if (parse_long(flag, v, lo, hi, &x) != 0) return -1;
    *out = (int)x;
    return 0;
}

static int parse_number(const char *flag, const char *v, double lo, double hi, double *out) {
    if (v == NULL) return bad(flag, v);
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= lo) || !(x <= hi)) return bad(flag, v);
    *out = x;
    return 0;
}

/* An hour at most: every run must end on its own, and the alarm is sized from these. */
static int parse_seconds(const char *flag, const char *v, double lo, double *out) {
    return parse_number(flag, v, lo, 3600, out);
}

void cli_defaults(bench_opts *o) {
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 9001;
    o->path = NULL;   /* "/", or Engine.IO's WebSocket URL for --protocol socketio */
    o->threads = 1;
    o->connections = 100;
    o->size = CLI_UNSET_SIZE;
    o->depth = 1;
    o->rate = -1;
    o->warmup = 1;
    o->duration = 5;
    o->drain = 2;
    o->connect_timeout = 10;
    o->subscribers = 100;
    o->publishers = 1;
    o->room = "bench";
    o->protocol = PROTO_UNSET;
    o->event = "echo";
    o->concurrency = 16;
    o->sources = -1;
    o->server_pid = -1;
}

/* One option (and its value); returns how many arguments it took, or -1. */
static int parse_option(bench_opts *o, const char *a, const char *v) {
    long l;
    /* Lengths capped so the upgrade request fits its buffer; no CR/LF smuggled into it. */
    if (!strcmp(a, "--host")) return v && strlen(v) < 256 && !strpbrk(v, "\r\n /") ? (o->host = v, 2) : bad(a, v);
    if (!strcmp(a, "--path")) return v && v[0] == '/' && strlen(v) < 512 && !strpbrk(v, "\r\n ") ? (o->path = v, 2) : bad(a, v);
    if (!strcmp(a, "--event")) return v && *v && strlen(v) < 128 && !strpbrk(v, "\"\\") ? (o->event = v, 2) : bad(a, v);
    if (!strcmp(a, "--room")) return v && strlen(v) < 128 && !strpbrk(v, "\"\\") ? (o->room = v, 2) : bad(a, v);
    if (!strcmp(a, "--port")) return parse_int(a, v, 1, 65535, &o->port) ? -1 : 2;
    if (!strcmp(a, "--also-port")) {
        if (o->nalso_ports == BENCH_MAX_PORTS - 1) return bad(a, v);
        return parse_int(a, v, 1, 65535, &o->also_ports[o->nalso_ports]) ? -1 : (o->nalso_ports++, 2);
    }
    if (!strcmp(a, "--threads")) return parse_int(a, v, 1, 64, &o->threads) ? -1 : 2;
    if (!strcmp(a, "--connections")) return parse_int(a, v, 1, 10000000, &o->connections) ? -1 : 2;
    if (!strcmp(a, "--depth")) return parse_int(a, v, 1, 1000000, &o->depth) ? -1 : 2;
    if (!strcmp(a, "--subscribers")) return parse_int(a, v, 1, 10000000, &o->subscribers) ? -1 : 2;
    if (!strcmp(a, "--publishers")) return parse_int(a, v, 1, 100000, &o->publishers) ? -1 : 2;
    if (!strcmp(a, "--concurrency")) return parse_int(a, v, 1, 1000000, &o->concurrency) ? -1 : 2;
    if (!strcmp(a, "--sources")) return parse_int(a, v, 0, 250, &o->sources) ? -1 : 2;
    if (!strcmp(a, "--size")) return parse_long(a, v, 0, 1L << 30, &l) ? -1 : (o->size = (size_t)l, 2);
    if (!strcmp(a, "--server-pid")) return parse_long(a, v, 1, LONG_MAX, &o->server_pid) ? -1 : 2;
    if (!strcmp(a, "--rate")) return parse_number(a, v, 0.001, 1e8, &o->rate) ? -1 : 2;
    if (!strcmp(a, "--warmup")) return parse_seconds(a, v, 0, &o->warmup) ? -1 : 2;
    if (!strcmp(a, "--duration")) return parse_seconds(a, v, 0.001, &o->duration) ? -1 : 2;
    if (!strcmp(a, "--drain")) return parse_seconds(a, v, 0, &o->drain) ? -1 : 2;
    if (!strcmp(a, "--connect-timeout")) return parse_seconds(a, v, 0.001, &o->connect_timeout) ? -1 : 2;
    if (!strcmp(a, "--binary")) return o->binary = 1, 1;
    if (!strcmp(a, "--deflate")) return o->deflate = 1, 1;
    if (!strcmp(a, "--tls")) return o->tls = 1, 1;
    if (!strcmp(a, "--verify")) return o->verify = 1, 1;
    if (!strcmp(a, "--json")) return o->json = 1, 1;
    if (!strcmp(a, "--protocol")) {
        if (v && !strcmp(v, "raw")) return o->protocol = PROTO_RAW, 2;
        if (v && !strcmp(v, "gateway")) return o->protocol = PROTO_GATEWAY, 2;
        if (v && !strcmp(v, "broadcast")) return o->protocol = PROTO_BROADCAST, 2;
        if (v && !strcmp(v, "socketio")) return o->protocol = PROTO_SOCKETIO, 2;
        return bad(a, v);
    }
    if (!strcmp(a, "--scenario")) {
        o->scenario = v ? find_scenario(v) : NULL;
        return o->scenario ? 2 : bad(a, v);
    }
    fprintf(stderr, "navios-ws-bench: unknown option %s\n", a);
    return -1;
}

int cli_parse(bench_opts *o, int argc, char **argv) {
    cli_defaults(o);
    int i = 1;
    if (i < argc && argv[i][0] != '-') {
        o->scenario = find_scenario(argv[i]);
        if (o->scenario == NULL) {
            fprintf(stderr, "navios-ws-bench: unknown scenario %s\n", argv[i]);
            return -1;
        }
        i++;
    }
    while (i < argc) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
        int took = parse_option(o, argv[i], i + 1 < argc ? argv[i + 1] : NULL);
        if (took < 0) return -1;
        i += took;
    }
    if (o->scenario == NULL) {
        fprintf(stderr, "navios-ws-bench: no scenario given\n");
        return -1;
    }
    const char *why = o->scenario->check ? o->scenario->check(o) : NULL;
    if (why != NULL) {
        fprintf(stderr, "navios-ws-bench %s: %s\n", o->scenario->name, why);
        return -1;
    }
    if (o->sources < 0) o->sources = 0;
    if (o->path == NULL) o->path = o->protocol == PROTO_SOCKETIO ? "/socket.io/?EIO=4&transport=websocket" : "/";
    return 0;
}
