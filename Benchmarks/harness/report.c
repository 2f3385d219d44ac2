/*
 * report.c — report.h: items collected in order, rendered as a table or as JSON.
 */
#include "bench.h"
#include "report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 96
#define MAX_LATENCIES 4
#define MAX_FAILURES 16

enum item_kind { ITEM_INT, ITEM_NUM, ITEM_STR };
enum item_section { SEC_PARAM, SEC_RESULT };

typedef struct item {
    uint8_t section, kind;
    int decimals;
    const char *key;
    long long i;
    double d;
    const char *s;
} item;

/* A histogram reduced to what is printed, in µs. */
typedef struct latency {
    const char *name;
    uint64_t count, clamped;
    double min, mean, p50, p90, p99, p999, p9999, max;
} latency;

struct report {
    const char *scenario, *target;
    item items[MAX_ITEMS];
    int nitems;
    latency lat[MAX_LATENCIES];
    int nlat;
    uint64_t errors[ERR_COUNT];
    uint64_t error_total;
    char *failures[MAX_FAILURES];
    int nfailures;
};

/* The names of bench.h's error list, for both renderings. */
static const char *const error_keys[ERR_COUNT] = {
#define BENCH__ERR_KEY(name, key, msg) key,
    BENCH_ERROR_LIST(BENCH__ERR_KEY)
#undef BENCH__ERR_KEY
};
static const char *const error_messages[ERR_COUNT] = {
#define BENCH__ERR_MSG(name, key, msg) msg,
    BENCH_ERROR_LIST(BENCH__ERR_MSG)
#undef BENCH__ERR_MSG
};

const char *bench_error_key(int err) { return err >= 0 && err < ERR_COUNT ? error_keys[err] : "unknown"; }
const char *bench_error_message(int err) { return err >= 0 && err < ERR_COUNT ? error_messages[err] : "unknown"; }

report *report_new(const char *scenario, const char *target) {
    report *r = calloc(1, sizeof *r);
    if (r == NULL) abort();
    r->scenario = scenario;
    r->target = target;
    return r;
}

void report_free(report *r) {
    for (int i = 0; i < r->nfailures; i++) free(r->failures[i]);
    free(r);
}

static item *add(report *r, int section, int kind, const char *key) {
    if (r->nitems == MAX_ITEMS) abort();   /* a programming error, found by any run */
    item *it = &r->items[r->nitems++];
    *it = (item){.section = (uint8_t)section, .kind = (uint8_t)kind, .key = key};
    return it;
}

void report_param_int(report *r, const char *key, long long v) { add(r, SEC_PARAM, ITEM_INT, key)->i = v; }
void report_param_str(report *r, const char *key, const char *v) { add(r, SEC_PARAM, ITEM_STR, key)->s = v; }
void report_param_num(report *r, const char *key, double v, int decimals) {
    item *it = add(r, SEC_PARAM, ITEM_NUM, key);
    it->d = v;
    it->decimals = decimals;
}
void report_result_int(report *r, const char *key, long long v) { add(r, SEC_RESULT, ITEM_INT, key)->i = v; }
void report_result_num(report *r, const char *key, double v, int decimals) {
    item *it = add(r, SEC_RESULT, ITEM_NUM, key);
    it->d = v;
    it->decimals = decimals;
}

void report_latency(report *r, const char *name, const histogram *h) {
    if (r->nlat == MAX_LATENCIES) abort();
    latency *l = &r->lat[r->nlat++];
    l->name = name;
    l->count = h->total;
    l->clamped = h->clamped;
    l->min = h->total ? (double)h->min / 1e3 : 0;
    l->mean = hist_mean(h) / 1e3;
    l->p50 = (double)hist_percentile(h, 50) / 1e3;
    l->p90 = (double)hist_percentile(h, 90) / 1e3;
    l->p99 = (double)hist_percentile(h, 99) / 1e3;
    l->p999 = (double)hist_percentile(h, 99.9) / 1e3;
    l->p9999 = (double)hist_percentile(h, 99.99) / 1e3;
    l->max = (double)h->max / 1e3;
}

void report_errors(report *r, const uint64_t *errors) {
    r->error_total = 0;
    for (int i = 0; i < ERR_COUNT; i++) {
        r->errors[i] = errors[i];
        r->error_total += errors[i];
    }
}

void report_fail(report *r, const char *fmt, ...) {
    if (r->nfailures == MAX_FAILURES) return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    r->failures[r->nfailures++] = strdup(buf);
}

int report_ok(const report *r) { return r->error_total == 0 && r->nfailures == 0; }

/* ---- JSON --------------------------------------------------------------------------- */

