/*
 * malloc_count.c — counts heap allocations in a running server, to prove (not assume) that
 * the message path allocates nothing.
 *
 *   cc -shared -fPIC -O2 Benchmarks/tools/malloc_count.c -o build/malloc_count.so -ldl
 *   LD_PRELOAD=build/malloc_count.so navios-ws-echo ...
 *   kill -USR2 PID   # prints "malloc_count: N allocations" (malloc + calloc + realloc +
 *                    # posix_memalign + aligned_alloc) to stderr
 *
 * Take the count before and after a load of M messages: (after - before) / M is the number
 * of allocations per message. The counter is a relaxed atomic; the real allocator does the
 * work through dlsym(RTLD_NEXT). calloc is served from a static arena while dlsym itself
 * is being resolved (dlsym may call calloc).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static atomic_ulong allocations;
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static char bootstrap[4096];
static size_t bootstrap_used;
static int resolving;

static void report(int sig) {
    (void)sig;
    char line[64];
    int n = snprintf(line, sizeof line, "malloc_count: %lu allocations\n", atomic_load(&allocations));
    ssize_t w = write(2, line, (size_t)n);
    (void)w;
}

static void resolve(void) {
    if (real_malloc || resolving) return;
    resolving = 1;
    real_calloc = dlsym(RTLD_NEXT, "calloc");
    real_malloc = dlsym(RTLD_NEXT, "malloc");
    real_realloc = dlsym(RTLD_NEXT, "realloc");
    real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    resolving = 0;
    signal(SIGUSR2, report);
}

void *malloc(size_t n) {
    resolve();
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return real_malloc(n);
}

void *calloc(size_t count, size_t size) {
    if (real_calloc == NULL) {
        /* dlsym asked for memory before calloc was known: serve it from the arena. */
        size_t n = (count * size + 15) & ~(size_t)15;
        if (bootstrap_used + n > sizeof bootstrap) return NULL;
        void *p = bootstrap + bootstrap_used;
        bootstrap_used += n;
        return p;
    }
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return real_calloc(count, size);
}

void *realloc(void *p, size_t n) {
    resolve();
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return real_realloc(p, n);
}

int posix_memalign(void **out, size_t align, size_t n) {
    resolve();
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return real_posix_memalign(out, align, n);
}

void *aligned_alloc(size_t align, size_t n) {
    resolve();
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return real_aligned_alloc(align, n);
}

void free(void *p) {
    static void (*real_free)(void *);
    if ((char *)p >= bootstrap && (char *)p < bootstrap + sizeof bootstrap) return;
    if (real_free == NULL) real_free = dlsym(RTLD_NEXT, "free");
    real_free(p);
}
