/*
 * echo_load.c — a single-threaded RFC 6455 client that loads an echo server, for
 * Benchmarks/run-echo.sh (throughput and idle-connection memory).
 *
 * Echo mode (default): opens N connections, upgrades them, then keeps D messages of S bytes
 * in flight on each: every complete echo is counted and answered with the next message. A
 * warm-up phase is followed by a measured phase; one line of results is printed (or a JSON
 * object with --json). Errors: a connection the server closed, a close frame, a protocol
 * error in the server's frames, an echo whose length differs from what was sent, a connect
 * or upgrade that failed (a status other than 101 or a wrong Sec-WebSocket-Accept). A dead
 * connection is not reopened; the others go on. With --server-pid it also reports the
 * server's CPU time, and, when the server and this process are each pinned to one core, how
 * busy each core was (from /proc/stat, interrupt work included): a client core near 100%
 * means the rate is the load generator's limit, not the server's.
 *
 * Idle mode (--idle N): opens N connections from source addresses 127.0.0.2, .3, ... (so
 * the ephemeral ports of one address do not run out), upgrades them, holds them for --hold
 * seconds without sending, and with --server-pid prints the server's VmRSS growth per
 * connection.
 *
 * The client side is cheap on purpose so that the server is what is measured: epoll, level
 * triggered, non-blocking sockets, one read of up to 256 KiB per readable event, all the
 * frames answered by one read written with one write. Frames are built like a browser
 * would: a fresh mask key per frame (from a pool filled in bulk with RAND_bytes), the
 * payload masked with the core's nws_mask_copy. Server frames are parsed with the core's
 * nws_decoder (require_mask = 0), which also validates text as UTF-8.
 *
 *   cc -std=c11 -O2 -ICSources/CNaviosWS/include -ICSources/CNaviosWS \
 *      Benchmarks/loadgen/echo_load.c CSources/CNaviosWS/{frame,mask,utf8,error}.c \
 *      -o build/echo_load -lssl -lcrypto
 *   build/echo_load --port 9001 --connections 100 --size 20 --depth 16 [--json]
 *   build/echo_load --port 9001 --idle 10000 --server-pid PID [--json]
 *
 * Bounded in time: connecting gets --connect-timeout seconds, then warm-up + duration (or
 * hold), and an alarm kills the process if it is still running well after that.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "nws_error.h"
#include "nws_frame.h"
#include "nws_mask.h"

#define READ_BUF (256 * 1024)
#define HANDSHAKE_MAX 2048
#define KEY_POOL 4096      /* mask keys per RAND_bytes call */
#define CONNECTING_MAX 512 /* handshakes in progress at once: stays under listen backlogs */

enum conn_state { C_IDLE, C_CONNECTING, C_UPGRADING, C_OPEN, C_DEAD };

enum err_kind { E_CONNECT, E_HANDSHAKE, E_CLOSED, E_CLOSE_FRAME, E_PROTOCOL, E_LENGTH, E_COUNT };
static const char *err_names[E_COUNT] = {"connect", "handshake", "closed_by_server",
                                         "close_frame", "protocol", "length"};

typedef struct conn {
    int fd;
    uint8_t state;
    uint8_t want_out;            /* EPOLLOUT is registered */
    uint32_t src;                /* index of the source address (idle mode) */
    uint64_t got;                /* payload bytes of the echo being received */
    nws_decoder dec;
    uint8_t *out;                /* bytes to write: out[out_off..out_len) */
    size_t out_len, out_off, out_cap;
    char *hs;                    /* upgrade response being read, then freed */
    size_t hs_len;
    char accept[32];             /* expected Sec-WebSocket-Accept */
} conn;

static struct {
    const char *host;
    int port;
    int connections;
    size_t size;
    int depth;
    double warmup, duration, hold, connect_timeout;
    int binary, json, idle, sources;
    long server_pid;
    const char *gateway_event;   /* --gateway EVENT: speak the gateway JSON protocol */
    const char *fanout_room;     /* --fanout ROOM: every connection joins, one publishes */
    double rate;                 /* --rate: publishes per second in fanout mode */
} opt = {"127.0.0.1", 9001, 100, 20, 1, 2.0, 5.0, 5.0, 10.0, 0, 0, 0, 0, -1, NULL, NULL, 100.0};

