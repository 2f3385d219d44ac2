/*
 * echo_server.c — the C core alone, echoing every message: the server that the sanitizer
 * build (make test-asan) runs the interop and adversarial suites against, with no Swift in
 * the process. The Swift executable navios-ws-echo is the product; this is its twin for tests.
 *
 * Usage: echo_server [--port N] [--loops N] [--backend auto|epoll|io_uring] [--max-message N]
 *                    [--handshake-timeout MS] [--ping-interval MS] [--pong-timeout MS]
 *                    [--max-backlog N] [--idle-timeout MS]
 *                    [--eio-path PATH] [--eio-ping-interval MS] [--eio-ping-timeout MS]
 *                    [--deflate shared|dedicated] [--deflate-threshold N] [--deflate-level N]
 *                    [--deflate-window-bits N] [--deflate-mem-level N]
 *                    [--tls-cert FILE --tls-key FILE [--tls-sni NAME:CERT:KEY]... [--tls-client-ca FILE]]
 *                    [--room NAME]
 * With --room, every client joins room NAME and each message is broadcast to the room instead
 * of echoed: a room fan-out over real sockets, in the core alone.
 * With --tls-client-ca, each client's first message from the server is "peer: " and the subject
 * of the certificate it presented. SIGHUP reloads the certificates from their files.
 * GET /health answers 200; GET /ready answers 200 until SIGUSR1 (drain: 503 with Retry-After: 7,
 * and so are new upgrades) or SIGUSR2 (set not ready: 503, upgrades still served).
 * With --eio-path, requests to PATH speak Engine.IO v4 (a bare Engine.IO echo server, as the
 * official protocol suite wants at /engine.io/).
 * Prints the same "listening on ws://HOST:PORT/" line as navios-ws-echo once ready; SIGTERM/SIGINT shut it down gracefully.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nws_error.h"
#include "nws_frame.h"
#include "nws_rooms.h"
#include "nws_server.h"

static nws_server *server;
static int stop_pipe[2];
static int tell_peer;   /* --tls-client-ca: each client first hears its certificate's subject */
static nws_room_ref room;   /* --room: joined by every client, and what it says goes to all */

static void on_open(void *ctx, nws_conn_id id, const nws_open_info *info) {
    (void)ctx;
    if (room.name != NULL) nws_room_join(server, id, room.name, room.len);
    if (!tell_peer) return;
    char text[512];
    int n = snprintf(text, sizeof text, "peer: %s", info->tls_peer_subject ? info->tls_peer_subject : "");
    nws_send(server, id, NWS_OP_TEXT, text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1, 0);
}

static void on_message(void *ctx, nws_conn_id id, int opcode, const uint8_t *data, size_t len, void *user) {
    (void)ctx;
    (void)user;
    nws_send(server, id, opcode, data, len, 0);
}

static void on_message_to_room(void *ctx, nws_conn_id id, int opcode, const uint8_t *data, size_t len, void *user) {
    (void)ctx;
    (void)id;
    (void)user;
    nws_msg *m = nws_msg_create(opcode, data, len);
    if (m == NULL) return;
    nws_room_broadcast(server, m, &room, 1, NULL, 0, 0, 0);
    nws_msg_release(m);
}

static void on_signal(int sig) {
    char b = sig == SIGHUP ? 'r' : sig == SIGUSR1 ? 'd' : sig == SIGUSR2 ? 'n' : 's';
    ssize_t r = write(stop_pipe[1], &b, 1);
    (void)r;
}

/* GET /stats: the server's counters as "name value" lines, answered by the application
 * (on_http); any other path is left to the core (426). */
static int on_http(void *ctx, const nws_http_request *req, nws_http_reply *reply) {
    (void)ctx;
    if (req->target_len < 6 || memcmp(req->target, "/stats", 6) != 0 || (req->target_len > 6 && req->target[6] != '?'))
        return 0;
    nws_server_stats st;
    nws_server_stats_get(server, &st);
    char *body = malloc(256);
    if (body == NULL) return 0;
    int n = snprintf(body, 256, "connections_open %llu\nmessages_in %llu\nmessages_out %llu\n",
                     (unsigned long long)st.connections_open, (unsigned long long)st.messages_in,
                     (unsigned long long)st.messages_out);
    reply->body = body;
    reply->body_len = (size_t)n;
    snprintf(reply->headers, sizeof reply->headers, "X-Stats: 1\r\n");
    return 1;
}

static unsigned long arg_num(const char *s) { return strtoul(s, NULL, 10); }

