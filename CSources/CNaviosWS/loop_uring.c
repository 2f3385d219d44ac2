/*
 * loop_uring.c — the native backend: one io_uring per loop thread.
 *
 * - Multishot accept on the loop's own SO_REUSEPORT listener.
 * - Multishot recv into a provided-buffer ring shared by every connection of the loop: the
 *   kernel picks a buffer only when data arrives, so an idle connection holds none. Each
 *   buffer goes back to the ring as soon as its bytes are handled (the frame decoder keeps
 *   what it needs of a partial frame). The ring takes more buffers only when reads find it
 *   empty, and a second after the last read their pages go back to the kernel, so a loop of
 *   idle connections keeps no receive memory resident.
 * - One send in flight per connection (a plain send when the queue is one slice, else sendmsg
 *   over its slices), submitted at the end of an iteration, so the replies to a whole batch of
 *   completions leave together.
 * - The ring is created SINGLE_ISSUER | DEFER_TASKRUN (completion work runs when the loop
 *   asks for events, not as interrupts of its work), disabled until the loop thread enables
 *   it, with a plain ring as the fallback on kernels that lack those flags.
 *
 * user_data layout: [generation:32][slot:24][unused:5][kind:3], or for a vectored send the
 * address of its send_op with the kind in the low bits: the op names its connection, so a
 * connection keeps no pointer to its send in flight. A completion whose generation is not the
 * slot's current one belongs to a connection already gone and is only accounted for.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RING_ENTRIES 4096u
#define CQ_ENTRIES 16384u
#define BUF_GROUP 0
/* Up to 128 x 32 KiB = 4 MiB per loop: room for a 16 KiB message in one read. The ring
 * cycles through every buffer it holds, touching each, so it starts with BUF_FIRST and doubles
 * only when a recv found none (after_reads): a quiet loop cycles through 16 buffers, and a
 * busy one reaches the full ring within a few passes. */
#define BUF_COUNT 128u                /* power of two: the ring's entries */
#define BUF_FIRST 16u
#define BUF_SIZE (32u * 1024u)
/* A second after the last read, the buffers' pages go back to the kernel (release_buffers):
 * a burst of reads leaves no resident memory behind once the loop's connections are idle. */
#define BUF_RELEASE_MS 1000u
#define MAX_IOV 16
#define SEND_POOL_MAX 64u

enum op_kind { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_SENDMSG, OP_CANCEL, OP_INBOX };
#define KIND_MASK 7u

/* A vectored send's msghdr and iovecs, which must outlive the send. */
typedef struct send_op {
    struct send_op *next_free;
    uint32_t slot, gen;               /* the connection it sends for */
    struct msghdr msg;
    struct iovec iov[MAX_IOV];
} send_op;
/* Ops come from malloc: their low address bits are free for the kind. */
_Static_assert(_Alignof(max_align_t) > KIND_MASK, "a send_op's address must leave the kind's bits free");

/* A connection's state here, kept in its nws_conn.io bytes. */
typedef struct uring_conn {
    uint8_t sending;                  /* a send is in flight (SEND_PLAIN or SEND_VECTORED): the next waits */
    uint8_t inflight;                 /* operations still owning the connection (its recv, its send) */
} uring_conn;
enum { SEND_PLAIN = 1, SEND_VECTORED = 2 };
_Static_assert(sizeof(uring_conn) <= NWS__CONN_IO_BYTES, "uring_conn must fit nws_conn.io");
_Static_assert(_Alignof(uring_conn) == 1, "nws_conn.io is bytes: uring_conn may hold only bytes");

typedef struct uring_loop {
    struct io_uring ring;
    int disabled;                     /* created R_DISABLED: enable on the loop thread */
    struct io_uring_buf_ring *br;
    size_t br_bytes;
    uint8_t *bufs;
    uint32_t bufs_live;               /* buffers given to the ring so far: the first bufs_live */
    uint32_t bufs_used;               /* in this pass of completions */
    uint8_t bufs_short;               /* a recv of this pass found no buffer (-ENOBUFS) */
    uint8_t bufs_resident;            /* read into since the last release_buffers */
    uint64_t bufs_release_ms;         /* when to release them: BUF_RELEASE_MS after the last read */
    send_op *send_pool;
    uint32_t send_pool_count;
    int accepting;
} uring_loop;

