#!/usr/bin/env bash
# run-suite.sh — NaviosWS side by side with peer WebSocket servers, every scenario of
# navios-ws-bench (Benchmarks/harness) in one run, each server pinned to CPU $SERVER_CPU and
# the harness to CPU $CLIENT_CPU (one core each).
#
# Servers (SERVERS picks a subset; one that is missing or does not start is skipped, with
# the reason in the results):
#   navios-io_uring  navios-ws-echo --backend io_uring --loops 1   (raw echo)
#   navios-epoll     navios-ws-echo --backend epoll --loops 1
#   navios-gateway   navios-ws-gateway-echo --loops 1: echo and latency as gateway events
#                    (--protocol gateway), fan-out through a gateway room
#   hummingbird      Benchmarks/peers/hummingbird/hummingbird-echo (Hummingbird 2)
#   vapor            Benchmarks/peers/vapor/vapor-echo (Vapor 4)
#   node-ws          Benchmarks/peers/node-ws/echo.js, fan-out with broadcast.js
#   python-websockets  Benchmarks/peers/python-websockets/server.py (asyncio, .venv)
#   uws              $UWS_ECHO, a uWebSockets EchoServer built outside this repository
#                    (given the port as its only argument); only when UWS_ECHO is set
#
# Scenarios, per server, against one fresh process:
#   idle     $IDLE_CONNS upgraded connections held: the server's RSS growth per connection
#   echo     20-byte messages at each of $ECHO_CONNS connections, $ECHO_DEPTHS in flight
#            per connection: messages echoed per second (closed loop, every echo checked)
#   latency  $LAT_RATE requests/s over $LAT_CONNS connections, open loop: p50 ... max
#   connect  handshake + close cycles, $CONNECT_CONCURRENCY in flight: connections/s
#   fanout   (navios-gateway, node-ws, python-websockets only: the servers with rooms or a
#            broadcast) each of $FANOUT_COUNTS subscribers (10,000 down to 500) at
#            $FANOUT_RATE publishes/s, a fresh process each; compared count by count, and the
#            largest count a server copes with (every delivery made, p99 under 1 s) reported
# A run with any error (lost, mangled or late-beyond-the-drain message) is kept but marked
# failed, and never counts as a peer's best.
#
# Output: Benchmarks/results/suite-<stamp>.json (every run's harness JSON, the figures and
# their ratios to the best peer), suite-<stamp>.svg and latest.svg (plot_suite.py),
# latest.md (tables, ratios, machine, command); suite_report.py builds them from the runs.
#
#   Benchmarks/run-suite.sh            # the full suite (make bench), about 12 minutes
#   Benchmarks/run-suite.sh --quick    # fewer servers, points and seconds (make bench-quick)
#   SERVERS="navios-io_uring node-ws" Benchmarks/run-suite.sh --quick
# Knobs (env): SERVER_CPU=0 CLIENT_CPU=1 PORT_BASE=19300 SERVERS=... UWS_ECHO=...
# Builds nothing: `make bench` builds first (run-suite.sh skips what is missing).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
T0=$(date +%s)
COMMAND="Benchmarks/run-suite.sh $*"
MODE=full
for arg in "$@"; do
    case $arg in
        --quick) MODE=quick ;;
        *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
    esac
done

SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT_BASE=${PORT_BASE:-19300}
if [ "$MODE" = full ]; then
    DEFAULT_SERVERS="navios-io_uring navios-epoll navios-gateway hummingbird vapor node-ws python-websockets uws"
    ECHO_CONNS="1 10 100 1000" ECHO_DEPTHS="16 1" ECHO_WARMUP=0.5 ECHO_DURATION=2
    LAT_WARMUP=1 LAT_DURATION=4
    IDLE_CONNS=10000 IDLE_HOLD=2
    CONNECT_DURATION=3
    FANOUT_COUNTS="10000 5000 2000 1000 500" FANOUT_WARMUP=1 FANOUT_DURATION=3
else
    DEFAULT_SERVERS="navios-io_uring navios-gateway node-ws python-websockets"
    ECHO_CONNS="1 100 1000" ECHO_DEPTHS="16" ECHO_WARMUP=0.3 ECHO_DURATION=1
    LAT_WARMUP=0.5 LAT_DURATION=2
    IDLE_CONNS=2000 IDLE_HOLD=1
    CONNECT_DURATION=1.5
    FANOUT_COUNTS="2000 500" FANOUT_WARMUP=0.5 FANOUT_DURATION=1.5
fi
SERVERS=${SERVERS:-$DEFAULT_SERVERS}
ECHO_SIZE=20
LAT_RATE=20000 LAT_CONNS=100
CONNECT_CONCURRENCY=16
FANOUT_RATE=100
DRAIN=3                 # how long answers still in flight are waited for after a run
HARNESS_SLACK=30        # each harness run is killed this long after its own phases could end