static struct sockaddr_in dst;
static int ep;
static conn *conns;
static int nconns;
static uint8_t *payload;         /* the message every frame carries, unmasked */
static size_t payload_len;       /* opt.size, or the envelope's length in gateway mode */
static size_t reply_len;         /* what each answer must measure */
static uint8_t rbuf[READ_BUF];
static uint8_t keys[KEY_POOL * 4];
static int keys_left;
static uint64_t errors[E_COUNT];
static uint64_t echoes, echo_bytes;
/* Fan-out: delivery latencies in ns (sampled up to a cap), measured from the publish time
 * the message carries to its arrival. */
#define LATENCY_CAP (4u << 20)
static uint64_t *latencies;
static size_t latency_count;
static int measuring;
static int opened, connecting, next_to_connect;

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("echo_load: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const uint8_t *next_key(void) {
    if (keys_left == 0) {
        if (RAND_bytes(keys, sizeof keys) != 1) {
            die("RAND_bytes failed");
        }
        keys_left = KEY_POOL;
    }
    keys_left--;
    return keys + (size_t)keys_left * 4;
}

static void out_reserve(conn *c, size_t more) {
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
    }
    if (c->out_len + more <= c->out_cap) {
        return;
    }
    if (c->out_off > 0) {   /* slide the unwritten tail down before growing */
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
        if (c->out_len + more <= c->out_cap) {
            return;
        }
    }
    size_t cap = c->out_cap ? c->out_cap : 256;
    while (cap < c->out_len + more) {
        cap *= 2;
    }
    c->out = realloc(c->out, cap);
    if (c->out == NULL) {
        die("out of memory");
    }
    c->out_cap = cap;
}

static void queue_frame(conn *c, uint8_t opcode, const uint8_t *data, size_t len) {
    out_reserve(c, NWS_FRAME_HEADER_MAX + len);
    const uint8_t *key = next_key();
    uint8_t *p = c->out + c->out_len;
    size_t h = nws_frame_header(p, opcode, 1, 0, len, key);
    nws_mask_copy(p + h, data, len, key, 0);
    c->out_len += h + len;
}

static void set_out_interest(conn *c, int want) {
    if (c->want_out == want) {
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = (uint8_t)want;
}

static void kill_conn(conn *c, enum err_kind why) {
    if (c->state == C_DEAD) {
        return;
    }
    if (c->state == C_CONNECTING || c->state == C_UPGRADING) {
        connecting--;
    } else if (c->state == C_OPEN) {
        opened--;
    }
    errors[why]++;
    if (c->fd >= 0) {
        close(c->fd);   /* also removes it from the epoll set */
    }
    c->fd = -1;
    c->state = C_DEAD;
    free(c->hs);
    c->hs = NULL;
}

/* Writes what is queued; returns 0, or -1 when the connection died. */
static int flush(conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_out_interest(c, 1);
            return 0;
        }
        kill_conn(c, c->state == C_OPEN ? E_CLOSED : E_HANDSHAKE);
        return -1;
    }
    c->out_off = c->out_len = 0;
    set_out_interest(c, 0);
    return 0;
}

static void send_message(conn *c) {
    queue_frame(c, opt.binary ? NWS_OP_BINARY : NWS_OP_TEXT, payload, payload_len);
}

/* ---- upgrade ------------------------------------------------------------------------ */

static void start_upgrade(conn *c) {
    uint8_t raw[16], digest[SHA_DIGEST_LENGTH];
    char key[32], cat[80];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        die("RAND_bytes failed");
    }
    EVP_EncodeBlock((unsigned char *)key, raw, sizeof raw);
    snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    SHA1((const unsigned char *)cat, strlen(cat), digest);
    EVP_EncodeBlock((unsigned char *)c->accept, digest, sizeof digest);

    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     opt.host, opt.port, key);
    out_reserve(c, (size_t)n);
    memcpy(c->out + c->out_len, req, (size_t)n);
    c->out_len += (size_t)n;
    c->state = C_UPGRADING;
    c->hs = malloc(HANDSHAKE_MAX);
    if (c->hs == NULL) {
        die("out of memory");
    }
    c->hs_len = 0;
    flush(c);
}