static uring_loop *U(nws_loop *loop) { return loop->backend_data; }
static uring_conn *UC(nws_conn *c) { return (uring_conn *)(void *)c->io; }

static uint64_t tag(enum op_kind kind, uint32_t slot, uint32_t gen) {
    return ((uint64_t)gen << 32) | ((uint64_t)slot << 8) | kind;
}
static uint64_t op_tag(send_op *op) { return (uint64_t)(uintptr_t)op | OP_SENDMSG; }
static enum op_kind tag_kind(uint64_t t) { return (enum op_kind)(t & KIND_MASK); }
static uint32_t tag_slot(uint64_t t) { return (uint32_t)(t >> 8) & (NWS__MAX_SLOTS - 1); }
static uint32_t tag_gen(uint64_t t) { return (uint32_t)(t >> 32); }
static send_op *tag_op(uint64_t t) { return (send_op *)(uintptr_t)(t & ~(uint64_t)KIND_MASK); }

/* An SQE, submitting what is queued when the submission ring is full. */
static struct io_uring_sqe *get_sqe(nws_loop *loop) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&U(loop)->ring);
    while (sqe == NULL) {
        io_uring_submit(&U(loop)->ring);
        sqe = io_uring_get_sqe(&U(loop)->ring);
    }
    return sqe;
}

/* Buffers first .. first + count - 1 join the ring. */
static void give_buffers(uring_loop *u, uint32_t first, uint32_t count) {
    int mask = io_uring_buf_ring_mask(BUF_COUNT);
    for (uint32_t i = 0; i < count; i++)
        io_uring_buf_ring_add(u->br, u->bufs + (size_t)(first + i) * BUF_SIZE, BUF_SIZE, (unsigned short)(first + i), mask, (int)i);
    io_uring_buf_ring_advance(u->br, (int)count);
}

/* The provided-buffer ring: registered at init (a disabled ring accepts registrations). */
static int setup_buffers(nws_loop *loop) {
    uring_loop *u = U(loop);
    u->br_bytes = BUF_COUNT * sizeof(struct io_uring_buf);
    u->br = mmap(NULL, u->br_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (u->br == MAP_FAILED) {
        u->br = NULL;
        return NWS_ESYS;
    }
    /* Mapped, not malloc'd: release_buffers needs page-aligned buffers. */
    u->bufs = mmap(NULL, (size_t)BUF_COUNT * BUF_SIZE, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (u->bufs == MAP_FAILED) {
        u->bufs = NULL;
        return NWS_ENOMEM;
    }
    struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)u->br, .ring_entries = BUF_COUNT, .bgid = BUF_GROUP};
    if (io_uring_register_buf_ring(&u->ring, &reg, 0) != 0) return NWS_EURING;
    io_uring_buf_ring_init(u->br);
    u->bufs_live = BUF_FIRST;
    give_buffers(u, 0, BUF_FIRST);
    return 0;
}

/* After a pass of completions: a ring that ran out gets twice the buffers, and the pages of
 * buffers read into are due for release. */
static void after_reads(uring_loop *u, uint64_t now_ms) {
    if (u->bufs_short && u->bufs_live < BUF_COUNT) {
        uint32_t more = u->bufs_live;
        give_buffers(u, u->bufs_live, more);
        u->bufs_live += more;
    }
    if (u->bufs_used) {
        u->bufs_resident = 1;
        u->bufs_release_ms = now_ms + BUF_RELEASE_MS;
    }
    u->bufs_used = 0;
    u->bufs_short = 0;
}

/* Gives the pages of every buffer back to the kernel; a later read faults in fresh ones. No
 * buffer is ours between passes (on_recv hands each back at once), and the kernel fills them
 * only on this thread, inside io_uring_enter (recv is armed by poll, run as task work here),
 * so none is being written while its pages go. */
