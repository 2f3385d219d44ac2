/*
 * fanout_floor.c — what one fan-out costs the kernel alone on this machine: one small send()
 * to each of N loopback TCP connections, with nothing else in the sender.
 *
 * No server can deliver one publish to N subscribers faster than this loop on the same core
 * (short of putting several messages in one segment), so it is the floor under the fan-out
 * latency that `navios-ws-bench fanout` reports. The sender runs on CPU 0; a child process on
 * CPU 1 holds the other ends and reads them without sleeping, so the sender pays for no
 * wake-ups. On loopback the sender's core still does the receiving socket's TCP work, as it
 * does for every server measured here.
 *
 * usage: fanout_floor [N connections (10000)] [rounds (8)] [port (9499)]
 * Prints each round's wall time and sender CPU time, and the median per send.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MESSAGE_BYTES 32      /* about a 20-byte event in a WebSocket frame */
#define ROUND_GAP_US 100000   /* between rounds: every connection is idle when its send comes */

static double seconds(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void pin_to(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) perror("fanout_floor: sched_setaffinity");
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The child: N connections, read as soon as anything arrives, until the parent closes them
 * (or dies: the kernel then ends the child too). */
static void receive_forever(const struct sockaddr_in *addr, int n, int ready_fd) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    pin_to(1);
    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (const struct sockaddr *)addr, sizeof *addr) != 0) {
            perror("fanout_floor: connect");
            _exit(1);
        }
        fcntl(fd, F_SETFL, O_NONBLOCK);
        struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
    }
    if (write(ready_fd, "r", 1) != 1) _exit(1);
    struct epoll_event events[512];
    char buf[4096];
    for (;;) {
        int k = epoll_wait(ep, events, 512, 0);   /* never sleeps: no wake-up for the sender */
        for (int i = 0; i < k; i++) {
            ssize_t r = read(events[i].data.fd, buf, sizeof buf);
            if (r == 0) _exit(0);                  /* the parent closed: done */
        }
    }
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    int rounds = argc > 2 ? atoi(argv[2]) : 8;
    int port = argc > 3 ? atoi(argv[3]) : 9499;
    if (n <= 0 || rounds <= 0 || rounds > 1000) {
        fprintf(stderr, "usage: fanout_floor [connections] [rounds] [port]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    int one = 1;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 4096) != 0) {
        perror("fanout_floor: listen");
        return 1;
    }
    int ready[2];
    if (pipe(ready) != 0) return 1;
    pid_t child = fork();
    if (child == 0) {
        close(listener);
        receive_forever(&addr, n, ready[1]);
    }
    pin_to(0);
    int *fds = malloc((size_t)n * sizeof *fds);
    for (int i = 0; i < n; i++) {
        fds[i] = accept(listener, NULL, NULL);
        if (fds[i] < 0) {
            perror("fanout_floor: accept");
            kill(child, SIGTERM);
            return 1;
        }
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    char go;
    if (read(ready[0], &go, 1) != 1) return 1;

    char message[MESSAGE_BYTES];
    memset(message, 'x', sizeof message);
    double *per_send_us = malloc((size_t)rounds * sizeof *per_send_us);
    int failed = 0;
    for (int r = 0; r < rounds; r++) {
        usleep(ROUND_GAP_US);
        double wall = seconds(CLOCK_MONOTONIC), cpu = seconds(CLOCK_THREAD_CPUTIME_ID);
        for (int i = 0; i < n; i++)
            if (send(fds[i], message, sizeof message, MSG_NOSIGNAL) != (ssize_t)sizeof message) failed++;
        wall = seconds(CLOCK_MONOTONIC) - wall;
        cpu = seconds(CLOCK_THREAD_CPUTIME_ID) - cpu;
        per_send_us[r] = cpu * 1e6 / n;
        printf("round %d: %d sends in %.1f ms (sender CPU %.1f ms, %.2f us a send)\n", r, n,
               wall * 1e3, cpu * 1e3, per_send_us[r]);
    }
    qsort(per_send_us, (size_t)rounds, sizeof *per_send_us, compare_doubles);
    double median = per_send_us[rounds / 2];
    printf("median %.2f us a send: one publish to %d subscribers needs %.1f ms of one core\n",
           median, n, median * n / 1e3);
    for (int i = 0; i < n; i++) close(fds[i]);
    int status;
    waitpid(child, &status, 0);
    if (failed) fprintf(stderr, "fanout_floor: %d sends were short or failed\n", failed);
    return failed ? 1 : 0;
}