static void on_frames(conn *c, uint8_t *buf, size_t len);

/* The value of a header in an HTTP response head, or NULL. */
static const char *header_value(const char *head, const char *name, size_t *vlen) {
    size_t nlen = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line != NULL; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ' || *v == '\t') {
                v++;
            }
            const char *e = strstr(v, "\r\n");
            *vlen = e ? (size_t)(e - v) : strlen(v);
            while (*vlen > 0 && (v[*vlen - 1] == ' ' || v[*vlen - 1] == '\t')) {
                (*vlen)--;
            }
            return v;
        }
    }
    return NULL;
}

static void on_upgrade_bytes(conn *c, uint8_t *buf, size_t len) {
    size_t room = HANDSHAKE_MAX - 1 - c->hs_len;
    size_t take = len < room ? len : room;
    memcpy(c->hs + c->hs_len, buf, take);
    c->hs_len += take;
    c->hs[c->hs_len] = '\0';
    char *end = strstr(c->hs, "\r\n\r\n");
    if (end == NULL) {
        if (c->hs_len == HANDSHAKE_MAX - 1) {
            kill_conn(c, E_HANDSHAKE);
        }
        return;
    }
    size_t head_len = (size_t)(end - c->hs) + 4;
    end[2] = '\0';   /* header_value stops at the blank line */
    size_t alen = 0;
    const char *accept = header_value(c->hs, "Sec-WebSocket-Accept", &alen);
    if (strncmp(c->hs, "HTTP/1.1 101", 12) != 0 || accept == NULL ||
        alen != strlen(c->accept) || memcmp(accept, c->accept, alen) != 0) {
        kill_conn(c, E_HANDSHAKE);
        return;
    }
    /* Bytes after the head that were in this read already belong to the frame stream. */
    size_t used_of_buf = head_len - (c->hs_len - take);
    free(c->hs);
    c->hs = NULL;
    c->state = C_OPEN;
    connecting--;
    opened++;
    nws_decoder_limits lim = {.max_frame = 0, .max_message = 0, .require_mask = 0};
    nws_decoder_init(&c->dec, &lim);
    if (opt.fanout_room) {
        char join[256];
        int n = snprintf(join, sizeof join, "{\"event\":\"join\",\"data\":\"%s\",\"id\":1}", opt.fanout_room);
        queue_frame(c, NWS_OP_TEXT, (const uint8_t *)join, (size_t)n);
    } else if (!opt.idle) {
        for (int i = 0; i < opt.depth; i++) {
            send_message(c);
        }
    }
    if (used_of_buf < len) {
        on_frames(c, buf + used_of_buf, len - used_of_buf);
    }
    if (c->state == C_OPEN) {
        flush(c);
    }
}

/* ---- frames ------------------------------------------------------------------------- */

static double now(void);

/* A delivery is {"event":"message","data":{"text":"<publish time in ns>"}}: the digits after
 * the text key give the latency. Acks of the joins ({"event":"join",...,"ack":...}) are
 * skipped. Only whole-frame messages are expected (they are small). */
static void on_fanout_chunk(conn *c, const nws_decoded *ev) {
    (void)c;
    static const char key[] = "\"text\":\"";
    if (!ev->first || !ev->last || ev->len < 20 || memcmp(ev->data, "{\"event\":\"message\"", 18) != 0) return;
    const char *text = memmem(ev->data, ev->len, key, sizeof key - 1);
    if (text == NULL) return;
    uint64_t sent = strtoull(text + sizeof key - 1, NULL, 10);
    echoes++;
    echo_bytes += ev->len;
    if (measuring && latency_count < LATENCY_CAP) latencies[latency_count++] = (uint64_t)(now() * 1e9) - sent;
}