static void release_buffers(uring_loop *u) {
    madvise(u->bufs, (size_t)u->bufs_live * BUF_SIZE, MADV_DONTNEED);
    u->bufs_resident = 0;
}

/* The wait, shortened to the buffers' release when it is due sooner. */
static int wait_ms(nws_loop *loop, uring_loop *u) {
    int wait = nws__loop_wait_ms(loop);
    if (!u->bufs_resident) return wait;
    uint64_t now = loop->tick_end_ms;
    int release = u->bufs_release_ms > now ? (int)(u->bufs_release_ms - now) : 0;
    return wait < 0 || release < wait ? release : wait;
}

/* liburing 2.3 declares io_uring_enable_rings but does not export it: the raw call. */
static int enable_ring(struct io_uring *ring) {
    return (int)syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
}

static void recycle_buffer(uring_loop *u, unsigned bid) {
    io_uring_buf_ring_add(u->br, u->bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, (unsigned short)bid,
                          io_uring_buf_ring_mask(BUF_COUNT), 0);
    io_uring_buf_ring_advance(u->br, 1);
}

static void ur_destroy(nws_loop *loop);

static int ur_init(nws_loop *loop) {
    uring_loop *u = calloc(1, sizeof *u);
    if (u == NULL) return NWS_ENOMEM;
    struct io_uring_params p = {0};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED |
              IORING_SETUP_CQSIZE;
    p.cq_entries = CQ_ENTRIES;
    int rc = io_uring_queue_init_params(RING_ENTRIES, &u->ring, &p);
    if (rc == 0) {
        u->disabled = 1;
    } else {
        memset(&p, 0, sizeof p);
        p.flags = IORING_SETUP_CQSIZE;
        p.cq_entries = CQ_ENTRIES;
        rc = io_uring_queue_init_params(RING_ENTRIES, &u->ring, &p);
    }
    if (rc != 0) {
        free(u);
        return NWS_EURING;
    }
    loop->backend_data = u;
    /* Everything that can fail is done here, on the thread that starts the server, so a
     * failure is reported by nws_server_start (and "auto" can still fall back to epoll). */
    rc = setup_buffers(loop);
    if (rc != 0) {
        ur_destroy(loop);
        return rc;
    }
    return 0;
}

static void ur_destroy(nws_loop *loop) {
    uring_loop *u = U(loop);
    if (u == NULL) return;
    io_uring_queue_exit(&u->ring);
    if (u->br) munmap(u->br, u->br_bytes);
    if (u->bufs) munmap(u->bufs, (size_t)BUF_COUNT * BUF_SIZE);
    while (u->send_pool) {
        send_op *op = u->send_pool;
        u->send_pool = op->next_free;
        free(op);
    }
    free(u);
    loop->backend_data = NULL;
}

static void arm_accept(nws_loop *loop) {
    struct io_uring_sqe *sqe = get_sqe(loop);
    io_uring_prep_multishot_accept(sqe, loop->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, tag(OP_ACCEPT, 0, 0));
}

static int ur_start_accepting(nws_loop *loop) {
    U(loop)->accepting = 1;
    arm_accept(loop);
    return 0;
}

static void ur_stop_accepting(nws_loop *loop) {
    uring_loop *u = U(loop);
    if (!u->accepting) return;
    u->accepting = 0;
    struct io_uring_sqe *sqe = get_sqe(loop);
    io_uring_prep_cancel64(sqe, tag(OP_ACCEPT, 0, 0), 0);
    io_uring_sqe_set_data64(sqe, tag(OP_CANCEL, 0, 0));
    /* The pending accept holds its own reference to the socket: closing now makes the
     * kernel refuse new connections at once instead of queueing them until exit. The
     * shutdown stops the listening even while the accept still holds the socket (with
     * DEFER_TASKRUN its cancellation completes only when the loop waits again). */
    shutdown(loop->listen_fd, SHUT_RDWR);
    close(loop->listen_fd);
    loop->listen_fd = -1;
}