static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

static void json_item_value(FILE *f, const item *it) {
    if (it->kind == ITEM_INT) fprintf(f, "%lld", it->i);
    else if (it->kind == ITEM_NUM) fprintf(f, "%.*f", it->decimals, it->d);
    else json_string(f, it->s ? it->s : "");
}

static void json_section(FILE *f, const report *r, int section, int with_latency) {
    int first = 1;
    fputc('{', f);
    for (int i = 0; i < r->nitems; i++) {
        if (r->items[i].section != section) continue;
        fprintf(f, "%s", first ? "" : ",");
        json_string(f, r->items[i].key);
        fputc(':', f);
        json_item_value(f, &r->items[i]);
        first = 0;
    }
    for (int i = 0; with_latency && i < r->nlat; i++) {
        const latency *l = &r->lat[i];
        fprintf(f, "%s", first ? "" : ",");
        json_string(f, l->name);
        fprintf(f, ":{\"count\":%llu,\"min\":%.3f,\"mean\":%.3f,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
                   "\"p99_9\":%.3f,\"p99_99\":%.3f,\"max\":%.3f,\"clamped\":%llu}",
                (unsigned long long)l->count, l->min, l->mean, l->p50, l->p90, l->p99, l->p999, l->p9999,
                l->max, (unsigned long long)l->clamped);
        first = 0;
    }
    fputc('}', f);
}

static void print_json(const report *r, FILE *f) {
    fputs("{\"scenario\":", f);
    json_string(f, r->scenario);
    fputs(",\"target\":", f);
    json_string(f, r->target);
    fprintf(f, ",\"ok\":%s,\"parameters\":", report_ok(r) ? "true" : "false");
    json_section(f, r, SEC_PARAM, 0);
    fputs(",\"results\":", f);
    json_section(f, r, SEC_RESULT, 1);
    fprintf(f, ",\"errors\":{\"total\":%llu", (unsigned long long)r->error_total);
    for (int i = 0; i < ERR_COUNT; i++) fprintf(f, ",\"%s\":%llu", bench_error_key(i), (unsigned long long)r->errors[i]);
    fputs("},\"failures\":[", f);
    for (int i = 0; i < r->nfailures; i++) {
        if (i) fputc(',', f);
        json_string(f, r->failures[i]);
    }
    fputs("]}\n", f);
}

/* ---- table ------------------------------------------------------------------------------ */

static void table_section(FILE *f, const report *r, int section) {
    for (int i = 0; i < r->nitems; i++) {
        const item *it = &r->items[i];
        if (it->section != section) continue;
        fprintf(f, "  %-26s ", it->key);
        if (it->kind == ITEM_INT) fprintf(f, "%lld\n", it->i);
        else if (it->kind == ITEM_NUM) fprintf(f, "%.*f\n", it->decimals, it->d);
        else fprintf(f, "%s\n", it->s ? it->s : "");
    }
}

static void table_latency(FILE *f, const latency *l) {
    fprintf(f, "%s (count %llu)\n", l->name, (unsigned long long)l->count);
    fprintf(f, "  %10s %10s %10s %10s %10s %10s %10s %10s\n", "min", "mean", "p50", "p90", "p99", "p99.9",
            "p99.99", "max");
    fprintf(f, "  %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f\n", l->min, l->mean, l->p50, l->p90,
            l->p99, l->p999, l->p9999, l->max);
    if (l->clamped) fprintf(f, "  (%llu values above 60 s counted as 60 s)\n", (unsigned long long)l->clamped);
}

static void print_table(const report *r, FILE *f) {
    fprintf(f, "navios-ws-bench %s -> %s\n", r->scenario, r->target);
    fputs("parameters\n", f);
    table_section(f, r, SEC_PARAM);
    fputs("results\n", f);
    table_section(f, r, SEC_RESULT);
    for (int i = 0; i < r->nlat; i++) table_latency(f, &r->lat[i]);
    fprintf(f, "errors %llu\n", (unsigned long long)r->error_total);
    for (int i = 0; i < ERR_COUNT; i++) {
        if (r->errors[i]) {
            fprintf(f, "  %-26s %llu  (%s)\n", bench_error_key(i), (unsigned long long)r->errors[i],
                    bench_error_message(i));
        }
    }
    for (int i = 0; i < r->nfailures; i++) fprintf(f, "  check failed: %s\n", r->failures[i]);
    fprintf(f, "verdict %s\n", report_ok(r) ? "ok" : "FAILED (exit status 3)");
}

void report_print(const report *r, int json, FILE *out) {
    if (json) print_json(r, out);
    else print_table(r, out);
    fflush(out);
}
