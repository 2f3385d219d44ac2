/*
 * loop_epoll.c — the portable backend: edge-triggered epoll, one read buffer per loop.
 *
 * Chosen when io_uring cannot be set up (old kernels, containers whose seccomp policy
 * forbids it) or forced with NAVIOS_WS_BACKEND=epoll. Reads go into the loop's single
 * buffer and are handled before the next read, so an idle connection holds no buffer, and
 * no state of this backend either (it leaves nws_conn.io unused).
 * Writes are vectored (writev over the send queue's slices) at the end of each iteration;
 * EPOLLOUT is only asked for while a queue could not be written out.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_BUF_SIZE (64u * 1024u)
#define MAX_EVENTS 256
#define MAX_IOV 64
/* epoll data for the two non-connection descriptors; connections use their id. */
#define TAG_LISTEN UINT64_MAX
#define TAG_INBOX (UINT64_MAX - 1)

typedef struct epoll_loop {
    int epfd;
    /* One read buffer for every connection of the loop, in the same allocation. */
    _Alignas(max_align_t) uint8_t read_buf[READ_BUF_SIZE];
} epoll_loop;

static epoll_loop *E(nws_loop *loop) { return loop->backend_data; }
static int epfd_of(nws_loop *loop) { return E(loop)->epfd; }

static void ep_destroy(nws_loop *loop);

static int ep_init(nws_loop *loop) {
    epoll_loop *e = malloc(sizeof *e);   /* not calloc: the read buffer needs no zeroing */
    if (e == NULL) return NWS_ENOMEM;
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (e->epfd < 0) {
        free(e);
        return NWS_ESYS;
    }
    loop->backend_data = e;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_INBOX};
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, loop->inbox.eventfd, &ev) != 0) {
        ep_destroy(loop);
        return NWS_ESYS;
    }
    return 0;
}

static void ep_destroy(nws_loop *loop) {
    epoll_loop *e = E(loop);
    if (e == NULL) return;
    close(e->epfd);
    free(e);
    loop->backend_data = NULL;
}

static int ep_start_accepting(nws_loop *loop) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};
    return epoll_ctl(epfd_of(loop), EPOLL_CTL_ADD, loop->listen_fd, &ev) == 0 ? 0 : NWS_ESYS;
}

static void ep_stop_accepting(nws_loop *loop) {
    if (loop->listen_fd < 0) return;
    epoll_ctl(epfd_of(loop), EPOLL_CTL_DEL, loop->listen_fd, NULL);
    close(loop->listen_fd);
    loop->listen_fd = -1;
}

static uint64_t conn_tag(nws_loop *loop, nws_conn *c) { return nws__make_id((unsigned)loop->index, c->slot, c->gen); }

static int ep_conn_added(nws_loop *loop, nws_conn *c) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = conn_tag(loop, c)};
    return epoll_ctl(epfd_of(loop), EPOLL_CTL_ADD, c->fd, &ev) == 0 ? 0 : NWS_ESYS;
}

/* Writes as much of the queue as the socket takes. Edge-triggered EPOLLOUT is always armed,
 * so a queue left over is resumed when the socket drains, with no epoll_ctl per write. */
static void ep_flush(nws_loop *loop, nws_conn *c) {
    struct iovec iov[MAX_IOV];
    if (c->tls != NULL) nws__tls_seal(loop, c);
    while (c->queued > 0 && !c->dead) {
        int n = nws__sendq_iov(c, iov, MAX_IOV);
        ssize_t w = writev(c->fd, iov, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return;
            nws__conn_abort(loop, c, NWS_CLOSE_ABNORMAL);
            return;
        }
        nws__sendq_consume(loop, c, (size_t)w);
    }
    if (c->queued == 0) nws__conn_sent_all(loop, c);
}

static void ep_shutdown_write(nws_loop *loop, nws_conn *c) {
    (void)loop;
    shutdown(c->fd, SHUT_WR);
}

static void ep_teardown(nws_loop *loop, nws_conn *c) {
    if (c->fd >= 0) epoll_ctl(epfd_of(loop), EPOLL_CTL_DEL, c->fd, NULL);
    nws__conn_release_fd(loop, c);   /* closed, or handed to another loop (handoff.c) */
    nws__loop_bury(loop, c);
}

static void accept_all(nws_loop *loop) {
    for (;;) {
        int fd = accept4(loop->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;   /* EAGAIN, or a transient error (EMFILE...) retried on the next edge */
        if (nws__conn_accepted(loop, fd) == NULL) close(fd);
    }
}

static void read_all(nws_loop *loop, nws_conn *c) {
    uint8_t *buf = E(loop)->read_buf;
    for (;;) {
        ssize_t r = recv(c->fd, buf, READ_BUF_SIZE, 0);
        if (r > 0) {
            nws__conn_on_data(loop, c, buf, (size_t)r);
            if (c->dead) return;
            if ((size_t)r < READ_BUF_SIZE) return;   /* a short read drained the socket */
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno == EAGAIN) return;
        nws__conn_on_eof(loop, c);
        return;
    }
}

static void ep_run(nws_loop *loop) {
    struct epoll_event events[MAX_EVENTS];
    while (!nws__loop_should_exit(loop)) {
        int n = epoll_wait(epfd_of(loop), events, MAX_EVENTS, nws__loop_wait_ms(loop));
        nws__loop_woke(loop);
        for (int i = 0; i < n; i++) {
            uint64_t tag = events[i].data.u64;
            if (tag == TAG_LISTEN) {
                if (!loop->stopping) accept_all(loop);
                continue;
            }
            if (tag == TAG_INBOX) {   /* drained by the tick below */
                loop->inbox_signalled = 1;
                continue;
            }
            nws_conn *c = nws__loop_conn(loop, tag);
            if (c == NULL) continue;
            if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) read_all(loop, c);
            if (!c->dead && (events[i].events & EPOLLOUT) && c->queued > 0) ep_flush(loop, c);
        }
        nws__loop_tick(loop);
    }
}

const nws__backend nws__backend_epoll = {
    .name = "epoll",
    .init = ep_init,
    .destroy = ep_destroy,
    .start_accepting = ep_start_accepting,
    .stop_accepting = ep_stop_accepting,
    .conn_added = ep_conn_added,
    .flush = ep_flush,
    .shutdown_write = ep_shutdown_write,
    .teardown = ep_teardown,
    .run = ep_run,
};