int main(int argc, char **argv) {
    /* 16 MiB messages: the interop suite's largest (the default, 1 MiB, suits applications). */
    nws_server_config config = {.host = "127.0.0.1", .port = 9001, .max_message = 16u << 20};
    nws_tls_cert certs[8] = {0};
    size_t cert_count = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--port")) config.port = (uint16_t)arg_num(v);
        else if (!strcmp(k, "--host")) config.host = v;
        else if (!strcmp(k, "--loops")) config.loops = (int)arg_num(v);
        else if (!strcmp(k, "--backend")) config.backend = !strcmp(v, "epoll") ? NWS_BACKEND_EPOLL : !strcmp(v, "io_uring") ? NWS_BACKEND_IO_URING : NWS_BACKEND_AUTO;
        else if (!strcmp(k, "--max-message")) config.max_message = arg_num(v);
        else if (!strcmp(k, "--handshake-timeout")) config.handshake_timeout_ms = (uint32_t)arg_num(v);
        else if (!strcmp(k, "--ping-interval")) config.ping_interval_ms = (uint32_t)arg_num(v);
        else if (!strcmp(k, "--pong-timeout")) config.pong_timeout_ms = (uint32_t)arg_num(v);
        else if (!strcmp(k, "--idle-timeout")) config.idle_timeout_ms = (uint32_t)arg_num(v);
        else if (!strcmp(k, "--max-backlog")) config.max_backlog = arg_num(v);
        else if (!strcmp(k, "--close-timeout")) config.close_timeout_ms = (uint32_t)arg_num(v);
        else if (!strcmp(k, "--eio-path")) config.eio.path = v;
        else if (!strcmp(k, "--deflate")) config.deflate.mode = !strcmp(v, "dedicated") ? NWS_DEFLATE_DEDICATED : NWS_DEFLATE_SHARED;
        else if (!strcmp(k, "--deflate-threshold")) config.deflate.threshold = (uint32_t)arg_num(v);
        else if (!strcmp(k, "--deflate-level")) config.deflate.level = (int)arg_num(v);
        else if (!strcmp(k, "--deflate-window-bits")) config.deflate.window_bits = (uint8_t)arg_num(v);
        else if (!strcmp(k, "--deflate-mem-level")) config.deflate.mem_level = (uint8_t)arg_num(v);
        else if (!strcmp(k, "--tls-cert")) certs[0].cert_file = v;
        else if (!strcmp(k, "--tls-key")) certs[0].key_file = v;
        else if (!strcmp(k, "--tls-sni") && cert_count < 8) {   /* NAME:CERT:KEY */
            char *name = strdup(v), *c = strchr(name, ':'), *key = c ? strchr(c + 1, ':') : NULL;
            if (key == NULL) return 2;
            *c = *key = '\0';
            certs[cert_count++] = (nws_tls_cert){.server_name = name, .cert_file = c + 1, .key_file = key + 1};
        }
        else if (!strcmp(k, "--tls-client-ca")) config.tls.client_ca_file = v;
        else if (!strcmp(k, "--room")) room = (nws_room_ref){v, strlen(v)};
        else if (!strcmp(k, "--eio-ping-interval")) config.eio.ping_interval_ms = (uint32_t)arg_num(v);
        else if (!strcmp(k, "--eio-ping-timeout")) config.eio.ping_timeout_ms = (uint32_t)arg_num(v);
        else {
            fprintf(stderr, "unknown option %s\n", k);
            return 2;
        }
    }
    config.health_path = "/health";
    config.ready_path = "/ready";
    if (certs[0].cert_file != NULL) {
        config.tls.certs = certs;
        config.tls.cert_count = cert_count;
    }
    nws_tls_config tls = config.tls;   /* kept for SIGHUP: the core reads it only when it loads */
    tell_peer = config.tls.client_ca_file != NULL;
    nws_server_callbacks cb = {.on_message = room.name ? on_message_to_room : on_message, .on_open = on_open, .on_http = on_http};
    int rc = nws_server_create(&config, &cb, &server);
    if (rc == 0) rc = nws_server_start(server);
    if (rc != 0) {
        fprintf(stderr, "echo_server: %s (%s)\n", nws_strerror(rc), nws_err_name(rc));
        return 1;
    }
    /* Signals are handled before the ready line: a test may send SIGTERM right after it. */
    if (pipe(stop_pipe) != 0) return 1;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGHUP, on_signal);
    signal(SIGUSR1, on_signal);   /* drain: /ready 503, new upgrades 503 with Retry-After: 7 */
    signal(SIGUSR2, on_signal);   /* not ready (a link the application needs is down) */
    printf("navios-ws-echo listening on ws://%s:%u/ (%s, %d loops)\n", config.host, nws_server_port(server),
           nws_server_backend(server) == NWS_BACKEND_EPOLL ? "epoll" : "ioUring", nws_server_loop_count(server));
    fflush(stdout);
    char b;
    while (read(stop_pipe[0], &b, 1) < 0 || b == 'r' || b == 'd' || b == 'n') {
        if (b == 'r') fprintf(stderr, "echo_server: certificates %s\n", nws_server_tls_reload(server, &tls) == 0 ? "reloaded" : "not reloaded");
        if (b == 'd') nws_server_drain(server, 7);
        if (b == 'n') nws_server_set_ready(server, 0);
        b = 0;
    }
    nws_server_shutdown(server, 2000);
    nws_server_wait(server);
    nws_server_stats stats;
    nws_server_stats_get(server, &stats);
    fprintf(stderr, "echo_server: stopped; %llu accepted, %llu messages in, %llu protocol errors\n",
            (unsigned long long)stats.connections_accepted, (unsigned long long)stats.messages_in,
            (unsigned long long)stats.protocol_errors);
    nws_server_destroy(server);
    for (size_t i = 1; i < cert_count; i++) free((char *)certs[i].server_name);   /* the --tls-sni copies */
    return 0;
}
