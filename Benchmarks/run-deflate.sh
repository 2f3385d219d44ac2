#!/usr/bin/env bash
# run-deflate.sh — permessage-deflate side by side: the echo of compressed messages and the idle
# memory of a connection that negotiated compression, NaviosWS in both modes against
# uWebSockets in both modes, in one run. Server on CPU $SERVER_CPU, harness on $CLIENT_CPU.
#
#   UWS_DEFLATE_ECHO=/path/to/echo Benchmarks/run-deflate.sh     (make bench-deflate)
#
# UWS_DEFLATE_ECHO is a uWebSockets echo server built outside this repository, run as
# `echo PORT none|shared|dedicated`, that sends every echo with compression asked for (the
# stock EchoServer example never compresses); without it only NaviosWS runs.
# Echo: navios-ws-bench echo --deflate (the harness compresses what it sends, inflates what
# comes back), 100 connections, 16 in flight, 20 and 2000 bytes; server CPU per message from
# /proc. NaviosWS runs with its defaults (level 1, 64-byte threshold) and with uWebSockets'
# settings (zlib level 6, every message compressed). Idle: 10,000 connections held.
# Writes Benchmarks/results/deflate-latest.md.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${PORT_BASE:-19900}
ECHO=.build/release/navios-ws-echo
BENCH=build/navios-ws-bench
OUT=Benchmarks/results/deflate-latest.md
[ -x "$ECHO" ] && [ -x "$BENCH" ] || { echo "build $ECHO and $BENCH first (make build bench-harness)" >&2; exit 2; }

# start PORT CMD...: the server on its CPU; prints its pid once it listens.
start() {
    local port=$1 pid=""
    shift
    taskset -c "$SERVER_CPU" "$@" >/dev/null 2>&1 &
    for _ in $(seq 100); do
        pid=$(ss -ltnp | grep ":$port " | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
        [ -n "$pid" ] && break
        sleep 0.05
    done
    echo "$pid"
}

# row NAME SCENARIO-ARGS -- SERVER...: one run; a table row of what the harness measured.
row() {
    local name=$1 size=$2 pid json
    shift 3
    PORT=$((PORT + 1))
    pid=$(start "$PORT" "${@/PORT/$PORT}")
    if [ -z "$pid" ]; then echo "| $name | $size | did not start | | |"; return; fi
    if [ "$size" = idle ]; then
        json=$(taskset -c "$CLIENT_CPU" "$BENCH" idle --port "$PORT" --connections 10000 --sources 4 --deflate \
            --server-pid "$pid" --json 2>/dev/null)
    else
        json=$(taskset -c "$CLIENT_CPU" "$BENCH" echo --port "$PORT" --connections 100 --depth 16 --size "$size" \
            --deflate --server-pid "$pid" --warmup 1 --duration 4 --json 2>/dev/null)
    fi
    kill "$pid" 2>/dev/null
    wait 2>/dev/null
    python3 - "$name" "$size" "$json" <<'EOF'
import json, sys
name, size, text = sys.argv[1:]
try:
    j = json.loads(text)
except ValueError:
    print(f"| {name} | {size} | no result | | |")
    sys.exit()
r, ok = j["results"], "" if j["ok"] else " (errors)"
if size == "idle":
    print(f"| {name} | idle | | | {r['server_rss_bytes_per_conn']:,} B{ok} |")
else:
    m, cpu = r["msgs_per_s"], r.get("server_cpu_pct", -1)
    print(f"| {name} | {size} B | {m:,.0f}{ok} | {cpu / 100 * 1e6 / m:.2f} | |")
EOF
}

{
    echo "# permessage-deflate, side by side ($(date -u +%Y-%m-%d), $(nproc) cores, server on CPU $SERVER_CPU)"
    echo
    echo "| server | message | msgs/s | server µs per echo | idle memory per connection |"
    echo "| --- | --- | --- | --- | --- |"
    for mode in shared dedicated; do
        for size in 20 2000; do
            row "NaviosWS $mode (defaults)" $size -- "$ECHO" --port PORT --loops 1 --deflate $mode
            row "NaviosWS $mode (level 6, all)" $size -- "$ECHO" --port PORT --loops 1 --deflate $mode \
                --deflate-level 6 --deflate-threshold 1
            [ -n "${UWS_DEFLATE_ECHO:-}" ] && row "uWebSockets $mode" $size -- "$UWS_DEFLATE_ECHO" PORT $mode
        done
        row "NaviosWS $mode" idle -- "$ECHO" --port PORT --loops 1 --deflate $mode
        [ -n "${UWS_DEFLATE_ECHO:-}" ] && row "uWebSockets $mode" idle -- "$UWS_DEFLATE_ECHO" PORT $mode
    done
    echo
    echo "Command: \`UWS_DEFLATE_ECHO=${UWS_DEFLATE_ECHO:-unset} Benchmarks/run-deflate.sh\`. The harness compresses"
    echo "and inflates on its own core; where it saturates first, msgs/s is the harness's and the"
    echo "server's CPU per echo is the comparison."
} | tee "$OUT"
