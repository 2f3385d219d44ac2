/*
 * server.c — creating, starting and stopping a server: config defaults, the backend choice,
 * one SO_REUSEPORT listening socket and one thread per loop, counters.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <openssl/rand.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#define LISTEN_BACKLOG 4096                          /* connect storms queue here, not in SYN retries */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void apply_defaults(nws_server_config *k) {
    if (k->loops <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        k->loops = n > 0 ? (int)n : 1;
    }
    if (k->loops > 255) k->loops = 255;                    /* 8 bits of the connection id */
    if (k->max_message == 0) k->max_message = NWS_DEFAULT_MAX_MESSAGE;
    if (k->max_message > NWS_DECODER_LIMIT_MAX) k->max_message = NWS_DECODER_LIMIT_MAX;   /* kept in 32 bits */
    if (k->max_frame == 0 || k->max_frame > k->max_message) k->max_frame = k->max_message;
    if (k->handshake_timeout_ms == 0) k->handshake_timeout_ms = NWS_DEFAULT_HANDSHAKE_TIMEOUT_MS;
    if (k->pong_timeout_ms == 0) k->pong_timeout_ms = NWS_DEFAULT_PONG_TIMEOUT_MS;
    if (k->close_timeout_ms == 0) k->close_timeout_ms = NWS_DEFAULT_CLOSE_TIMEOUT_MS;
    if (k->max_backlog == 0) k->max_backlog = NWS_DEFAULT_MAX_BACKLOG;
    if (k->http.max_head_bytes == 0) k->http.max_head_bytes = NWS_DEFAULT_MAX_HEAD_BYTES;
    if (k->http.max_request_line == 0) k->http.max_request_line = 4096;
    if (k->http.max_headers == 0 || k->http.max_headers > NWS_HTTP_MAX_HEADERS) k->http.max_headers = NWS_HTTP_MAX_HEADERS;
    if (k->eio.ping_interval_ms == 0) k->eio.ping_interval_ms = NWS_DEFAULT_EIO_PING_INTERVAL_MS;
    if (k->eio.ping_timeout_ms == 0) k->eio.ping_timeout_ms = NWS_DEFAULT_EIO_PING_TIMEOUT_MS;
    if (k->eio.max_payload == 0) k->eio.max_payload = NWS_DEFAULT_EIO_MAX_PAYLOAD;
    if (k->eio.max_payload > UINT32_MAX / 2) k->eio.max_payload = UINT32_MAX / 2;   /* request buffers count in 32 bits */
    nws_deflate_config *z = &k->deflate;
    if (z->threshold == 0) z->threshold = NWS_DEFAULT_DEFLATE_THRESHOLD;
    if (z->level == 0) z->level = NWS_DEFAULT_DEFLATE_LEVEL;
    if (z->window_bits == 0) z->window_bits = NWS_DEFAULT_DEFLATE_WINDOW_BITS;
    if (z->mem_level == 0) z->mem_level = NWS_DEFAULT_DEFLATE_MEM_LEVEL;
    if (z->client_window_bits == 0) z->client_window_bits = NWS_DEFAULT_DEFLATE_WINDOW_BITS;
}

/* permessage-deflate's settings within what zlib and RFC 7692 take. */
static int deflate_config_valid(const nws_deflate_config *z) {
    if (z->mode < NWS_DEFLATE_OFF || z->mode > NWS_DEFLATE_DEDICATED) return 0;
    if (z->level < 0 || z->level > 9 || z->mem_level > 9) return 0;
    if (z->window_bits != 0 && (z->window_bits < 8 || z->window_bits > 15)) return 0;
    return z->client_window_bits == 0 || (z->client_window_bits >= 8 && z->client_window_bits <= 15);
}

/* Pages are copied path, type and body into one block each, so the caller's may go. */
static int copy_pages(nws_server *s, const nws_server_config *config) {
    s->config.pages = NULL;
    s->config.page_count = 0;
    if (config->page_count == 0) return 0;
    s->page_copies = calloc(config->page_count, sizeof *s->page_copies);
    if (s->page_copies == NULL) return NWS_ENOMEM;
    for (size_t i = 0; i < config->page_count; i++) {
        const nws_page *p = &config->pages[i];
        size_t path_len = strlen(p->path) + 1, type_len = strlen(p->content_type) + 1;
        char *block = malloc(path_len + type_len + p->body_len + 1);
        if (block == NULL) return NWS_ENOMEM;
        memcpy(block, p->path, path_len);
        memcpy(block + path_len, p->content_type, type_len);
        if (p->body_len) memcpy(block + path_len + type_len, p->body, p->body_len);
        s->page_copies[i] = (nws_page){block, block + path_len, block + path_len + type_len, p->body_len};
        s->config.page_count = i + 1;
    }
    s->config.pages = s->page_copies;
    return 0;
}