static void on_frames(conn *c, uint8_t *buf, size_t len) {
    while (len > 0 && c->state == C_OPEN) {
        nws_decoded ev;
        ssize_t n = nws_decode(&c->dec, buf, len, &ev);
        if (n < 0) {
            kill_conn(c, E_PROTOCOL);
            return;
        }
        buf += n;
        len -= (size_t)n;
        if (ev.kind == NWS_DECODED_DATA && opt.fanout_room) {
            on_fanout_chunk(c, &ev);
        } else if (ev.kind == NWS_DECODED_DATA) {
            c->got += ev.len;
            if (ev.last) {
                if (c->got != reply_len) {
                    kill_conn(c, E_LENGTH);
                    return;
                }
                echoes++;
                echo_bytes += c->got;
                c->got = 0;
                if (!opt.idle) {
                    send_message(c);
                }
            }
        } else if (ev.kind == NWS_DECODED_CONTROL) {
            if (ev.opcode == NWS_OP_CLOSE) {
                kill_conn(c, E_CLOSE_FRAME);
                return;
            }
            if (ev.opcode == NWS_OP_PING) {   /* e.g. uWS pings connections it thinks idle */
                uint8_t body[NWS_CONTROL_MAX];
                memcpy(body, ev.data, ev.len);
                queue_frame(c, NWS_OP_PONG, body, ev.len);
            }
        }
    }
}

static void on_readable(conn *c) {
    for (;;) {
        ssize_t n = recv(c->fd, rbuf, sizeof rbuf, 0);
        if (n > 0) {
            if (c->state == C_UPGRADING) {
                on_upgrade_bytes(c, rbuf, (size_t)n);
            } else {
                on_frames(c, rbuf, (size_t)n);
                if (c->state == C_OPEN) {
                    flush(c);
                }
            }
            if (c->state == C_DEAD || (size_t)n < sizeof rbuf) {
                return;   /* a short read drained the socket: save the EAGAIN call */
            }
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        kill_conn(c, c->state == C_OPEN ? E_CLOSED : E_HANDSHAKE);
        return;
    }
}

/* ---- connecting --------------------------------------------------------------------- */

static void start_connect(conn *c) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) {
        die("socket: %s (raise the open-file limit?)", strerror(errno));
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (opt.sources > 0) {
        /* 127.0.0.2, .3, ...: each source address has its own ephemeral port range.
         * IP_BIND_ADDRESS_NO_PORT defers the port choice to connect(), which may then reuse
         * a port for other destinations instead of reserving it outright. */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000002u + c->src);
        if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
            die("bind 127.0.0.%u: %s", 2 + c->src, strerror(errno));
        }
    }
    c->fd = fd;
    c->state = C_CONNECTING;
    connecting++;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    c->want_out = 1;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        die("epoll_ctl: %s", strerror(errno));
    }
    if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) {
        kill_conn(c, E_CONNECT);
    }
}

static void on_event(conn *c, uint32_t events) {
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
            kill_conn(c, E_CONNECT);
            return;
        }
        if (events & EPOLLOUT) {
            start_upgrade(c);
        }
        return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        on_readable(c);
    }
    if (c->state != C_DEAD && (events & EPOLLOUT)) {
        flush(c);
    }
}

/* Keeps at most CONNECTING_MAX handshakes in progress so that no listen backlog overflows
 * (a dropped SYN costs a one-second retransmit, which would look like a slow server). */
static void connect_more(void) {
    while (next_to_connect < nconns && connecting < CONNECTING_MAX) {
        start_connect(&conns[next_to_connect++]);
    }
}

/* ---- measuring ---------------------------------------------------------------------- */

/* utime + stime of a process, in seconds, or -1. */
static double proc_cpu(long pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');   /* the command name may contain spaces */
    if (p == NULL) {
        return -1;
    }
    unsigned long ut = 0, st = 0;
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) {
        return -1;
    }
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Busy time of all CPUs together (user, nice, system, irq, softirq, steal), in seconds:
 * what is left after the server and this process is someone else's load or interrupt work,
 * a sign that the numbers of this run are disturbed. */
static double system_busy(void) {
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL) {
        return -1;
    }
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n != 8) {
        return -1;
    }
    /* user nice system idle iowait irq softirq steal */
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

/* The one CPU a process may run on (pid 0: this one), or -1 when it may run on several. */
static int pinned_cpu(long pid) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity((pid_t)pid, sizeof set, &set) != 0 || CPU_COUNT(&set) != 1) {
        return -1;
    }
    for (int i = 0; i < CPU_SETSIZE; i++) {
        if (CPU_ISSET(i, &set)) {
            return i;
        }
    }
    return -1;
}