BENCH=$ROOT/build/navios-ws-bench
NAVIOS=${NAVIOS_WS_ECHO:-$ROOT/.build/release/navios-ws-echo}
GATEWAY=${NAVIOS_WS_GATEWAY_ECHO:-$ROOT/.build/release/navios-ws-gateway-echo}
HB_BIN=$ROOT/Benchmarks/peers/hummingbird/hummingbird-echo/.build/release/hummingbird-echo
VAPOR_BIN=$ROOT/Benchmarks/peers/vapor/vapor-echo/.build/release/vapor-echo
NODE_DIR=$ROOT/Benchmarks/peers/node-ws
PY_SERVER=$ROOT/Benchmarks/peers/python-websockets/server.py
VENV_PY=$ROOT/.venv/bin/python
RESULTS_DIR=$ROOT/Benchmarks/results
STAMP=$(date +%Y%m%d-%H%M%S)
WORK=$(mktemp -d /tmp/run-suite.XXXXXX)
RAW=$WORK/runs.jsonl
SKIPS=$WORK/skipped.jsonl
: >"$RAW"
: >"$SKIPS"

log() { printf '[%4ds] %s\n' "$(($(date +%s) - T0))" "$*" >&2; }

# ---- servers ------------------------------------------------------------------------------
SERVER_PID=""
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null
    local i
    for i in $(seq 1 50); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}
cleanup() {
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PIN_SERVER=() PIN_CLIENT=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    PIN_SERVER=(taskset -c "$SERVER_CPU")
    PIN_CLIENT=(taskset -c "$CLIENT_CPU")
else
    log "note: fewer than 2 CPUs or no taskset: server and harness are not pinned"
fi
# 10,000 connections need as many descriptors in the server, which inherits this limit.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

node_ok() { command -v node >/dev/null && NODE_PATH=/usr/share/nodejs node -e "require('ws')" 2>/dev/null; }

# Why a server cannot run here, or nothing.
unavailable() {
    case $1 in
        navios-io_uring | navios-epoll) [ -x "$NAVIOS" ] || echo "$NAVIOS is missing (make build)" ;;
        navios-gateway) [ -x "$GATEWAY" ] || echo "$GATEWAY is missing (swift build -c release --product navios-ws-gateway-echo)" ;;
        hummingbird) [ -x "$HB_BIN" ] || echo "the Hummingbird peer is not built (make bench builds it)" ;;
        vapor) [ -x "$VAPOR_BIN" ] || echo "the Vapor peer is not built (make bench builds it)" ;;
        node-ws) node_ok || echo "node or its ws module is missing (apt-get install -y nodejs node-ws)" ;;
        python-websockets) "$VENV_PY" -c "import websockets" 2>/dev/null || echo "no websockets in $VENV_PY (make venv)" ;;
        uws)
            if [ -z "${UWS_ECHO:-}" ]; then echo "UWS_ECHO is not set"
            elif [ ! -x "$UWS_ECHO" ]; then echo "UWS_ECHO=$UWS_ECHO is not executable"
            fi ;;
        *) echo "unknown server" ;;
    esac
}

# SERVER_CMD for a server, a role (echo or fanout) and a port.
server_cmd() {
    local name=$1 role=$2 port=$3
    case $name in
        navios-io_uring) SERVER_CMD=("$NAVIOS" --host 127.0.0.1 --port "$port" --loops 1 --backend io_uring) ;;
        navios-epoll) SERVER_CMD=("$NAVIOS" --host 127.0.0.1 --port "$port" --loops 1 --backend epoll) ;;
        navios-gateway) SERVER_CMD=("$GATEWAY" --port "$port" --loops 1) ;;
        hummingbird) SERVER_CMD=("$HB_BIN" --host 127.0.0.1 --port "$port") ;;
        vapor) SERVER_CMD=("$VAPOR_BIN" --host 127.0.0.1 --port "$port") ;;
        node-ws)
            local js=echo.js
            [ "$role" = fanout ] && js=broadcast.js
            SERVER_CMD=(env NODE_PATH=/usr/share/nodejs node "$NODE_DIR/$js" --host 127.0.0.1 --port "$port") ;;
        python-websockets)
            local mode=echo
            [ "$role" = fanout ] && mode=broadcast
            SERVER_CMD=("$VENV_PY" "$PY_SERVER" --host 127.0.0.1 --port "$port" --mode "$mode") ;;
        uws) SERVER_CMD=("$UWS_ECHO" "$port") ;;
    esac
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT_NEXT=$PORT_BASE
next_port() {
    while port_in_use "$PORT_NEXT"; do PORT_NEXT=$((PORT_NEXT + 1)); done
    SERVER_PORT=$PORT_NEXT
    PORT_NEXT=$((PORT_NEXT + 1))
}