int nws_server_create(const nws_server_config *config, const nws_server_callbacks *callbacks, nws_server **out) {
    *out = NULL;
    if (config == NULL || callbacks == NULL) return NWS_EINVAL;
    if (config->backend < NWS_BACKEND_AUTO || config->backend > NWS_BACKEND_EPOLL) return NWS_EINVAL;
    if (!deflate_config_valid(&config->deflate)) return NWS_EINVAL;
    nws_server *s = calloc(1, sizeof *s);
    if (s == NULL) return NWS_ENOMEM;
    pthread_mutex_init(&s->rooms_lock, NULL);
    s->config = *config;
    s->cb = *callbacks;
    s->host_copy = dup_or_null(config->host ? config->host : "0.0.0.0");
    s->health_copy = dup_or_null(config->health_path);
    s->ready_copy = dup_or_null(config->ready_path);
    s->eio_path_copy = dup_or_null(config->eio.path);
    s->config.host = s->host_copy;
    s->config.health_path = s->health_copy;
    s->config.ready_path = s->ready_copy;
    s->config.eio.path = s->eio_path_copy;
    if (RAND_bytes(s->eio_secret, sizeof s->eio_secret) != 1) {
        nws_server_destroy(s);
        return NWS_ESYS;
    }
    if (copy_pages(s, config) != 0) {
        nws_server_destroy(s);
        return NWS_ENOMEM;
    }
    apply_defaults(&s->config);
    s->loop_count = s->config.loops;
    s->loops = calloc((size_t)s->loop_count, sizeof *s->loops);
    if (s->loops == NULL || s->host_copy == NULL) {
        nws_server_destroy(s);
        return NWS_ENOMEM;
    }
    for (int i = 0; i < s->loop_count; i++) {
        s->loops[i].server = s;
        s->loops[i].index = i;
        s->loops[i].listen_fd = -1;
        s->loops[i].inbox.eventfd = -1;
    }
    /* The certificates load now, once: the caller's strings need not outlive this call. */
    int rc = nws__tls_server_init(s);
    s->config.tls = (nws_tls_config){0};
    for (int i = 0; rc == 0 && s->tls_contexts != NULL && i < s->loop_count; i++) {
        s->loops[i].tls_plain = malloc(NWS__TLS_RUN);
        if (s->loops[i].tls_plain == NULL) rc = NWS_ENOMEM;
    }
    if (rc != 0) {
        nws_server_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

static int choose_backend(const nws_server *s) {
    const char *env = getenv("NAVIOS_WS_BACKEND");
    if (s->config.backend == NWS_BACKEND_AUTO && env != NULL) {
        if (strcmp(env, "epoll") == 0) return NWS_BACKEND_EPOLL;
        if (strcmp(env, "io_uring") == 0 || strcmp(env, "uring") == 0) return NWS_BACKEND_IO_URING;
    }
    return s->config.backend;
}

/* What a loop's start sets up, made and undone at once; on a thread of its own, since the
 * kernel finishes tearing a ring down with work queued on the thread that made it, and that
 * can interrupt the next blocking call of the caller's thread (EINTR). */
static void *probe_uring(void *result) {
    nws_loop scratch = {0};
    *(int *)result = nws__backend_uring.init(&scratch) == 0;
    if (*(int *)result) nws__backend_uring.destroy(&scratch);
    return NULL;
}

int nws_backend_available(int backend) {
    if (backend == NWS_BACKEND_EPOLL || backend == NWS_BACKEND_AUTO) return 1;
    if (backend != NWS_BACKEND_IO_URING) return 0;
    int available = 0;
    pthread_t thread;
    if (pthread_create(&thread, NULL, probe_uring, &available) != 0) return 0;
    pthread_join(thread, NULL);
    return available;
}

static int open_listener(nws_server *s, uint16_t port, int *fd_out, uint16_t *bound_port) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    if (getaddrinfo(s->config.host, service, &hints, &res) != 0 || res == NULL) return NWS_EINVAL;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    int ok = fd >= 0 &&
             setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
             setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0 &&
             /* Accepted sockets inherit it: a frame queued while an earlier one is unacknowledged
              * (a close frame, then TLS's close_notify; a reply behind a reply) leaves at once,
              * not after the peer's delayed ACK. Every frame is already corked per iteration. */
             setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0 &&
             bind(fd, res->ai_addr, res->ai_addrlen) == 0 &&
             listen(fd, LISTEN_BACKLOG) == 0;
    freeaddrinfo(res);
    if (!ok) {
        int saved = errno;
        if (fd >= 0) close(fd);
        errno = saved;
        return NWS_ESYS;
    }
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &len);
    *bound_port = ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
                                                   : ((struct sockaddr_in *)&addr)->sin_port);
    *fd_out = fd;
    return 0;
}

