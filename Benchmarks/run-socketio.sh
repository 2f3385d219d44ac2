#!/usr/bin/env bash
# run-socketio.sh — Socket.IO side by side, in one run, each server pinned to CPU $SERVER_CPU and
# the harness to CPU $CLIENT_CPU (navios-ws-bench --protocol socketio, Benchmarks/harness):
#
#   json-gateway     navios-ws-gateway-echo: the typed echo over our JSON protocol (the bar:
#                    Socket.IO should reach 0.8x of it)
#   sio-gateway      navios-ws-gateway-echo --socketio on: the same handler, over Socket.IO
#   sio-contract     navios-ws-socketio-server: `message-with-ack`, arguments as they came
#   python-socketio  the conformance kit's ref_server.py (python-socketio on aiohttp), the same
#                    event
#
# Scenarios: echo with ack, $ECHO_CONNS connections, one in flight and $PIPELINE pipelined
# (msgs/s and server CPU per message); fan-out through a room (join, room-emit) to
# $FANOUT_SUBS subscribers at $FANOUT_RATE publishes/s (python-socketio: $PY_FANOUT_SUBS at
# $PY_FANOUT_RATE);
# idle memory per connection ($IDLE_CONNS held); and connection state recovery's cost
# (Benchmarks/socketio_recovery_cost.py, in memory and behind a redis-server it starts).
# Output: Benchmarks/results/socketio-latest.json and socketio-latest.md.
#
#   Benchmarks/run-socketio.sh            # make bench-socketio, about 4 minutes
#   Benchmarks/run-socketio.sh --quick    # fewer connections and seconds
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
MODE=full
[ "${1:-}" = --quick ] && MODE=quick
SERVER_CPU=${SERVER_CPU:-0} CLIENT_CPU=${CLIENT_CPU:-1}
if [ "$MODE" = full ]; then
    ECHO_CONNS=100 PIPELINE=16 WARMUP=1 DURATION=4 FANOUT_SUBS=10000 PY_FANOUT_SUBS=1000 IDLE_CONNS=10000
    RECOVERY_CLIENTS=500
else
    ECHO_CONNS=50 PIPELINE=16 WARMUP=0.5 DURATION=1.5 FANOUT_SUBS=2000 PY_FANOUT_SUBS=500 IDLE_CONNS=2000
    RECOVERY_CLIENTS=100
fi
FANOUT_RATE=100 DRAIN=3
PY_FANOUT_RATE=10   # python-socketio saturates near 20,000 deliveries/s: 10 publishes/s to 1,000 fit
BENCH=$ROOT/build/navios-ws-bench
GATEWAY=$ROOT/.build/release/navios-ws-gateway-echo
CONTRACT=$ROOT/.build/release/navios-ws-socketio-server
VENV_PY=$ROOT/.venv/bin/python
REF_SERVER=${SOCKETIO_REF_SERVER:-$ROOT/../shared/tools/socketio/ref_server.py}
WORK=$(mktemp -d /tmp/run-socketio.XXXXXX)
RAW=$WORK/runs.jsonl
: >"$RAW"
SERVER_PID=""
log() { printf '%s\n' "$*" >&2; }
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}
trap 'stop_server; rm -rf "$WORK"' EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
PIN_SERVER=() PIN_CLIENT=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    PIN_SERVER=(taskset -c "$SERVER_CPU") PIN_CLIENT=(taskset -c "$CLIENT_CPU")
fi
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }

