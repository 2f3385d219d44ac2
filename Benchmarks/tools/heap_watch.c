/*
 * heap_watch.c — preloaded into a server (LD_PRELOAD) to show what its malloc heap holds while
 * it runs, without stopping it: once a second, a thread of its own writes glibc's mallinfo2()
 * summed over every arena to the file named by NAVIOS_HEAP_WATCH, as one line:
 *
 *     in_use_kib=N free_kib=N mmap_kib=N
 *
 * in use: what the program holds; free: what the allocator holds for reuse (resident once it
 * was touched); mmap: the large blocks it maps apart. RSS against these tells a leak (in use
 * grows) from memory the allocator keeps (free grows). The line is written to a temporary file
 * and renamed, so a reader never sees half of one. Without NAVIOS_HEAP_WATCH it does nothing.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char target[4096], staging[4100];

static void write_once(void) {
    struct mallinfo2 m = mallinfo2();
    FILE *f = fopen(staging, "w");
    if (f == NULL) return;
    fprintf(f, "in_use_kib=%zu free_kib=%zu mmap_kib=%zu\n", (m.uordblks) / 1024, (m.fordblks) / 1024,
            m.hblkhd / 1024);
    if (fclose(f) == 0) rename(staging, target);
}

static void *watch(void *unused) {
    (void)unused;
    for (;;) {
        write_once();
        sleep(1);
    }
    return NULL;
}

__attribute__((constructor)) static void start(void) {
    const char *path = getenv("NAVIOS_HEAP_WATCH");
    if (path == NULL || snprintf(target, sizeof target, "%s", path) >= (int)sizeof target) return;
    snprintf(staging, sizeof staging, "%s.new", target);
    unsetenv("LD_PRELOAD");   /* not into what the server may start */
    pthread_t thread;
    if (pthread_create(&thread, NULL, watch, NULL) == 0) pthread_detach(thread);
}
