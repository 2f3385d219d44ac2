#!/usr/bin/env bash
# run-fanout-contention.sh — room fan-out side by side with uWebSockets, on an idle core and on a
# core shared with a CPU burner at a fixed duty cycle, in one run with alternating servers.
#
#   UWS_FANOUT=/path/to/fanout Benchmarks/run-fanout-contention.sh     (make bench-fanout-contention)
#
# NaviosWS: navios-ws-gateway-echo --loops 1, clients join one room and publish to it (the
# harness's fanout --protocol gateway). UWS_FANOUT is a uWebSockets server built outside this
# repository, run as `fanout PORT`, that subscribes every client to one topic and publishes each
# message it receives to that topic (fanout --protocol broadcast); without it only NaviosWS
# runs. Server on CPU $SERVER_CPU, harness on $CLIENT_CPU; the contended runs add
# build/cpu_burner spinning $BURN_MS of every $BURN_PERIOD_MS on the server's CPU.
# Knobs (env): SUBSCRIBERS="2000 5000 10000" REPEAT=2 RATE=100 DURATION=8 BURN_MS=5 BURN_PERIOD_MS=10
# DEFLATE=shared|dedicated: permessage-deflate on both servers (uWebSockets is then run as
# `fanout PORT MODE` and compresses every publish), 200-byte texts, every delivery inflated.
# Writes Benchmarks/results/fanout-contention-latest.md (fanout-deflate-MODE-latest.md with DEFLATE).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${PORT_BASE:-19950}
SUBSCRIBERS=${SUBSCRIBERS:-2000 5000 10000}
REPEAT=${REPEAT:-2}
RATE=${RATE:-100}
DURATION=${DURATION:-8}
BURN_MS=${BURN_MS:-5}
BURN_PERIOD_MS=${BURN_PERIOD_MS:-10}
GATEWAY=.build/release/navios-ws-gateway-echo
BENCH=build/navios-ws-bench
BURNER=build/cpu_burner
OUT=Benchmarks/results/fanout-contention-latest.md
UWS=${UWS_FANOUT:-}
DEFLATE=${DEFLATE:-}
navios_deflate=() uws_deflate=() harness_deflate=()
if [ -n "$DEFLATE" ]; then
    navios_deflate=(--deflate "$DEFLATE") uws_deflate=("$DEFLATE") harness_deflate=(--deflate --size 200)
    # uWebSockets' DEDICATED_COMPRESSOR serves every connection with its 3 KB compressor (window
    # 9, memory level 1: HttpResponse.h maps any flag sharing a bit with DEDICATED_COMPRESSOR_3KB to
    # it); NaviosWS gets the same window and memory level, so both keep the same state per member.
    [ "$DEFLATE" = dedicated ] && navios_deflate+=(--deflate-window-bits 9 --deflate-mem-level 1)
    OUT=Benchmarks/results/fanout-deflate-$DEFLATE-latest.md
fi
for f in "$GATEWAY" "$BENCH" "$BURNER"; do
    [ -x "$f" ] || { echo "build $f first (make build bench-harness $BURNER)" >&2; exit 2; }
done

. Benchmarks/start-pinned.sh

# run NAME LOAD SUBSCRIBERS PROTOCOL -- SERVER...: one fan-out run, one table row.
run() {
    local name=$1 load=$2 subs=$3 protocol=$4 pid json burner=""
    shift 5
    PORT=$((PORT + 1))
    pid=$(start_pinned "$SERVER_CPU" "$PORT" "${@/PORT/$PORT}")
    if [ -z "$pid" ]; then echo "| $name | $load | $subs | did not start | | | | |"; return; fi
    if [ "$load" = contended ]; then
        taskset -c "$SERVER_CPU" "$BURNER" "$BURN_MS" "$BURN_PERIOD_MS" $((DURATION + 60)) &
        burner=$!
    fi
    json=$(taskset -c "$CLIENT_CPU" "$BENCH" fanout --port "$PORT" --subscribers "$subs" --protocol "$protocol" \
        "${harness_deflate[@]}" --rate "$RATE" --sources 2 --warmup 2 --duration "$DURATION" --connect-timeout 60 --server-pid "$pid" --json 2>/dev/null)
    [ -n "$burner" ] && kill "$burner" 2>/dev/null
    kill "$pid" 2>/dev/null
    wait 2>/dev/null
    python3 - "$name" "$load" "$subs" "$json" <<'PY'
import json, sys
name, load, subs, text = sys.argv[1:]
try:
    j = json.loads(text)
except ValueError:
    print(f"| {name} | {load} | {int(subs):,} | no result | | | | |")
    sys.exit()
r = j["results"]
lat = r["delivery_latency_us"]
ok = "" if j["ok"] and r["missing"] == 0 else " (errors)"
cpu = r.get("server_cpu_pct", -1) / 100
per = cpu * 1e6 / r["deliveries_per_s"] if r["deliveries_per_s"] else 0
print(f"| {name}{ok} | {load} | {int(subs):,} | {lat['p50'] / 1e3:.1f} | {lat['p99'] / 1e3:.1f} | "
      f"{r['deliveries_per_s']:,.0f} | {per:.2f} | {r['missing']:,} |")
PY
}

{
    echo "# Room fan-out, idle and contended ($(date -u +%Y-%m-%d), $(nproc) cores, server on CPU $SERVER_CPU)"
    echo
    echo "Contended: \`cpu_burner $BURN_MS $BURN_PERIOD_MS\` on the server's CPU. $RATE publishes/s, one publisher.${DEFLATE:+ permessage-deflate, $DEFLATE mode, 200-byte texts.}"
    echo
    echo "| server | core | subscribers | p50 ms | p99 ms | deliveries/s | server CPU µs per delivery | missing |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    for subs in $SUBSCRIBERS; do
        for load in idle contended; do
            for _ in $(seq "$REPEAT"); do
                run "NaviosWS gateway" "$load" "$subs" gateway -- "$GATEWAY" --port PORT --loops 1 "${navios_deflate[@]}"
                [ -n "$UWS" ] && run "uWebSockets" "$load" "$subs" broadcast -- "$UWS" PORT "${uws_deflate[@]}"
            done
        done
    done
    echo
    echo "Command: \`UWS_FANOUT=${UWS:-unset}${DEFLATE:+ DEFLATE=$DEFLATE} Benchmarks/run-fanout-contention.sh\`."
} | tee "$OUT"