static void arm_recv(nws_loop *loop, nws_conn *c) {
    struct io_uring_sqe *sqe = get_sqe(loop);
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUF_GROUP;
    io_uring_sqe_set_data64(sqe, tag(OP_RECV, c->slot, c->gen));
    UC(c)->inflight++;
}

static void arm_inbox(nws_loop *loop) {
    struct io_uring_sqe *sqe = get_sqe(loop);
    io_uring_prep_poll_multishot(sqe, loop->inbox.eventfd, POLLIN);
    io_uring_sqe_set_data64(sqe, tag(OP_INBOX, 0, 0));
}

static int ur_conn_added(nws_loop *loop, nws_conn *c) {
    arm_recv(loop, c);
    return 0;
}

static send_op *op_new(uring_loop *u) {
    send_op *op = u->send_pool;
    if (op == NULL) return malloc(sizeof *op);
    u->send_pool = op->next_free;
    u->send_pool_count--;
    return op;
}

static void op_free(uring_loop *u, send_op *op) {
    if (u->send_pool_count >= SEND_POOL_MAX) {
        free(op);
        return;
    }
    op->next_free = u->send_pool;
    u->send_pool = op;
    u->send_pool_count++;
}

/* A vectored send of up to MAX_IOV slices of the queue; its op names the connection. */
static int prep_sendmsg(nws_loop *loop, nws_conn *c) {
    send_op *op = op_new(U(loop));
    if (op == NULL) return NWS_ENOMEM;
    op->slot = c->slot;
    op->gen = c->gen;
    memset(&op->msg, 0, sizeof op->msg);
    op->msg.msg_iov = op->iov;
    op->msg.msg_iovlen = (size_t)nws__sendq_iov(c, op->iov, MAX_IOV);
    struct io_uring_sqe *sqe = get_sqe(loop);
    io_uring_prep_sendmsg(sqe, c->fd, &op->msg, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, op_tag(op));
    return 0;
}

/* Submits the connection's one send in flight, over what is queued. */
static void start_send(nws_loop *loop, nws_conn *c) {
    struct iovec one;
    uint8_t kind = SEND_PLAIN;
    if (nws__sendq_single(c, &one)) {
        /* One slice (the usual cork buffer): a plain send, no msghdr to keep alive. */
        struct io_uring_sqe *sqe = get_sqe(loop);
        io_uring_prep_send(sqe, c->fd, one.iov_base, one.iov_len, MSG_NOSIGNAL);
        io_uring_sqe_set_data64(sqe, tag(OP_SEND, c->slot, c->gen));
    } else if (prep_sendmsg(loop, c) != 0) {
        nws__conn_abort(loop, c, NWS_CLOSE_INTERNAL_ERROR);
        return;
    } else {
        kind = SEND_VECTORED;
    }
    UC(c)->sending = kind;
    UC(c)->inflight++;
}

/* What is queued leaves in one send, or the connection learns that its queue is empty. */
static void send_queued(nws_loop *loop, nws_conn *c) {
    if (c->tls != NULL) nws__tls_seal(loop, c);
    if (c->dead) return;
    if (c->queued == 0) nws__conn_sent_all(loop, c);
    else start_send(loop, c);
}

static void ur_flush(nws_loop *loop, nws_conn *c) {
    if (UC(c)->sending || c->dead) return;   /* one send in flight at a time */
    send_queued(loop, c);
}

static void ur_submit(nws_loop *loop) { io_uring_submit(&U(loop)->ring); }

static int ur_sending(const nws_conn *c) { return ((const uring_conn *)(const void *)c->io)->sending != 0; }

static void ur_shutdown_write(nws_loop *loop, nws_conn *c) {
    (void)loop;
    shutdown(c->fd, SHUT_WR);
}

/* Closes and buries a torn-down connection once no operation refers to it; fd < 0 marks
 * one already buried (several completion paths may ask). */