# start_server NAME: the server, on a free port; sets SERVER_PID, PORT, PROTO, EVENT.
start_server() {
    PORT=$(free_port)
    local cmd
    case $1 in
        json-gateway) cmd=("$GATEWAY" --port "$PORT" --loops 1); PROTO=gateway EVENT=echo ;;
        sio-gateway) cmd=("$GATEWAY" --port "$PORT" --loops 1 --socketio on); PROTO=socketio EVENT=echo ;;
        sio-contract) cmd=("$CONTRACT" --port "$PORT" --loops 1 --ping-interval 25000 --ping-timeout 20000)
            PROTO=socketio EVENT=message-with-ack ;;
        python-socketio) cmd=("$VENV_PY" "$REF_SERVER" --port "$PORT" --driver aiohttp --ping-interval 25000
            --ping-timeout 20000); PROTO=socketio EVENT=message-with-ack ;;
    esac
    (exec "${PIN_SERVER[@]}" "${cmd[@]}") >"$WORK/$1.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && { sleep 0.3; return 0; }
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    log "$1 did not start: $(tail -3 "$WORK/$1.log")"
    stop_server
    return 1
}

# bench SERVER LABEL SCENARIO ARGS...: one harness run, its JSON kept.
bench() {
    local server=$1 label=$2 scenario=$3
    shift 3
    local out
    out=$(timeout -k 5 180 "${PIN_CLIENT[@]}" "$BENCH" "$scenario" --port "$PORT" --json --server-pid "$SERVER_PID" "$@" \
        2>"$WORK/bench.err")
    [[ $out == \{* ]] || out=null
    printf '{"server":"%s","label":"%s","result":%s}\n' "$server" "$label" "$out" >>"$RAW"
    log "  $server $label: $(printf '%s' "$out" | head -c 160)"
}

for server in json-gateway sio-gateway sio-contract python-socketio; do
    if [ "$server" = python-socketio ] && ! "$VENV_PY" -c "import socketio, aiohttp" 2>/dev/null; then
        log "python-socketio: not in $VENV_PY (make venv)"; continue
    fi
    [ "$server" = python-socketio ] && [ ! -f "$REF_SERVER" ] && { log "no $REF_SERVER"; continue; }
    start_server "$server" || continue
    log "$server (pid $SERVER_PID)"
    for depth in 1 "$PIPELINE"; do
        bench "$server" "echo-d$depth" echo --protocol "$PROTO" --event "$EVENT" --connections "$ECHO_CONNS" \
            --depth "$depth" --warmup "$WARMUP" --duration "$DURATION" --drain "$DRAIN" --connect-timeout 30
    done
    stop_server
    subs=$FANOUT_SUBS rate=$FANOUT_RATE
    [ "$server" = python-socketio ] && subs=$PY_FANOUT_SUBS rate=$PY_FANOUT_RATE
    fan_proto=$PROTO
    [ "$server" = sio-gateway ] && continue   # its room events are the JSON gateway's
    start_server "$server" || continue
    bench "$server" "idle" idle --protocol "$PROTO" --connections "$IDLE_CONNS" --warmup 0 --duration 2 \
        --connect-timeout 120
    stop_server
    start_server "$server" || continue
    bench "$server" "fanout-$subs" fanout --protocol "$fan_proto" --subscribers "$subs" --publishers 1 \
        --rate "$rate" --size 20 --warmup "$WARMUP" --duration "$DURATION" --drain "$DRAIN" --connect-timeout 120
    stop_server
done

# Recovery: in memory, then behind a redis-server started here.
RECOVERY=$WORK/recovery.jsonl
: >"$RECOVERY"
"$VENV_PY" Benchmarks/socketio_recovery_cost.py --server "$CONTRACT" --clients "$RECOVERY_CLIENTS" >>"$RECOVERY"
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
"$VENV_PY" Benchmarks/socketio_recovery_cost.py --server "$CONTRACT" --clients "$RECOVERY_CLIENTS" \
    --redis "127.0.0.1:$REDIS_PORT" >>"$RECOVERY"
kill "$REDIS_PID" 2>/dev/null
wait "$REDIS_PID" 2>/dev/null

mkdir -p Benchmarks/results
python3 Benchmarks/socketio_report.py "$RAW" "$RECOVERY" --mode "$MODE" --json Benchmarks/results/socketio-latest.json \
    --markdown Benchmarks/results/socketio-latest.md
cat Benchmarks/results/socketio-latest.md
