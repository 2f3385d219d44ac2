/*
 * ring.c — the io_uring of one harness worker, set up like the server's (CSources/CNaviosWS/
 * loop_uring.c) so that the client spends as little CPU per message as the server does:
 *
 * - SINGLE_ISSUER | DEFER_TASKRUN (completion work runs when the worker waits, not as
 *   interrupts of its own work), created disabled and enabled by the worker thread, with a
 *   plain ring as the fallback on kernels that lack those flags.
 * - One multishot recv per connection into a provided-buffer ring shared by the worker's
 *   connections: an idle connection holds no buffer, and each buffer goes back as soon as
 *   its bytes are parsed (the frame decoder keeps what it needs of a split header).
 * - connect and send as ring operations, so a connect storm and a fan-out of thousands of
 *   sockets cost one io_uring_enter per loop iteration, not a syscall per socket.
 *
 * user_data layout: [kind:8][slot:24][generation:32]. A completion whose generation is not
 * the slot's current one belongs to a connection already gone (see worker.c).
 */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RING_ENTRIES 4096u
#define CQ_ENTRIES 32768u
#define BUF_GROUP 0
/* 512 x 32 KiB = 16 MiB of address space per worker, touched as the ring cycles: a 16 KiB
 * echo fits one read, and 512 reads can wait in the completion queue before the kernel runs
 * out of buffers (it then ends the multishot recv with ENOBUFS and it is re-armed). */
#define BUF_COUNT 512u               /* power of two */
#define BUF_SIZE (32u * 1024u)

uint64_t ring_tag(enum op_kind kind, uint32_t slot, uint32_t gen) {
    return ((uint64_t)kind << 56) | ((uint64_t)(slot & 0xFFFFFFu) << 32) | gen;
}
enum op_kind ring_tag_kind(uint64_t t) { return (enum op_kind)(t >> 56); }
uint32_t ring_tag_slot(uint64_t t) { return (uint32_t)(t >> 32) & 0xFFFFFFu; }
uint32_t ring_tag_gen(uint64_t t) { return (uint32_t)t; }

/* An SQE, submitting what is queued when the submission ring is full. */
static struct io_uring_sqe *get_sqe(bench_ring *r) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    while (sqe == NULL) {
        io_uring_submit(&r->ring);
        sqe = io_uring_get_sqe(&r->ring);
    }
    return sqe;
}

static int setup_buffers(bench_ring *r) {
    r->br_bytes = BUF_COUNT * sizeof(struct io_uring_buf);
    r->br = mmap(NULL, r->br_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (r->br == MAP_FAILED) {
        r->br = NULL;
        return -errno;
    }
    r->bufs = malloc((size_t)BUF_COUNT * BUF_SIZE);
    if (r->bufs == NULL) return -ENOMEM;
    struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)r->br, .ring_entries = BUF_COUNT, .bgid = BUF_GROUP};
    int rc = io_uring_register_buf_ring(&r->ring, &reg, 0);
    if (rc != 0) return rc;
    io_uring_buf_ring_init(r->br);
    int mask = io_uring_buf_ring_mask(BUF_COUNT);
    for (unsigned i = 0; i < BUF_COUNT; i++) {
        io_uring_buf_ring_add(r->br, r->bufs + (size_t)i * BUF_SIZE, BUF_SIZE, (unsigned short)i, mask, (int)i);
    }
    io_uring_buf_ring_advance(r->br, BUF_COUNT);
    return 0;
}

int ring_init(bench_ring *r) {
    memset(r, 0, sizeof *r);
    struct io_uring_params p = {0};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED |
              IORING_SETUP_CQSIZE;
    p.cq_entries = CQ_ENTRIES;
    int rc = io_uring_queue_init_params(RING_ENTRIES, &r->ring, &p);
    if (rc == 0) {
        r->disabled = 1;
    } else {
        memset(&p, 0, sizeof p);
        p.flags = IORING_SETUP_CQSIZE;
        p.cq_entries = CQ_ENTRIES;
        rc = io_uring_queue_init_params(RING_ENTRIES, &r->ring, &p);
    }
    if (rc != 0) return rc;
    rc = setup_buffers(r);
    if (rc != 0) {
        ring_destroy(r);
        return rc;
    }
    return 0;
}

/* liburing 2.3 declares io_uring_enable_rings but does not export it: the raw call. */
int ring_enable(bench_ring *r) {
    if (!r->disabled) return 0;
    r->disabled = 0;
    long rc = syscall(__NR_io_uring_register, r->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
    return rc < 0 ? -errno : 0;
}

void ring_destroy(bench_ring *r) {
    if (r->ring.ring_fd > 0) io_uring_queue_exit(&r->ring);
    r->ring.ring_fd = -1;
    if (r->br) munmap(r->br, r->br_bytes);
    r->br = NULL;
    free(r->bufs);
    r->bufs = NULL;
}

void ring_connect(bench_ring *r, wsconn *c, const struct sockaddr *addr, socklen_t len) {
    struct io_uring_sqe *sqe = get_sqe(r);
    io_uring_prep_connect(sqe, c->fd, addr, len);
    io_uring_sqe_set_data64(sqe, ring_tag(OP_CONNECT, c->slot, c->gen));
    c->inflight++;
}

void ring_recv(bench_ring *r, wsconn *c) {
    struct io_uring_sqe *sqe = get_sqe(r);
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUF_GROUP;
    io_uring_sqe_set_data64(sqe, ring_tag(OP_RECV, c->slot, c->gen));
    c->inflight++;
}

void ring_send(bench_ring *r, wsconn *c, const uint8_t *data, size_t len) {
    struct io_uring_sqe *sqe = get_sqe(r);
    io_uring_prep_send(sqe, c->fd, data, len, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, ring_tag(OP_SEND, c->slot, c->gen));
    c->inflight++;
}

void ring_cancel(bench_ring *r, wsconn *c) {
    struct io_uring_sqe *sqe = get_sqe(r);
    io_uring_prep_cancel_fd(sqe, c->fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, ring_tag(OP_CANCEL, c->slot, c->gen));
}

void ring_wait(bench_ring *r, uint64_t timeout_ns, unsigned want) {
    struct __kernel_timespec ts = {.tv_sec = (long long)(timeout_ns / 1000000000u),
                                   .tv_nsec = (long long)(timeout_ns % 1000000000u)};
    struct io_uring_cqe *cqe;
    /* -ETIME and -EINTR only mean "look at the clock". */
    (void)io_uring_submit_and_wait_timeout(&r->ring, &cqe, want, &ts, NULL);
}

uint8_t *ring_buffer(bench_ring *r, unsigned bid) { return r->bufs + (size_t)bid * BUF_SIZE; }

void ring_recycle(bench_ring *r, unsigned bid) {
    io_uring_buf_ring_add(r->br, ring_buffer(r, bid), BUF_SIZE, (unsigned short)bid,
                          io_uring_buf_ring_mask(BUF_COUNT), 0);
    io_uring_buf_ring_advance(r->br, 1);
}