# Starts a server pinned to SERVER_CPU; sets SERVER_PID and SERVER_PORT, or returns 1.
start_server() {
    local name=$1 role=$2
    next_port
    server_cmd "$name" "$role" "$SERVER_PORT"
    local logf=$WORK/$name-$role.log
    # SIGPIPE ignored: uSockets writes with writev and may not ignore it itself.
    (trap '' PIPE; exec "${PIN_SERVER[@]}" "${SERVER_CMD[@]}") >"$logf" 2>&1 &
    SERVER_PID=$!
    local i
    for i in $(seq 1 200); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            START_ERROR="exited at start: $(tail -3 "$logf" | tr '\n"' " '")"
            SERVER_PID=""
            return 1
        fi
        grep -qi "listening" "$logf" && port_in_use "$SERVER_PORT" && { sleep 0.3; return 0; }
        sleep 0.1
    done
    START_ERROR="no ready line in 20 s: $(tail -3 "$logf" | tr '\n"' " '")"
    stop_server
    return 1
}

skip() {
    log "skipping $1 ($2): $3"
    printf '{"server":"%s","role":"%s","reason":"%s"}\n' "$1" "$2" "$(printf '%s' "$3" | tr '"\\' "' ")" >>"$SKIPS"
}

# ---- harness runs ---------------------------------------------------------------------------
# run_bench SERVER SCENARIO LABEL TIME_BOUND_S ARGS... : one harness run pinned to CLIENT_CPU,
# killed after TIME_BOUND_S; appends {"server","scenario","label","exit","result"} to RAW.
run_bench() {
    local server=$1 scenario=$2 label=$3 bound=$4
    shift 4
    local out rc
    out=$(timeout -k 5 "$bound" "${PIN_CLIENT[@]}" "$BENCH" "$scenario" --port "$SERVER_PORT" --json \
        --server-pid "$SERVER_PID" "$@" 2>"$WORK/bench.err")
    rc=$?
    if [[ $out != \{* ]]; then
        local why
        why=$(head -c 300 "$WORK/bench.err" | tr '\n"\\' "  '")
        [ $rc -eq 124 ] && why="killed after ${bound} s; $why"
        printf '{"server":"%s","scenario":"%s","label":"%s","exit":%d,"result":null,"error":"%s"}\n' \
            "$server" "$scenario" "$label" "$rc" "$why" >>"$RAW"
        log "  $server $label: no result (exit $rc) $why"
        return
    fi
    printf '{"server":"%s","scenario":"%s","label":"%s","exit":%d,"result":%s}\n' \
        "$server" "$scenario" "$label" "$rc" "$out" >>"$RAW"
    log "  $server $label: exit $rc $(summary "$scenario" "$out")"
}

# One line of a run's JSON for the log.
summary() {
    python3 -c '
import json, sys
r = json.loads(sys.argv[2]); x = r["results"]; s = sys.argv[1]
lat = x.get("latency_us") or x.get("delivery_latency_us") or x.get("handshake_latency_us") or {}
keys = {"echo": ["msgs_per_s"], "latency": ["answered_per_s"], "fanout": ["deliveries_per_s", "missing"],
        "connect": ["connections_per_s"], "idle": ["opened", "server_rss_bytes_per_conn"]}[s]
parts = [f"{k}={x.get(k)}" for k in keys]
if lat and s != "connect": parts.append("p50/p99/max us=%s/%s/%s" % (lat.get("p50"), lat.get("p99"), lat.get("max")))
if r["errors"]["total"]: parts.append("errors=" + ",".join(f"{k}:{v}" for k, v in r["errors"].items() if v and k != "total"))
print(" ".join(parts))' "$1" "$2" 2>/dev/null
}

server_alive() {
    kill -0 "$SERVER_PID" 2>/dev/null && return 0
    log "  $1 died: $(tail -3 "$WORK/$1-$2.log" | tr '\n' ' ')"
    SERVER_PID=""
    return 1
}

bound() { python3 -c "import sys; print(int(sum(map(float, sys.argv[1:]))) + $HARNESS_SLACK)" "$@"; }

# Every echo-side scenario against one fresh process of a server.
echo_side() {
    local s=$1 proto=()
    [ "$s" = navios-gateway ] && proto=(--protocol gateway --event echo)
    if ! start_server "$s" echo; then
        skip "$s" echo "$START_ERROR"
        return
    fi
    log "$s (pid $SERVER_PID, port $SERVER_PORT)"
    sleep 0.7   # a runtime settles (JIT, thread pools) before the idle baseline is read
    run_bench "$s" idle "idle-$IDLE_CONNS" "$(bound 60 "$IDLE_HOLD")" --connections "$IDLE_CONNS" \
        --warmup 0 --duration "$IDLE_HOLD" --connect-timeout 60
    server_alive "$s" echo || return
    local c d
    for d in $ECHO_DEPTHS; do
        for c in $ECHO_CONNS; do
            run_bench "$s" echo "echo-${c}c-d$d" "$(bound 30 $ECHO_WARMUP $ECHO_DURATION $DRAIN)" "${proto[@]}" \
                --connections "$c" --size "$ECHO_SIZE" --depth "$d" --warmup "$ECHO_WARMUP" \
                --duration "$ECHO_DURATION" --drain "$DRAIN" --connect-timeout 30
            server_alive "$s" echo || return
        done
    done
    run_bench "$s" latency "latency-${LAT_RATE}rps" "$(bound 30 $LAT_WARMUP $LAT_DURATION $DRAIN)" "${proto[@]}" \
        --connections "$LAT_CONNS" --rate "$LAT_RATE" --size "$ECHO_SIZE" --warmup "$LAT_WARMUP" \
        --duration "$LAT_DURATION" --drain "$DRAIN" --connect-timeout 30
    server_alive "$s" echo || return
    run_bench "$s" connect connect "$(bound 30 1 $CONNECT_DURATION $DRAIN)" --concurrency "$CONNECT_CONCURRENCY" \
        --sources 4 --warmup 0.5 --duration "$CONNECT_DURATION" --drain "$DRAIN" --connect-timeout 10
    stop_server
}

# Fan-out at each count of FANOUT_COUNTS (largest first): the report compares servers at the
# same count, and names the largest each coped with (every delivery made, p99 under a second).
fanout_side() {
    local s=$1 proto=broadcast n
    [ "$s" = navios-gateway ] && proto=gateway
    for n in $FANOUT_COUNTS; do
        if ! start_server "$s" fanout; then
            skip "$s" fanout "$START_ERROR"
            return
        fi
        log "$s fan-out, $n subscribers (pid $SERVER_PID)"
        run_bench "$s" fanout "fanout-${n}subs" "$(bound 60 $FANOUT_WARMUP $FANOUT_DURATION $DRAIN)" \
            --protocol "$proto" --subscribers "$n" --publishers 1 --rate "$FANOUT_RATE" --size 20 \
            --warmup "$FANOUT_WARMUP" --duration "$FANOUT_DURATION" --drain "$DRAIN" --connect-timeout 60
        stop_server
    done
}

# ---- main ------------------------------------------------------------------------------------
[ -x "$BENCH" ] || { log "$BENCH is missing (make bench-harness)"; exit 1; }
log "run-suite ($MODE): servers $SERVERS; server on CPU $SERVER_CPU, harness on CPU $CLIENT_CPU"
ACTIVE=()
for s in $SERVERS; do
    reason=$(unavailable "$s")
    if [ -n "$reason" ]; then skip "$s" all "$reason"; else ACTIVE+=("$s"); fi
done
for s in "${ACTIVE[@]}"; do echo_side "$s"; done
for s in "${ACTIVE[@]}"; do
    case $s in navios-gateway | node-ws | python-websockets) fanout_side "$s" ;; esac