static void *loop_main(void *arg) {
    nws_loop *loop = arg;
    nws_server *s = loop->server;
    nws__current_loop = loop;
    if (s->cb.on_loop) s->cb.on_loop(s->cb.ctx, loop->index, 1);
    loop->backend->run(loop);
    if (s->cb.on_loop) s->cb.on_loop(s->cb.ctx, loop->index, 0);
    nws__current_loop = NULL;
    if (atomic_fetch_sub(&s->running_loops, 1) == 1 && s->cb.on_stopped) s->cb.on_stopped(s->cb.ctx);
    return NULL;
}

static int init_loop(nws_server *s, nws_loop *loop, const nws__backend *backend) {
    loop->backend = backend;
    nws__loop_woke(loop);
    loop->tick_end_ms = loop->now_ms;
    nws__wheel_init(&loop->wheel, loop->now_ms);
    int rc = loop->inbox.eventfd >= 0 ? 0 : nws__inbox_init(&loop->inbox);
    if (rc != 0) return rc;
    rc = backend->init(loop);
    if (rc != 0) loop->backend = NULL;
    (void)s;
    return rc;
}

int nws_server_start(nws_server *s) {
    int backend = choose_backend(s);
    const nws__backend *impl = backend == NWS_BACKEND_EPOLL ? &nws__backend_epoll : &nws__backend_uring;
    /* "auto" means io_uring unless the kernel (or a container's seccomp policy) refuses it. */
    int rc = init_loop(s, &s->loops[0], impl);
    if (rc != 0 && backend == NWS_BACKEND_AUTO) {
        impl = &nws__backend_epoll;
        rc = init_loop(s, &s->loops[0], impl);
    }
    if (rc != 0) return rc;
    s->backend = impl == &nws__backend_epoll ? NWS_BACKEND_EPOLL : NWS_BACKEND_IO_URING;
    for (int i = 1; i < s->loop_count && rc == 0; i++) rc = init_loop(s, &s->loops[i], impl);
    uint16_t port = s->config.port;
    for (int i = 0; i < s->loop_count && rc == 0; i++) {
        rc = open_listener(s, port, &s->loops[i].listen_fd, &port);
        if (rc == 0) rc = s->loops[i].backend->start_accepting(&s->loops[i]);
    }
    if (rc != 0) return rc;
    s->port = port;
    atomic_store(&s->running_loops, s->loop_count);
    for (int i = 0; i < s->loop_count; i++) {
        if (pthread_create(&s->loops[i].thread, NULL, loop_main, &s->loops[i]) != 0) {
            /* The loops already running are stopped by the shutdown below. */
            atomic_fetch_sub(&s->running_loops, s->loop_count - i);
            for (int j = i; j < s->loop_count; j++) s->loops[j].thread = 0;
            nws_server_shutdown(s, 0);
            return NWS_ESYS;
        }
    }
    return 0;
}

uint16_t nws_server_port(const nws_server *s) { return s->port; }
int nws_server_backend(const nws_server *s) { return s->backend; }
int nws_server_loop_count(const nws_server *s) { return s->loop_count; }

void nws_server_shutdown(nws_server *s, uint32_t drain_ms) {
    if (atomic_exchange(&s->shutting_down, 1)) return;
    s->drain_ms = drain_ms;
    for (int i = 0; i < s->loop_count; i++) {
        if (!s->loops[i].thread) continue;
        void *task = nws__task_new(0, nws__loop_begin_shutdown);
        if (task != NULL) nws__task_post(&s->loops[i], task);
    }
}

void nws_server_set_ready(nws_server *s, int ready) { atomic_store(&s->not_ready, !ready); }

int nws_server_ready(const nws_server *s) {
    return !atomic_load(&s->draining) && !atomic_load(&s->not_ready);
}

void nws_server_drain(nws_server *s, uint32_t retry_after_s) {
    atomic_store(&s->retry_after_s, retry_after_s);
    atomic_store(&s->draining, 1);
}

