/*
 * bench_codec.c — how fast the frame codec's inner loops are, next to memcpy.
 *
 * Demonstrates: unmasking (nws_mask, and each variant on its own) and UTF-8 validation
 * (ASCII and mixed multi-byte text) in GB/s at 16 B, 1 KiB and 64 KiB, each beside memcpy
 * of the same size, then the cost per frame of decoding a buffer of many small masked text
 * frames, which is what a chat server's loop does all day. memcpy is the yardstick: a pass
 * that touches every byte once cannot beat it by much, so "close to memcpy" is the goal.
 *
 * Run (from the repository root; plain -O2, no -m flags, the same as the package build):
 *   cc -std=c11 -O2 -ICSources/CNaviosWS/include -ICSources/CNaviosWS
 *      Benchmarks/codec/bench_codec.c CSources/CNaviosWS/{frame,mask,utf8,error}.c
 *      -o /tmp/bench_codec && /tmp/bench_codec [seconds per cell, default 0.3]
 * About 10 s in all. Numbers are for comparing variants on one machine, not across machines.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec_internal.h"
#include "nws_error.h"
#include "nws_frame.h"
#include "nws_mask.h"
#include "nws_utf8.h"

#define BIG (64 * 1024)

static double cell_seconds = 0.3;
static volatile uint64_t sink;
static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78}; /* < 0x80: masked ASCII stays ASCII */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Tells the compiler the bytes behind p were read and may have been changed, so the work
 * that produced them cannot be dropped or hoisted out of the timing loop. */
static inline void escape(const void *p) {
    __asm__ volatile("" : : "r"(p) : "memory");
}

typedef struct {
    uint8_t *src;
    uint8_t *dst;
    size_t len;
} job;

typedef void (*op_fn)(const job *j);

static void op_memcpy(const job *j) {
    memcpy(j->dst, j->src, j->len);
    escape(j->dst);
}
static void op_mask(const job *j) {
    nws_mask(j->src, j->len, key, 0);
    escape(j->src);
}
static void op_mask_scalar(const job *j) {
    nws__mask_scalar(j->src, j->src, j->len, key, 0);
    escape(j->src);
}
#if NWS__X86
static void op_mask_sse2(const job *j) {
    nws__mask_sse2(j->src, j->src, j->len, key, 0);
    escape(j->src);
}
static void op_mask_avx2(const job *j) {
    nws__mask_avx2(j->src, j->src, j->len, key, 0);
    escape(j->src);
}
#endif
static void op_utf8(const job *j) {
    escape(j->src);
    sink += (uint64_t)nws_utf8_valid(j->src, j->len);
}
static void op_utf8_scalar(const job *j) {
    escape(j->src);
    sink += nws__utf8_step_with(nws__ascii_scalar, NWS_UTF8_ACCEPT, j->src, j->len);
}

/* Runs op until cell_seconds have passed (after a short calibration); returns seconds per
 * call. */
static double time_op(op_fn op, const job *j) {
    uint64_t iters = 1;
    double dt;
    for (;;) {
        double t0 = now();
        for (uint64_t i = 0; i < iters; i++) {
            op(j);
        }
        dt = now() - t0;
        if (dt > 0.02) {
            break;
        }
        iters *= 8;
    }
    iters = (uint64_t)((double)iters * cell_seconds / dt) + 1;
    double t0 = now();
    for (uint64_t i = 0; i < iters; i++) {
        op(j);
    }
    return (now() - t0) / (double)iters;
}

static const size_t sizes[] = {16, 1024, BIG};

static void row(const char *name, op_fn op, uint8_t *src, uint8_t *dst) {
    printf("%-28s", name);
    fflush(stdout);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        job j = {src, dst, sizes[i]};
        double s = time_op(op, &j);
        printf(" %10.2f", (double)sizes[i] / s / 1e9);
        fflush(stdout);
    }
    printf("\n");
}

/* Mixed text of 1-, 2-, 3- and 4-byte characters. */
static const char mixed_sample[] =
    "Gr\xC3\xBC\xC3\x9F" "e aus K\xC3\xB6ln \xE2\x80\x94 "
    "\xE6\x9D\xB1\xE4\xBA\xAC\xE3\x81\xAF\xE6\x99\xB4\xE3\x82\x8C\xE3\x80\x82 "
    "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82, \xD0\xBC\xD0\xB8\xD1\x80! "
    "\xF0\x9F\x8E\x89 ok; ";
/* Chinese without a space: 3-byte characters only. */
static const char cjk_sample[] =
    "\xE6\x9D\xB1\xE4\xBA\xAC\xE3\x81\xAF\xE6\x99\xB4\xE3\x82\x8C\xE3\x80\x82"
    "\xE4\xBD\xA0\xE5\xA5\xBD\xE4\xB8\x96\xE7\x95\x8C";

/* `sample` repeated, cut on a character boundary at every size the table uses (it is
 * validated before timing). */