done

mkdir -p "$RESULTS_DIR"
export RAW SKIPS MODE COMMAND T0 SERVER_CPU CLIENT_CPU
export PARAMS="echo_size=$ECHO_SIZE echo_warmup_s=$ECHO_WARMUP echo_duration_s=$ECHO_DURATION latency_rate=$LAT_RATE latency_connections=$LAT_CONNS latency_duration_s=$LAT_DURATION idle_connections=$IDLE_CONNS connect_concurrency=$CONNECT_CONCURRENCY fanout_subscribers=${FANOUT_COUNTS// /,} fanout_rate=$FANOUT_RATE fanout_duration_s=$FANOUT_DURATION drain_s=$DRAIN"
export GIT_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
export NODE_VERSION=$(node --version 2>/dev/null || echo none)
export WS_VERSION=$(node -e "console.log(require('/usr/share/nodejs/ws/package.json').version)" 2>/dev/null || echo none)
export PY_WS_VERSION=$("$VENV_PY" -c "import websockets; print(websockets.__version__)" 2>/dev/null || echo none)
OUT=$RESULTS_DIR/suite-$STAMP
python3 Benchmarks/suite_report.py --json "$OUT.json" --markdown "$RESULTS_DIR/latest.md" || exit 1
python3 Benchmarks/plot_suite.py "$OUT.json" "$OUT.svg" && cp "$OUT.svg" "$RESULTS_DIR/latest.svg"
log "wrote $OUT.json, $OUT.svg, $RESULTS_DIR/latest.svg, $RESULTS_DIR/latest.md"
cat "$RESULTS_DIR/latest.md"
