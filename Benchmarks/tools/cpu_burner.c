/*
 * cpu_burner.c — a reproducible contention: spins for BUSY_MS of every PERIOD_MS, for SECONDS,
 * so a server sharing its core loses a known share of it at a known rhythm.
 *
 *   cpu_burner BUSY_MS PERIOD_MS SECONDS      (taskset -c CPU cpu_burner 5 10 60: half a core)
 */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime, nanosleep under -std=c11 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: cpu_burner BUSY_MS PERIOD_MS SECONDS\n");
        return 2;
    }
    double busy = atof(argv[1]), period = atof(argv[2]), end = now_ms() + atof(argv[3]) * 1e3;
    if (busy < 0 || period <= 0 || busy > period) {
        fprintf(stderr, "cpu_burner: need 0 <= BUSY_MS <= PERIOD_MS, PERIOD_MS > 0\n");
        return 2;
    }
    volatile unsigned long sink = 0;
    for (double start = now_ms(); start < end; start += period) {
        while (now_ms() < start + busy) sink++;   /* spin */
        long long rest_ns = (long long)((start + period - now_ms()) * 1e6);
        if (rest_ns > 0) nanosleep(&(struct timespec){rest_ns / 1000000000, rest_ns % 1000000000}, NULL);
    }
    return 0;
}