static void fill_text(uint8_t *p, size_t n, const char *sample) {
    size_t k = strlen(sample);
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)sample[i % k];
    }
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        /* blank out a character cut by this size's end */
        size_t end = sizes[i], start = end;
        while (start > 0 && (p[start - 1] & 0xC0) == 0x80) {
            start--;
        }
        if (start > 0 && p[start - 1] >= 0xC0) {
            start--;
        }
        if (!nws_utf8_valid(p, end)) {
            /* the whole character, its bytes past the end too */
            size_t stop = end;
            while (stop < n && (p[stop] & 0xC0) == 0x80) {
                stop++;
            }
            memset(p + start, ' ', stop - start);
        }
    }
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (!nws_utf8_valid(p, sizes[i])) {
            fprintf(stderr, "sample text is not valid UTF-8 at %zu bytes\n", sizes[i]);
            exit(1);
        }
    }
}

/* ---- frame decoding ---- */

static uint8_t *frames;
static size_t frames_len, frames_count;

static void build_frames(size_t payload_len, size_t count) {
    uint8_t h[NWS_FRAME_HEADER_MAX];
    size_t hl = nws_frame_header(h, NWS_OP_TEXT, 1, 0, payload_len, key);
    frames_len = (hl + payload_len) * count;
    frames_count = count;
    frames = realloc(frames, frames_len);
    for (size_t f = 0; f < count; f++) {
        uint8_t *p = frames + f * (hl + payload_len);
        memcpy(p, h, hl);
        for (size_t i = 0; i < payload_len; i++) {
            p[hl + i] = (uint8_t)(' ' + (f * 7 + i) % 90);
        }
        nws_mask(p + hl, payload_len, key, 0);
    }
}

/* Decodes every frame in the buffer. Unmasking in place leaves plain text behind, which the
 * next pass "unmasks" back to masked text: still ASCII (key bytes < 0x80), so every pass
 * does the same work without restoring the buffer. */
static void op_decode(const job *j) {
    (void)j;
    static const nws_decoder_limits lim = {.require_mask = 1};
    nws_decoder d;
    nws_decoder_init(&d, &lim);
    size_t at = 0;
    uint64_t got = 0;
    while (at < frames_len) {
        nws_decoded e;
        ssize_t r = nws_decode(&d, frames + at, frames_len - at, &e);
        if (r < 0) {
            fprintf(stderr, "decode failed: %s\n", nws_strerror((int)r));
            exit(1);
        }
        at += (size_t)r;
        got += e.len;
    }
    nws_decoder_free(&d);
    escape(frames);
    sink += got;
}

static void decode_row(const char *name, size_t payload_len, size_t count) {
    build_frames(payload_len, count);
    double s = time_op(op_decode, NULL);
    printf("%-28s %10.1f ns/frame %8.2f M frames/s %6.2f GB/s of frames\n", name,
           s / (double)frames_count * 1e9, (double)frames_count / s / 1e6,
           (double)frames_len / s / 1e9);
}

int main(int argc, char **argv) {
    if (argc > 1) {
        cell_seconds = atof(argv[1]);
        if (cell_seconds <= 0) {
            cell_seconds = 0.3;
        }
    }
    uint8_t *src = malloc(BIG), *dst = malloc(BIG), *mixed = malloc(BIG);
    for (size_t i = 0; i < BIG; i++) {
        src[i] = (uint8_t)(' ' + i % 90);
    }
    memcpy(dst, src, BIG);
    fill_text(mixed, BIG, mixed_sample);
    uint8_t *cjk = malloc(BIG);
    if (cjk == NULL) {
        return 1;
    }
    fill_text(cjk, BIG, cjk_sample);

    const char *mask_impl = nws_mask_impl(), *utf8_impl = nws_utf8_impl();
    char name[64];
    printf("NaviosWS codec benchmark (compiler %s, %.2f s per cell)\n", __VERSION__, cell_seconds);
    printf("%-28s %10s %10s %10s   (GB/s)\n", "", "16 B", "1 KiB", "64 KiB");
    row("memcpy", op_memcpy, src, dst);
    snprintf(name, sizeof name, "nws_mask (%s)", mask_impl);
    row(name, op_mask, src, dst);
    if (strcmp(mask_impl, "scalar") != 0) {
        row("  mask scalar (8 B words)", op_mask_scalar, src, dst);
    }
#if NWS__X86
    if (strcmp(mask_impl, "sse2") != 0 && nws__cpu_sse2()) {
        row("  mask sse2", op_mask_sse2, src, dst);
    }
    if (strcmp(mask_impl, "avx2") != 0 && nws__cpu_avx2()) {
        row("  mask avx2", op_mask_avx2, src, dst);
    }
#endif
    snprintf(name, sizeof name, "utf8 ASCII (%s)", utf8_impl);
    row(name, op_utf8, src, dst);
    if (strcmp(utf8_impl, "scalar") != 0) {
        row("  utf8 ASCII scalar", op_utf8_scalar, src, dst);
    }
    snprintf(name, sizeof name, "utf8 mixed (%s)", utf8_impl);
    row(name, op_utf8, mixed, dst);
    row("  utf8 mixed, DFA only", op_utf8_scalar, mixed, dst);
    snprintf(name, sizeof name, "utf8 Chinese (%s)", utf8_impl);
    row(name, op_utf8, cjk, dst);
    printf("\n");
    decode_row("decode 20 B text frames", 20, 4096);
    decode_row("decode 1 KiB text frames", 1024, 64);
    free(src);
    free(dst);
    free(mixed);
    free(cjk);
    free(frames);
    return 0;
}