/* Busy and total ticks of one CPU ("cpuN" in /proc/stat); busy counts everything but idle
 * and iowait, so interrupt work and other processes on that core are included: a core near
 * 100% busy is the bottleneck whatever the process accounting says. */
static int core_ticks(int cpu, unsigned long long *busy, unsigned long long *total) {
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL) {
        return -1;
    }
    char line[512], name[16];
    snprintf(name, sizeof name, "cpu%d ", cpu);
    int found = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, name, strlen(name)) != 0) {
            continue;
        }
        unsigned long long v[8] = {0};
        if (sscanf(line + strlen(name), "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
            *total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
            *busy = *total - v[3] - v[4];
            found = 0;
        }
        break;
    }
    fclose(f);
    return found;
}

static double core_busy_pct(int cpu, unsigned long long b0, unsigned long long t0) {
    unsigned long long b1, t1;
    if (cpu < 0 || core_ticks(cpu, &b1, &t1) != 0 || t1 <= t0) {
        return -1;
    }
    return (double)(b1 - b0) * 100.0 / (double)(t1 - t0);
}

static double self_cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* VmRSS of a process in KiB, or -1. */
static long proc_rss_kib(long pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    long kib = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

static void poll_once(int timeout_ms) {
    struct epoll_event evs[256];
    int n = epoll_wait(ep, evs, 256, timeout_ms);
    if (n < 0 && errno != EINTR) {
        die("epoll_wait: %s", strerror(errno));
    }
    for (int i = 0; i < n; i++) {
        on_event(evs[i].data.ptr, evs[i].events);
    }
    connect_more();
}

/* Runs the loop until `until` (monotonic seconds) or until stop() says so. */
static void run_until(double until, int (*stop)(void)) {
    for (;;) {
        double left = until - now();
        if (left <= 0 || (stop && stop())) {
            return;
        }
        int ms = (int)(left * 1000) + 1;
        poll_once(ms > 100 ? 100 : ms);
    }
}

static int all_settled(void) {
    return next_to_connect == nconns && connecting == 0;
}

static uint64_t total_errors(void) {
    uint64_t t = 0;
    for (int i = 0; i < E_COUNT; i++) {
        t += errors[i];
    }
    return t;
}

static void print_errors_json(void) {
    printf("\"errors\":%llu,\"error_kinds\":{", (unsigned long long)total_errors());
    for (int i = 0; i < E_COUNT; i++) {
        printf("%s\"%s\":%llu", i ? "," : "", err_names[i], (unsigned long long)errors[i]);
    }
    printf("}");
}

static void print_errors_text(void) {
    printf("errors %llu", (unsigned long long)total_errors());
    if (total_errors() > 0) {
        printf(" (");
        int first = 1;
        for (int i = 0; i < E_COUNT; i++) {
            if (errors[i]) {
                printf("%s%s %llu", first ? "" : ", ", err_names[i], (unsigned long long)errors[i]);
                first = 0;
            }
        }
        printf(")");
    }
}

static int run_echo(void) {
    double t0 = now();
    run_until(t0 + opt.connect_timeout, all_settled);
    if (opened == 0) {
        die("no connection could be opened to %s:%d", opt.host, opt.port);
    }
    double warm_end = now() + opt.warmup;
    run_until(warm_end, NULL);

    uint64_t m0 = echoes, b0 = echo_bytes;
    double c0 = self_cpu(), s0 = opt.server_pid > 0 ? proc_cpu(opt.server_pid) : -1;
    double y0 = system_busy();
    int ccpu = pinned_cpu(0), scpu = opt.server_pid > 0 ? pinned_cpu(opt.server_pid) : -1;
    unsigned long long cb0 = 0, ct0 = 0, sb0 = 0, st0 = 0;
    if (ccpu >= 0 && core_ticks(ccpu, &cb0, &ct0) != 0) ccpu = -1;
    if (scpu >= 0 && (scpu == ccpu || core_ticks(scpu, &sb0, &st0) != 0)) scpu = -1;
    double start = now();
    run_until(start + opt.duration, NULL);
    double elapsed = now() - start;
    uint64_t msgs = echoes - m0, bytes = echo_bytes - b0;
    double client_cpu = (self_cpu() - c0) / elapsed * 100.0;
    double server_cpu = -1, other_cpu = -1;
    if (s0 >= 0) {
        double s1 = proc_cpu(opt.server_pid);
        server_cpu = s1 >= 0 ? (s1 - s0) / elapsed * 100.0 : -1;
    }
    double y1 = system_busy();
    double client_core = core_busy_pct(ccpu, cb0, ct0), server_core = core_busy_pct(scpu, sb0, st0);
    if (y0 >= 0 && y1 >= 0 && server_cpu >= 0) {
        other_cpu = (y1 - y0) / elapsed * 100.0 - server_cpu - client_cpu;
        if (other_cpu < 0) {
            other_cpu = 0;   /* tick granularity */
        }
    }
    double rate = (double)msgs / elapsed, mbs = (double)bytes / elapsed / 1e6;

    if (opt.json) {
        printf("{\"mode\":\"echo\",\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"messages\":%llu,"
               "\"seconds\":%.3f,\"connections\":%d,\"open_at_end\":%d,\"size\":%zu,\"depth\":%d,"
               "\"binary\":%s,\"client_cpu_pct\":%.1f,\"server_cpu_pct\":%.1f,\"other_cpu_pct\":%.1f,"
               "\"client_core\":%d,\"client_core_busy_pct\":%.1f,\"server_core\":%d,"
               "\"server_core_busy_pct\":%.1f,",
               rate, mbs, (unsigned long long)msgs, elapsed, opt.connections, opened, opt.size,
               opt.depth, opt.binary ? "true" : "false", client_cpu, server_cpu, other_cpu,
               ccpu, client_core, scpu, server_core);
        print_errors_json();
        printf("}\n");
    } else {
        printf("%.0f msgs/s, %.2f MB/s payload, %d connections (%d open at end), size %zu, depth %d, "
               "%s, client cpu %.0f%%",
               rate, mbs, opt.connections, opened, opt.size, opt.depth,
               opt.binary ? "binary" : "text", client_cpu);
        if (server_cpu >= 0) {
            printf(", server cpu %.0f%%", server_cpu);
        }
        if (other_cpu >= 0) {
            printf(", other cpu %.0f%%", other_cpu);
        }
        if (client_core >= 0) {
            printf(", core %d (client) %.0f%% busy", ccpu, client_core);
        }
        if (server_core >= 0) {
            printf(", core %d (server) %.0f%% busy", scpu, server_core);
        }
        printf(", ");
        print_errors_text();
        printf("\n");
    }
    return 0;
}

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double percentile_ms(double p) {
    if (latency_count == 0) return -1;
    size_t i = (size_t)(p / 100.0 * (double)(latency_count - 1) + 0.5);
    return (double)latencies[i] / 1e6;
}

/* One publisher (the first connection) publishes on a fixed schedule: latency is taken from
 * the scheduled time, so a stalled server shows as latency, not as fewer samples. */
static int run_fanout(void) {
    latencies = malloc(LATENCY_CAP * sizeof *latencies);
    if (latencies == NULL) die("out of memory");
    run_until(now() + opt.connect_timeout, all_settled);
    if (opened == 0) die("no connection could be opened to %s:%d", opt.host, opt.port);
    run_until(now() + 1.0, NULL);   /* the joins land */
    conn *publisher = &conns[0];
    double interval = 1.0 / opt.rate, start = now(), warm_end = start + opt.warmup;
    double end = warm_end + opt.duration, next = start;
    uint64_t d0 = 0, published = 0;
    while (now() < end && publisher->state == C_OPEN) {
        double t = now();
        if (!measuring && t >= warm_end) {
            measuring = 1;
            d0 = echoes;
            published = 0;
        }
        if (t >= next) {
            char msg[256];
            int n = snprintf(msg, sizeof msg, "{\"event\":\"publish\",\"data\":{\"room\":\"%s\",\"text\":\"%llu\"}}",
                             opt.fanout_room, (unsigned long long)(next * 1e9));
            queue_frame(publisher, NWS_OP_TEXT, (const uint8_t *)msg, (size_t)n);
            flush(publisher);
            published++;
            next += interval;
        }
        double wait = next - now();
        poll_once(wait > 0 ? (int)(wait * 1000) : 0);
    }
    run_until(now() + 0.5, NULL);   /* the last deliveries arrive */
    double elapsed = opt.duration;
    uint64_t deliveries = echoes - d0;
    qsort(latencies, latency_count, sizeof *latencies, compare_u64);
    printf("%s{\"mode\":\"fanout\",\"subscribers\":%d,\"publishes\":%llu,\"deliveries\":%llu,"
           "\"deliveries_per_s\":%.1f,\"expected\":%llu,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
           "\"p999_ms\":%.3f,\"max_ms\":%.3f,",
           opt.json ? "" : "fanout ", opened, (unsigned long long)published, (unsigned long long)deliveries,
           (double)deliveries / elapsed, (unsigned long long)(published * (uint64_t)opened), percentile_ms(50),
           percentile_ms(90), percentile_ms(99), percentile_ms(99.9), percentile_ms(100));
    print_errors_json();
    printf("}\n");
    return 0;
}

static int run_idle(void) {
    long rss0 = opt.server_pid > 0 ? proc_rss_kib(opt.server_pid) : -1;
    double t0 = now();
    run_until(t0 + opt.connect_timeout, all_settled);
    double connect_s = now() - t0;
    int opened_all = opened;
    run_until(now() + opt.hold, NULL);
    long rss1 = opt.server_pid > 0 ? proc_rss_kib(opt.server_pid) : -1;
    double per_conn = (rss0 >= 0 && rss1 >= 0 && opened > 0)
                          ? (double)(rss1 - rss0) * 1024.0 / (double)opened : -1;
    if (opt.json) {
        printf("{\"mode\":\"idle\",\"connections\":%d,\"opened\":%d,\"open_after_hold\":%d,"
               "\"connect_seconds\":%.3f,\"hold_seconds\":%.1f,\"sources\":%d,"
               "\"rss_before_kib\":%ld,\"rss_after_kib\":%ld,\"rss_bytes_per_conn\":%.0f,",
               opt.idle, opened_all, opened, connect_s, opt.hold, opt.sources, rss0, rss1, per_conn);
        print_errors_json();
        printf("}\n");
    } else {
        printf("%d idle connections (%d open after %.1f s hold, connected in %.2f s, %d source addresses)",
               opt.idle, opened, opt.hold, connect_s, opt.sources);
        if (per_conn >= 0) {
            printf(", server RSS %ld -> %ld KiB, %.0f bytes per connection", rss0, rss1, per_conn);
        }
        printf(", ");
        print_errors_text();
        printf("\n");
    }
    return 0;
}

/* ---- setup -------------------------------------------------------------------------- */

static void usage(void) {
    fprintf(stderr,
            "usage: echo_load [--host H] [--port N] [--connections N] [--size BYTES] [--depth D]\n"
            "                 [--warmup SEC] [--duration SEC] [--binary] [--json] [--server-pid PID]\n"
            "                 [--gateway EVENT]   (gateway JSON protocol: each message asks for an ack)\n"
            "                 [--fanout ROOM --rate R]   (every connection joins ROOM through the gateway's\n"
            "                  \"join\" event; one publishes R times a second with \"publish\"; counts\n"
            "                  deliveries and their latency)\n"
            "                 [--connect-timeout SEC]\n"
            "       echo_load --idle N [--hold SEC] [--sources K] [--server-pid PID] [--host H] [--port N] [--json]\n");
    exit(2);
}

static void parse(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define TAKE (v ? (i++, v) : (usage(), ""))
        if (!strcmp(a, "--host")) opt.host = TAKE;
        else if (!strcmp(a, "--port")) opt.port = atoi(TAKE);
        else if (!strcmp(a, "--connections")) opt.connections = atoi(TAKE);
        else if (!strcmp(a, "--size")) opt.size = (size_t)strtoull(TAKE, NULL, 10);
        else if (!strcmp(a, "--depth")) opt.depth = atoi(TAKE);
        else if (!strcmp(a, "--warmup")) opt.warmup = atof(TAKE);
        else if (!strcmp(a, "--duration")) opt.duration = atof(TAKE);
        else if (!strcmp(a, "--hold")) opt.hold = atof(TAKE);
        else if (!strcmp(a, "--connect-timeout")) opt.connect_timeout = atof(TAKE);
        else if (!strcmp(a, "--idle")) opt.idle = atoi(TAKE);
        else if (!strcmp(a, "--sources")) opt.sources = atoi(TAKE);
        else if (!strcmp(a, "--server-pid")) opt.server_pid = atol(TAKE);
        else if (!strcmp(a, "--binary")) opt.binary = 1;
        else if (!strcmp(a, "--json")) opt.json = 1;
        else if (!strcmp(a, "--gateway")) opt.gateway_event = TAKE;
        else if (!strcmp(a, "--fanout")) opt.fanout_room = TAKE;
        else if (!strcmp(a, "--rate")) opt.rate = atof(TAKE);
        else usage();
#undef TAKE
    }
    if (opt.port <= 0 || opt.port > 65535 || opt.connections <= 0 || opt.depth <= 0 ||
        opt.warmup < 0 || opt.duration <= 0 || opt.hold < 0 || opt.idle < 0 || opt.sources < 0 ||
        opt.sources > 250) {
        usage();
    }
}