static void release_if_idle(nws_loop *loop, nws_conn *c) {
    if (!c->dead || UC(c)->inflight > 0 || c->fd < 0) return;
    nws__conn_release_fd(loop, c);   /* closed, or handed to another loop (handoff.c) */
    nws__loop_bury(loop, c);
}

static void cancel(nws_loop *loop, nws_conn *c, uint64_t user_data) {
    struct io_uring_sqe *sqe = get_sqe(loop);
    io_uring_prep_cancel64(sqe, user_data, 0);
    io_uring_sqe_set_data64(sqe, tag(OP_CANCEL, c->slot, c->gen));
}

/* Cancels what the connection has in flight by user_data, which the kernel finds in a hash:
 * cancelling by fd walks every request in flight on the ring (all connections' receives), and
 * with 19,000 connections and 1,000 closes a second that walk took most of the loop's time.
 * Only a vectored send, whose user_data names an op this side does not keep, is cancelled by
 * fd; one is rarely in flight as a connection ends. */
static void ur_teardown(nws_loop *loop, nws_conn *c) {
    if (UC(c)->inflight > 0) {
        cancel(loop, c, tag(OP_RECV, c->slot, c->gen));
        if (UC(c)->sending == SEND_PLAIN) cancel(loop, c, tag(OP_SEND, c->slot, c->gen));
        if (UC(c)->sending == SEND_VECTORED) {
            struct io_uring_sqe *sqe = get_sqe(loop);
            io_uring_prep_cancel_fd(sqe, c->fd, IORING_ASYNC_CANCEL_ALL);
            io_uring_sqe_set_data64(sqe, tag(OP_CANCEL, c->slot, c->gen));
        }
    }
    release_if_idle(loop, c);
}

static void on_accept(nws_loop *loop, struct io_uring_cqe *cqe) {
    if (cqe->res >= 0) {
        if (loop->stopping || nws__conn_accepted(loop, cqe->res) == NULL) close(cqe->res);
    }
    if (!(cqe->flags & IORING_CQE_F_MORE) && U(loop)->accepting && !loop->stopping) arm_accept(loop);
}

static void on_recv(nws_loop *loop, nws_conn *c, struct io_uring_cqe *cqe) {
    uring_loop *u = U(loop);
    int more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    if (!more) UC(c)->inflight--;
    if (cqe->flags & IORING_CQE_F_BUFFER) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        uint8_t *data = u->bufs + (size_t)bid * BUF_SIZE;
        u->bufs_used++;
        if (cqe->res > 0 && !c->dead) nws__conn_on_data(loop, c, data, (size_t)cqe->res);
        else if (cqe->res > 0 && c->handoff) nws__conn_handoff_keep(loop, c, data, (size_t)cqe->res);   /* it moves with them */
        recycle_buffer(u, bid);
    }
    if (c->dead) {
        release_if_idle(loop, c);
        return;
    }
    if (cqe->res == 0 || (cqe->res < 0 && cqe->res != -ENOBUFS)) {
        nws__conn_on_eof(loop, c);
        release_if_idle(loop, c);
        return;
    }
    /* Out of buffers (they were recycled above) or the kernel ended the multishot: re-arm. */
    if (cqe->res == -ENOBUFS) u->bufs_short = 1;
    if (!more) arm_recv(loop, c);
}

static void on_send(nws_loop *loop, nws_conn *c, struct io_uring_cqe *cqe) {
    UC(c)->sending = 0;
    UC(c)->inflight--;
    if (c->dead) {
        /* What left is gone from the queue: a TLS session moving to another loop (handoff.c)
         * must not send those records twice. */
        if (cqe->res > 0) nws__sendq_consume(loop, c, (size_t)cqe->res);
        release_if_idle(loop, c);
        return;
    }
    if (cqe->res < 0) {
        nws__conn_abort(loop, c, NWS_CLOSE_ABNORMAL);
        release_if_idle(loop, c);
        return;
    }
    nws__sendq_consume(loop, c, (size_t)cqe->res);
    send_queued(loop, c);   /* the rest of a short write, or what was queued meanwhile */
}

