/*
 * report.h — the result of one harness run, printed as a table for people or as one JSON
 * object for scripts (--json), from the same list of items so the two never disagree.
 *
 * JSON shape:
 *   {"scenario":"echo","target":"ws://127.0.0.1:9001/","ok":true,
 *    "parameters":{...},"results":{...,"latency_us":{"count":..,"p50":..,...}},
 *    "errors":{"total":0,"connect":0,...},"failures":["sent 100 != received 90", ...]}
 * "ok" is false, and the process exits with status 3, when any error counter is non-zero
 * or a scenario check (report_fail) failed.
 *
 * Main thread only; the report owns copies of nothing but its strings' pointers, which must
 * outlive it (literals and option strings).
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "histogram.h"

typedef struct report report;

report *report_new(const char *scenario, const char *target);
void report_free(report *r);

void report_param_int(report *r, const char *key, long long v);
void report_param_num(report *r, const char *key, double v, int decimals);
void report_param_str(report *r, const char *key, const char *v);
void report_result_int(report *r, const char *key, long long v);
void report_result_num(report *r, const char *key, double v, int decimals);
/* Percentiles of a histogram (ns) shown in µs under `name` ("latency_us"). */
void report_latency(report *r, const char *name, const histogram *h);
/* The error counters (bench.h's list); any non-zero one fails the run. */
void report_errors(report *r, const uint64_t *errors);
/* A failed check, formatted; fails the run. */
void report_fail(report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int report_ok(const report *r);
void report_print(const report *r, int json, FILE *out);

#endif
