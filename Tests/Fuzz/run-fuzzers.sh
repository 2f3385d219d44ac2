#!/usr/bin/env bash
# Runs each libFuzzer target (build/fuzz/fuzz_NAME, built by `make fuzz-build`) for
# FUZZ_SECONDS, starting from its seed corpus (Tests/Fuzz/corpus/NAME) and from what earlier
# runs found (build/fuzz/corpus/NAME, outside git). The inputs of crashes fixed earlier
# (Tests/Fuzz/regressions/NAME, if any) are run first, each once. A crash stops the run with
# its input in build/fuzz/crashes/. Prints executions and edge coverage per target.
# swift-NAME targets are the Swift parsers' (Tests/Fuzz/Swift, built by `make fuzz-swift-build`
# into one binary, SWIFT_FUZZ_BIN): NAVIOS_FUZZ_TARGET=NAME picks the parser.
#   Tests/Fuzz/run-fuzzers.sh [NAME...]      (FUZZ_SECONDS, default 60)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-60}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(http frame utf8 mask json eio deflate)
mkdir -p build/fuzz/crashes
printf '%-14s %12s %10s %8s %8s %s\n' target executions exec/s cov ft corpus
for t in "${targets[@]}"; do
    bin=build/fuzz/fuzz_$t
    export NAVIOS_FUZZ_TARGET=
    case $t in swift-*) bin=${SWIFT_FUZZ_BIN:-.build/fuzz/debug/navios-ws-fuzz}; NAVIOS_FUZZ_TARGET=${t#swift-} ;; esac
    [ -x "$bin" ] || { echo "$bin is missing (make fuzz-build fuzz-swift-build)" >&2; exit 1; }
    if compgen -G "Tests/Fuzz/regressions/$t/*" >/dev/null; then
        "$bin" Tests/Fuzz/regressions/"$t"/* >build/fuzz/$t-regressions.log 2>&1 ||
            { tail -20 build/fuzz/$t-regressions.log; echo "fuzz_$t: a regression input fails" >&2; exit 1; }
    fi
    mkdir -p build/fuzz/corpus/$t
    log=build/fuzz/$t.log
    if ! "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix=build/fuzz/crashes/$t- \
            -rss_limit_mb=4096 build/fuzz/corpus/$t Tests/Fuzz/corpus/$t >"$log" 2>&1; then
        grep -E 'check failed|ERROR|runtime error|SUMMARY' "$log" | head -10 >&2
        echo "fuzz_$t found a failure; its input is in build/fuzz/crashes/ (log: $log)" >&2
        exit 1
    fi
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
    execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log")
    rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log")
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$done_line")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$done_line")
    corp=$(sed -nE 's/.* corp: ([^ ]+).*/\1/p' <<<"$done_line")
    printf '%-14s %12s %10s %8s %8s %s\n' "$t" "$execs" "$rate" "$cov" "$ft" "$corp"
done