/* A vectored send's connection; its op goes back to the pool first, as the send that
 * follows may take it again. */
static nws_conn *sendmsg_done(nws_loop *loop, send_op *op) {
    nws_conn *c = nws__slot_conn(loop, op->slot, op->gen);
    op_free(U(loop), op);
    return c;
}

static void handle(nws_loop *loop, struct io_uring_cqe *cqe) {
    uint64_t t = io_uring_cqe_get_data64(cqe);
    nws_conn *c;
    switch (tag_kind(t)) {
    case OP_ACCEPT: on_accept(loop, cqe); return;
    case OP_INBOX:
        loop->inbox_signalled = 1;
        if (!(cqe->flags & IORING_CQE_F_MORE)) arm_inbox(loop);
        return;   /* the tick drains the inbox */
    case OP_CANCEL: return;
    case OP_SENDMSG: c = sendmsg_done(loop, tag_op(t)); break;
    case OP_RECV:
    case OP_SEND: c = nws__slot_conn(loop, tag_slot(t), tag_gen(t)); break;
    default: return;
    }
    if (c == NULL) {   /* alive or torn down, or NULL when the slot moved on */
        /* Cannot happen while inflight counts are right; a buffer must still go back. */
        if (cqe->flags & IORING_CQE_F_BUFFER) recycle_buffer(U(loop), cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        return;
    }
    if (tag_kind(t) == OP_RECV) on_recv(loop, c, cqe);
    else on_send(loop, c, cqe);
}

/* The completions posted so far, in order, with the tail read once (io_uring_for_each_cqe
 * reads it per entry): what is posted meanwhile is the next pass's. Entries are indexed as
 * liburing does (io_uring_cqe_index). A completion of a torn-down connection, or of liburing's
 * own timeout, is told apart by its tag in handle. */
static void handle_completions(nws_loop *loop, uring_loop *u) {
    struct io_uring *ring = &u->ring;
    unsigned head = *ring->cq.khead, tail = io_uring_smp_load_acquire(ring->cq.ktail);
    unsigned mask = ring->cq.ring_mask, shift = io_uring_cqe_shift(ring);   /* as io_uring_cqe_index */
    for (unsigned i = head; i != tail; i++) handle(loop, &ring->cq.cqes[(i & mask) << shift]);
    io_uring_cq_advance(ring, tail - head);
    after_reads(u, loop->now_ms);
    if (u->bufs_resident && loop->now_ms >= u->bufs_release_ms) release_buffers(u);
}

static void ur_run(nws_loop *loop) {
    uring_loop *u = U(loop);
    /* SINGLE_ISSUER binds the ring to the thread that enables it: this one. Enabling a ring
     * created disabled by this process does not fail short of a kernel bug. */
    if (u->disabled) enable_ring(&u->ring);
    arm_inbox(loop);
    while (!nws__loop_should_exit(loop)) {
        int wait = wait_ms(loop, u);
        struct __kernel_timespec ts = {.tv_sec = wait / 1000, .tv_nsec = (long long)(wait % 1000) * 1000000};
        struct io_uring_cqe *cqe;
        int rc = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, wait >= 0 ? &ts : NULL, NULL);
        (void)rc;   /* -ETIME and -EINTR only mean "look at the clock" */
        nws__loop_woke(loop);
        handle_completions(loop, u);
        nws__loop_tick(loop);
    }
    /* Let cancellations and the last sends complete before the ring goes away. */
    io_uring_submit(&u->ring);
}

const nws__backend nws__backend_uring = {
    .name = "io_uring",
    .init = ur_init,
    .destroy = ur_destroy,
    .start_accepting = ur_start_accepting,
    .stop_accepting = ur_stop_accepting,
    .conn_added = ur_conn_added,
    .flush = ur_flush,
    .shutdown_write = ur_shutdown_write,
    .teardown = ur_teardown,
    .submit = ur_submit,
    .sending = ur_sending,
    .run = ur_run,
};