static void resolve(void) {
    dst.sin_family = AF_INET;
    dst.sin_port = htons((uint16_t)opt.port);
    if (inet_pton(AF_INET, opt.host, &dst.sin_addr) == 1) {
        return;
    }
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(opt.host, NULL, &hints, &res) != 0) {
        die("cannot resolve %s", opt.host);
    }
    dst.sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
}

static void raise_nofile(rlim_t want) {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur >= want) {
        return;
    }
    if (rl.rlim_max < want) {
        rl.rlim_max = want;   /* allowed as root; otherwise fall back to the hard limit */
    }
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < want) {
            fprintf(stderr, "echo_load: open-file limit is %llu, below the %llu needed\n",
                    (unsigned long long)rl.rlim_cur, (unsigned long long)want);
        }
    }
}

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "echo_load: time limit exceeded\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(3);
}

int main(int argc, char **argv) {
    parse(argc, argv);
    resolve();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    double budget = opt.connect_timeout + (opt.idle ? opt.hold : opt.warmup + opt.duration);
    alarm((unsigned)budget + 10);

    nconns = opt.idle ? opt.idle : opt.connections;
    if (opt.idle && opt.sources == 0) {
        /* About 28k ephemeral ports per source address; stay well under that. */
        opt.sources = nconns / 10000 + 1;
        if (opt.sources > 250) {
            opt.sources = 250;
        }
    }
    raise_nofile((rlim_t)nconns + 64);
    conns = calloc((size_t)nconns, sizeof *conns);
    /* Gateway mode wraps the text in an envelope asking for an ack; the gateway's answer
     * {"event":E,"data":{"text":T},"ack":1} has a length known in advance. */
    size_t extra = opt.gateway_event ? strlen(opt.gateway_event) + 64 : 0;
    payload = malloc(opt.size + extra + 1);
    if (conns == NULL || payload == NULL) {
        die("out of memory");
    }
    size_t at = 0;
    if (opt.gateway_event) at = (size_t)sprintf((char *)payload, "{\"event\":\"%s\",\"data\":{\"text\":\"", opt.gateway_event);
    for (size_t i = 0; i < opt.size; i++) {   /* printable ASCII: valid UTF-8 for text frames */
        payload[at + i] = (uint8_t)('a' + i % 26);
    }
    payload_len = at + opt.size;
    reply_len = opt.size;
    if (opt.gateway_event) {
        payload_len += (size_t)sprintf((char *)payload + payload_len, "\"},\"id\":1}");
        reply_len = payload_len + 1;   /* "ack":1 instead of "id":1 */
    }
    for (int i = 0; i < nconns; i++) {
        conns[i].fd = -1;
        conns[i].src = opt.sources ? (uint32_t)(i % opt.sources) : 0;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        die("epoll_create1: %s", strerror(errno));
    }
    connect_more();
    return opt.idle ? run_idle() : opt.fanout_room ? run_fanout() : run_echo();
}