int nws_server_draining(const nws_server *s) { return atomic_load(&s->draining); }

void nws_server_wait(nws_server *s) {
    for (int i = 0; i < s->loop_count; i++) {
        if (s->loops[i].thread) {
            pthread_join(s->loops[i].thread, NULL);
            s->loops[i].thread = 0;
        }
    }
    /* From now on posts are refused; one already past its check finishes its push first. */
    atomic_store(&s->stopped, 1);
    for (int i = 0; i < s->loop_count; i++) {
        while (atomic_load(&s->loops[i].posting) > 0) sched_yield();
    }
}

void nws_server_run_leftovers(nws_server *s) {
    for (int i = 0; i < s->loop_count; i++) {
        nws_loop *loop = &s->loops[i];
        if (loop->inbox.eventfd < 0) continue;   /* never started: nothing was queued */
        nws_loop *outer = nws__current_loop;
        nws__current_loop = loop;   /* the tasks act as on their loop, which is gone */
        nws__inbox_run(loop);
        nws__current_loop = outer;
    }
}

void nws_server_destroy(nws_server *s) {
    if (s == NULL) return;
    atomic_store(&s->stopped, 1);
    nws_server_run_leftovers(s);   /* what was posted after the loops stopped releases what it holds */
    for (int i = 0; s->loops && i < s->loop_count; i++) {
        nws_loop *loop = &s->loops[i];
        if (loop->backend) loop->backend->destroy(loop);
        if (loop->listen_fd >= 0) close(loop->listen_fd);
        nws__inbox_destroy(&loop->inbox);
        for (uint32_t j = 0; j < loop->slot_cap; j++) {
            if (loop->slots[j]) nws__conn_free(loop, loop->slots[j]);
        }
        nws__rooms_free(loop);   /* empty by now: every connection left its rooms */
        nws__deflate_loop_free(loop);
        free(loop->tls_plain);
        free(loop->fanout_overflow);
        nws__message_spares_free(loop);
        nws__loop_pools_free(loop);
        free(loop->slots);
        free(loop->generations);
        free(loop->free_slots);
    }
    free(s->loops);
    nws__tls_server_free(s);
    nws__registry_free(s);
    pthread_mutex_destroy(&s->rooms_lock);
    for (size_t i = 0; i < s->config.page_count; i++) free((char *)s->page_copies[i].path);
    free(s->page_copies);
    free(s->host_copy);
    free(s->health_copy);
    free(s->ready_copy);
    free(s->eio_path_copy);
    free(s);
}

int nws_server_loop_stats(const nws_server *s, int index, nws_loop_stats *out) {
    if (index < 0 || index >= s->loop_count) return NWS_EINVAL;
    nws_loop *loop = &s->loops[index];
    out->iterations = atomic_load_explicit(&loop->stats.iterations, memory_order_relaxed);
    out->busy_ns = atomic_load_explicit(&loop->stats.busy_ns, memory_order_relaxed);
    int depth = atomic_load_explicit(&loop->inbox.depth, memory_order_relaxed);
    out->inbox_depth = depth > 0 ? (uint64_t)depth : 0;
    out->connections_open = atomic_load_explicit(&loop->stats.open, memory_order_relaxed);
    return 0;
}

void nws_server_stats_get(const nws_server *s, nws_server_stats *out) {
    memset(out, 0, sizeof *out);
    for (int i = 0; i < s->loop_count; i++) {
        const nws__loop_stats *st = &s->loops[i].stats;
#define SUM(field, src) out->field += atomic_load_explicit(&st->src, memory_order_relaxed)
        SUM(connections_open, open);
        SUM(connections_accepted, accepted);
        SUM(upgrades_refused, refused);
        SUM(handshake_timeouts, handshake_timeouts);
        SUM(messages_in, messages_in);
        SUM(messages_out, messages_out);
        SUM(bytes_in, bytes_in);
        SUM(bytes_out, bytes_out);
        SUM(protocol_errors, protocol_errors);
        SUM(heartbeat_timeouts, heartbeat_timeouts);
        SUM(idle_timeouts, idle_timeouts);
        SUM(dropped_messages, dropped);
        SUM(backpressure_closes, backpressure_closes);
        SUM(queued_bytes, queued);
        SUM(deliveries, deliveries);
        SUM(eio_messages_in, eio_messages_in);
        SUM(eio_messages_out, eio_messages_out);
        SUM(eio_bytes_in, eio_bytes_in);
        SUM(eio_bytes_out, eio_bytes_out);
#undef SUM
    }
}
