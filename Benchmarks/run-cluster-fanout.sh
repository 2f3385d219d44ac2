#!/usr/bin/env bash
# Fan-out across instances (make bench-cluster): the same load on one navios-ws-gateway-echo
# and on two instances sharing rooms through a redis-server, side by side in one run.
#
#   fanout-single          one instance, no adapter: 10,000 subscribers, 100 publishes/s
#   fanout-single-redis    one instance with the Redis adapter (the publish also goes to Redis)
#   fanout-two-instances   two instances with the adapter, subscribers split between them
#                          (round robin), the publisher on the first: half the deliveries cross
#                          Redis
#   publish-overhead-*     one subscriber, 2,000 publishes/s: the publishing instance's CPU per
#                          publish with the subscriber local (no adapter) and on the other
#                          instance (adapter): what a broadcast costs the publisher
#
# Both instances run on CPU 0 (the same server budget as the single instance); redis-server and
# the harness on CPU 1. Results: Benchmarks/results/cluster-<stamp>.json and a summary on stdout.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/build/navios-ws-bench
GATEWAY=${NAVIOS_WS_GATEWAY_ECHO:-$ROOT/.build/release/navios-ws-gateway-echo}
SUBSCRIBERS=${SUBSCRIBERS:-10000}
RATE=${RATE:-100}
WARMUP=${WARMUP:-1}
DURATION=${DURATION:-5}
RESULTS=$ROOT/Benchmarks/results/cluster-$(date +%Y%m%d-%H%M%S).json
WORK=$(mktemp -d /tmp/cluster-fanout.XXXXXX)
PIDS=()

log() { printf '[cluster-fanout] %s\n' "$*" >&2; }
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

REDIS_PORT=$(free_port)
taskset -c 1 redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning &
PIDS+=($!)
for _ in $(seq 1 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done

# start_gateway NAME [--redis]: the instance's port in $PORT_<NAME>, its pid in $PID_<NAME>.
start_gateway() {
    local name=$1 port
    shift
    port=$(free_port)
    taskset -c 0 "$GATEWAY" --port "$port" --loops 1 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    local pid=$!
    PIDS+=("$pid")
    for _ in $(seq 1 200); do grep -q listening "$WORK/$name.out" && break; sleep 0.05; done
    grep -q listening "$WORK/$name.out" || { log "$name did not start: $(cat "$WORK/$name.err")"; exit 1; }
    printf -v "PORT_$name" %s "$port"
    printf -v "PID_$name" %s "$pid"
}

stop_gateways() {
    local pid
    for pid in "$@"; do kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; done
}

# run NAME ARGS...: one navios-ws-bench fanout run, its JSON line appended to the results.
run() {
    local name=$1
    shift
    log "$name"
    taskset -c 1 timeout $((WARMUP + DURATION + 90)) "$BENCH" fanout --protocol gateway --size 20 --publishers 1 \
        --warmup "$WARMUP" --duration "$DURATION" --drain 3 --connect-timeout 60 --sources 2 --json "$@" \
        | python3 -c 'import json,sys; r=json.load(sys.stdin); r["name"]=sys.argv[1]; print(json.dumps(r))' "$name" \
        >>"$WORK/runs.jsonl"
}

start_gateway single
run fanout-single --port "$PORT_single" --subscribers "$SUBSCRIBERS" --rate "$RATE" --server-pid "$PID_single"
run publish-overhead-local --port "$PORT_single" --subscribers 1 --rate 2000 --server-pid "$PID_single"
stop_gateways "$PID_single"

start_gateway single_redis --redis "127.0.0.1:$REDIS_PORT"
sleep 0.5   # the link comes up in the background
run fanout-single-redis --port "$PORT_single_redis" --subscribers "$SUBSCRIBERS" --rate "$RATE" --server-pid "$PID_single_redis"
stop_gateways "$PID_single_redis"

start_gateway a --redis "127.0.0.1:$REDIS_PORT"
start_gateway b --redis "127.0.0.1:$REDIS_PORT"
sleep 0.5
# Round robin over the ports: subscribers alternate between a and b; the publisher (the last
# connection, an even ordinal) lands on a.
run fanout-two-instances --port "$PORT_a" --also-port "$PORT_b" --subscribers "$SUBSCRIBERS" --rate "$RATE" \
    --server-pid "$PID_a"
# One subscriber (ordinal 0) on b, the publisher (ordinal 1) on a.
run publish-overhead-remote --port "$PORT_b" --also-port "$PORT_a" --subscribers 1 --rate 2000 --server-pid "$PID_a"
stop_gateways "$PID_a" "$PID_b"

python3 - "$WORK/runs.jsonl" "$RESULTS" <<'PY'
import json, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
json.dump({"runs": runs}, open(sys.argv[2], "w"), indent=1)
by = {r["name"]: r for r in runs}
def res(name, key):
    return by[name]["results"].get(key)
print(f"{'run':26} {'deliveries/s':>13} {'missing':>8} {'p50 ms':>8} {'p99 ms':>8} {'server CPU %':>13}")
for r in runs:
    x = r["results"]
    lat = x.get("delivery_latency_us", {})
    print(f"{r['name']:26} {x.get('deliveries_per_s', 0):>13,.0f} {x.get('missing', 0):>8} "
          f"{lat.get('p50', 0) / 1000:>8.1f} {lat.get('p99', 0) / 1000:>8.1f} {x.get('server_cpu_pct', -1):>13.1f}")
for name in ("publish-overhead-local", "publish-overhead-remote"):
    x = by[name]["results"]
    per = x.get("server_cpu_pct", 0) / 100 / by[name]["parameters"]["rate"] * 1e6
    print(f"{name}: {per:.1f} us of the publishing instance's CPU per publish")
print(f"results: {sys.argv[2]}")
PY
