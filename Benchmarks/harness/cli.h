/*
 * cli.h — parsing navios-ws-bench's command line into bench_opts (main thread, once).
 */
#ifndef BENCH_CLI_H
#define BENCH_CLI_H

#include "bench.h"

#include <stdint.h>
#include <stdio.h>

#define CLI_UNSET_SIZE SIZE_MAX   /* --size not given: the scenario picks its default */

void cli_defaults(bench_opts *o);
/* 0: run; 1: --help was asked for; -1: usage error (already explained on stderr). */
int cli_parse(bench_opts *o, int argc, char **argv);
void cli_usage(FILE *f);

#endif
