#!/usr/bin/env bash
# run-echo.sh — navios-ws-echo side by side with peer echo servers, in one run.
#
# Servers: navios-ws-echo (io_uring and epoll, one loop each), Hummingbird 2
# (Benchmarks/peers/hummingbird/hummingbird-echo), node `ws` (Benchmarks/peers/node-ws/echo.js)
# and, when UWS_ECHO names a binary, uWebSockets' EchoServer (built outside this repository;
# it is given the port as its only argument). Each server is pinned to one CPU
# (taskset -c $SERVER_CPU) and the load generator (Benchmarks/loadgen/echo_load.c) to another
# (taskset -c $CLIENT_CPU), so every server gets exactly one core.
#
# Throughput scenarios (messages echoed per second, measured after a warm-up):
#   a  100 connections, 20-byte text messages, 1 in flight per connection (uWS's own load test)
#   b  100 connections, 20-byte text messages, 16 in flight per connection (pipelined)
#   c  10 connections, 16 KiB text messages, 4 in flight per connection
# Memory scenario: $IDLE_CONNS idle upgraded connections held $HOLD s against a fresh server;
# the server's VmRSS growth divided by the connections.
#
# Throughput runs $ROUNDS rounds (each server in turn, every scenario, then the next round)
# and reports each cell's best round: on a shared machine noise only ever lowers a rate. Each
# cell also shows how busy the server's and the load generator's cores were (from /proc/stat,
# interrupt work included): a client core near 100% means the number is a lower bound.
# Prints a table per part and the ratios of navios (io_uring) to each peer, and writes
# everything (every round) to Benchmarks/results/echo-<date>.json. A peer that cannot be
# built or started is skipped with the reason. Builds what it needs: build/echo_load (cc),
# the Hummingbird peer (swift build, never while another swift build runs), navios-ws-echo
# only if missing.
#
#   Benchmarks/run-echo.sh                      # everything, about 4 minutes
#   UWS_ECHO=/tmp/uws/EchoServer Benchmarks/run-echo.sh
#   Benchmarks/run-echo.sh --no-memory          # throughput only
#   Benchmarks/run-echo.sh --memory-only
# Knobs (env): WARMUP=1 DURATION=4 ROUNDS=2 IDLE_CONNS=10000 HOLD=5 SERVER_CPU=0 CLIENT_CPU=1
#              PORT_BASE=19100 SERVERS="navios-io_uring navios-epoll hummingbird node-ws uws"
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
BUILD=$ROOT/build
WARMUP=${WARMUP:-1}
DURATION=${DURATION:-4}
ROUNDS=${ROUNDS:-2}
IDLE_CONNS=${IDLE_CONNS:-10000}
HOLD=${HOLD:-5}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT_BASE=${PORT_BASE:-19100}
SERVERS=${SERVERS:-"navios-io_uring navios-epoll hummingbird node-ws uws"}
NAVIOS=${NAVIOS_WS_ECHO:-$ROOT/.build/release/navios-ws-echo}
HB_PKG=$ROOT/Benchmarks/peers/hummingbird/hummingbird-echo
HB_BIN=$HB_PKG/.build/release/hummingbird-echo
NODE_ECHO=$ROOT/Benchmarks/peers/node-ws/echo.js
LOADGEN=$BUILD/echo_load
RESULTS_DIR=$ROOT/Benchmarks/results
STAMP=$(date +%Y%m%d-%H%M%S)
OUT_JSON=$RESULTS_DIR/echo-$STAMP.json

RUN_THROUGHPUT=1
RUN_MEMORY=1
for arg in "$@"; do
    case $arg in
        --no-memory) RUN_MEMORY=0 ;;
        --memory-only) RUN_THROUGHPUT=0 ;;
        *) echo "usage: $0 [--no-memory | --memory-only]" >&2; exit 2 ;;
    esac
done

# name  connections  size  depth
SCENARIOS=(
    "a-100c-20B-d1 100 20 1"
    "b-100c-20B-d16 100 20 16"
    "c-10c-16KiB-d4 10 16384 4"
)

log() { printf '%s\n' "$*" >&2; }

# Runs of echo_load append one JSON object per line here; the report is built from it.
RAW=$(mktemp /tmp/run-echo.XXXXXX.jsonl)
SERVER_LOG_DIR=$(mktemp -d /tmp/run-echo-logs.XXXXXX)
SERVER_PID=""
cleanup() {
    stop_server
    rm -f "$RAW"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- pinning ---------------------------------------------------------------------------
PIN_SERVER=()
PIN_CLIENT=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    PIN_SERVER=(taskset -c "$SERVER_CPU")
    PIN_CLIENT=(taskset -c "$CLIENT_CPU")
else
    log "note: fewer than 2 CPUs or no taskset: server and load generator are not pinned"
fi
# 10,000 idle connections need as many descriptors in the server, which inherits this limit.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ---- building --------------------------------------------------------------------------
wait_for_swift_build() {
    local waited=0
    while pgrep -f swift-build >/dev/null; do
        [ $waited -eq 0 ] && log "waiting for another swift build to finish..."
        sleep 5
        waited=$((waited + 5))
        if [ $waited -ge 1200 ]; then
            log "gave up waiting for the other swift build"
            return 1
        fi
    done
}

build_loadgen() {
    local srcs=(Benchmarks/loadgen/echo_load.c CSources/CNaviosWS/frame.c CSources/CNaviosWS/mask.c
                CSources/CNaviosWS/utf8.c CSources/CNaviosWS/error.c)
    local stale=0 f
    [ -x "$LOADGEN" ] || stale=1
    for f in "${srcs[@]}" CSources/CNaviosWS/include/*.h CSources/CNaviosWS/*.h; do
        [ "$f" -nt "$LOADGEN" ] && stale=1
    done
    [ $stale -eq 0 ] && return 0
    mkdir -p "$BUILD"
    log "building $LOADGEN"
    ${CC:-cc} -std=c11 -O2 -ICSources/CNaviosWS/include -ICSources/CNaviosWS "${srcs[@]}" \
        -o "$LOADGEN" -lssl -lcrypto
}

build_navios() {
    [ -x "$NAVIOS" ] && return 0
    wait_for_swift_build || return 1
    log "building navios-ws-echo"
    swift build -c release --product navios-ws-echo >&2
}

build_hummingbird() {
    wait_for_swift_build || return 1
    log "building the Hummingbird peer (swift build -c release --package-path ${HB_PKG#"$ROOT"/})"
    swift build -c release --package-path "$HB_PKG" >"$SERVER_LOG_DIR/hummingbird-build.log" 2>&1 || {
        tail -5 "$SERVER_LOG_DIR/hummingbird-build.log" >&2
        return 1
    }
}

# ---- servers ---------------------------------------------------------------------------
# Sets SERVER_CMD (an array) for a server name and a port, or prints why it cannot run.
declare -A SKIPPED=()
server_cmd() {
    local name=$1 port=$2
    case $name in
        navios-io_uring) SERVER_CMD=("$NAVIOS" --host 127.0.0.1 --port "$port" --loops 1 --backend io_uring) ;;
        navios-epoll) SERVER_CMD=("$NAVIOS" --host 127.0.0.1 --port "$port" --loops 1 --backend epoll) ;;
        hummingbird) SERVER_CMD=("$HB_BIN" --host 127.0.0.1 --port "$port") ;;
        node-ws) SERVER_CMD=(env NODE_PATH=/usr/share/nodejs node "$NODE_ECHO" --host 127.0.0.1 --port "$port") ;;
        uws) SERVER_CMD=("$UWS_ECHO" "$port") ;;
    esac
}

# Why a server cannot run here, or nothing.
unavailable() {
    case $1 in
        navios-*) [ -x "$NAVIOS" ] || echo "navios-ws-echo was not built ($NAVIOS)" ;;
        hummingbird) [ -x "$HB_BIN" ] || echo "the Hummingbird peer did not build (see above)" ;;
        node-ws)
            if ! command -v node >/dev/null; then echo "node is not installed"
            elif ! NODE_PATH=/usr/share/nodejs node -e "require('ws')" 2>/dev/null; then
                echo "node's ws module is missing (apt-get install -y node-ws)"
            fi ;;
        uws)
            if [ -z "${UWS_ECHO:-}" ]; then echo "UWS_ECHO is not set (path of a uWebSockets EchoServer taking the port as argument)"
            elif [ ! -x "$UWS_ECHO" ]; then echo "UWS_ECHO=$UWS_ECHO is not executable"
            fi ;;
    esac
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

next_port() {
    local p=$PORT_NEXT
    while port_in_use "$p"; do p=$((p + 1)); done
    PORT_NEXT=$((p + 1))
    echo "$p"
}
PORT_NEXT=$PORT_BASE

# Starts a server pinned to SERVER_CPU; sets SERVER_PID and SERVER_PORT, or returns 1.
start_server() {
    local name=$1
    SERVER_PORT=$(next_port)
    server_cmd "$name" "$SERVER_PORT"
    local logf=$SERVER_LOG_DIR/$name.log
    if [ "$name" = uws ]; then
        # uSockets writes with writev, which raises SIGPIPE when a client has gone: ignore it
        # (node and navios do not die of it either) in case the binary does not.
        (trap '' PIPE; exec "${PIN_SERVER[@]}" "${SERVER_CMD[@]}") >"$logf" 2>&1 &
    else
        "${PIN_SERVER[@]}" "${SERVER_CMD[@]}" >"$logf" 2>&1 &
    fi
    SERVER_PID=$!
    local i
    for i in $(seq 1 200); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            log "  $name exited at start: $(tail -3 "$logf" | tr '\n' ' ')"
            SERVER_PID=""
            return 1
        fi
        if grep -qi "listening" "$logf" && port_in_use "$SERVER_PORT"; then
            return 0
        fi
        sleep 0.1
    done
    log "  $name printed no ready line in 20 s: $(tail -3 "$logf" | tr '\n' ' ')"
    stop_server
    return 1
}

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

# Appends {"server":..,"scenario":..,"round":..,"result":{echo_load's JSON}} (or an error)
# to RAW.
record() {
    local server=$1 scenario=$2 round=$3 output=$4
    if [[ $output == \{* ]]; then
        printf '{"server":"%s","scenario":"%s","round":%s,"result":%s}\n' "$server" "$scenario" "$round" "$output" >>"$RAW"
    else
        output=$(printf '%s' "$output" | tr '"\n\\' "' /" | cut -c1-300)
        printf '{"server":"%s","scenario":"%s","round":%s,"failed":"%s"}\n' "$server" "$scenario" "$round" "$output" >>"$RAW"
    fi
}

# Percent of one CPU that the machine spends busy over a second before we start: other work
# on the cores we pin to lowers every number.
background_load() {
    local a b
    read -r _ a1 a2 a3 a4 a5 a6 a7 a8 _ </proc/stat
    sleep 1
    read -r _ b1 b2 b3 b4 b5 b6 b7 b8 _ </proc/stat
    a=$(( (b1 - a1) + (b2 - a2) + (b3 - a3) + (b6 - a6) + (b7 - a7) + (b8 - a8) ))
    b=$(( a + (b4 - a4) + (b5 - a5) ))
    echo $(( b > 0 ? a * 100 * $(nproc) / b : 0 ))
}

# ---- main ------------------------------------------------------------------------------
build_loadgen || { log "cannot build the load generator"; exit 1; }
case " $SERVERS " in *" navios-"*) build_navios || log "navios-ws-echo could not be built" ;; esac
case " $SERVERS " in *" hummingbird "*) build_hummingbird || log "the Hummingbird peer could not be built" ;; esac

ACTIVE=()
for s in $SERVERS; do
    reason=$(unavailable "$s")
    if [ -n "$reason" ]; then
        log "skipping $s: $reason"
        SKIPPED[$s]=$reason
    else
        ACTIVE+=("$s")
    fi
done

BACKGROUND=$(background_load)
if [ "$BACKGROUND" -ge 15 ]; then
    log "warning: the machine is already busy (${BACKGROUND}% of a CPU before the run): numbers will be low and noisy"
    log "         $(ps -eo pcpu=,comm= --sort=-pcpu | head -3 | tr -s ' ' | tr '\n' ';')"
fi

if [ $RUN_THROUGHPUT -eq 1 ]; then
    log ""
    log "throughput: $ROUNDS round(s), warm-up ${WARMUP} s, measure ${DURATION} s per scenario"
    for round in $(seq 1 "$ROUNDS"); do
        for s in "${ACTIVE[@]}"; do
            [ -n "${SKIPPED[$s]:-}" ] && continue
            if ! start_server "$s"; then
                SKIPPED[$s]="did not start (see above)"
                continue
            fi
            for sc in "${SCENARIOS[@]}"; do
                read -r scname conns size depth <<<"$sc"
                out=$("${PIN_CLIENT[@]}" "$LOADGEN" --port "$SERVER_PORT" --connections "$conns" --size "$size" \
                    --depth "$depth" --warmup "$WARMUP" --duration "$DURATION" --server-pid "$SERVER_PID" \
                    --json 2>&1 | tail -1)
                record "$s" "$scname" "$round" "$out"
                log "  [$round] $s $scname: $(printf '%s' "$out" | cut -c1-200)"
                if ! kill -0 "$SERVER_PID" 2>/dev/null; then
                    log "  $s died during $scname: $(tail -3 "$SERVER_LOG_DIR/$s.log" | tr '\n' ' ')"
                    SERVER_PID=""
                    break
                fi
            done
            stop_server
        done
    done
fi

if [ $RUN_MEMORY -eq 1 ]; then
    log ""
    log "memory: $IDLE_CONNS idle connections held ${HOLD} s against a fresh server"
    for s in "${ACTIVE[@]}"; do
        if ! start_server "$s"; then
            SKIPPED[$s]="did not start (see above)"
            continue
        fi
        sleep 1   # let a runtime settle (JIT, thread pools) before the baseline is read
        out=$("${PIN_CLIENT[@]}" "$LOADGEN" --port "$SERVER_PORT" --idle "$IDLE_CONNS" --hold "$HOLD" \
            --connect-timeout 60 --server-pid "$SERVER_PID" --json 2>&1 | tail -1)
        record "$s" "idle-$IDLE_CONNS" 1 "$out"
        log "  $s: $out"
        stop_server
    done
fi

# ---- report ----------------------------------------------------------------------------
mkdir -p "$RESULTS_DIR"
skipped_json=$(for s in "${!SKIPPED[@]}"; do
    printf '{"server":"%s","reason":"%s"}\n' "$s" "$(printf '%s' "${SKIPPED[$s]}" | tr '"' "'")"
done)
export RAW OUT_JSON WARMUP DURATION ROUNDS IDLE_CONNS HOLD SERVER_CPU CLIENT_CPU BACKGROUND
export SKIPPED_JSON=$skipped_json
export GIT_COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown)
export UWS_ECHO=${UWS_ECHO:-}
export NODE_VERSION=$(node --version 2>/dev/null || echo none)
export WS_VERSION=$(node -e "console.log(require('/usr/share/nodejs/ws/package.json').version)" 2>/dev/null || echo none)
export HB_RESOLVED=$HB_PKG/Package.resolved
python3 - <<'PY'
import json, os, platform, time

raw = [json.loads(l) for l in open(os.environ["RAW"]) if l.strip()]
skipped = [json.loads(l) for l in os.environ.get("SKIPPED_JSON", "").splitlines() if l.strip()]
BASE = "navios-io_uring"
is_idle = lambda r: r["scenario"].startswith("idle")

servers, scenarios = [], []
for r in raw:
    if r["server"] not in servers:
        servers.append(r["server"])
    if not is_idle(r) and r["scenario"] not in scenarios:
        scenarios.append(r["scenario"])

# (server, scenario) -> every round's result, and the best one.
rounds = {}
for r in raw:
    if not is_idle(r):
        rounds.setdefault((r["server"], r["scenario"]), []).append(r)
best = {}
for k, rs in rounds.items():
    ok = [r for r in rs if "result" in r]
    if ok:
        best[k] = max(ok, key=lambda r: r["result"]["msgs_per_s"])

def rate(server, scenario):
    r = best.get((server, scenario))
    return r["result"]["msgs_per_s"] if r else None

notes = set()
def cell(server, scenario):
    if (server, scenario) not in rounds:
        return "-"
    r = best.get((server, scenario))
    if r is None:
        return "failed"
    res = r["result"]
    s = f'{res["msgs_per_s"]:,.0f} [{res["server_core_busy_pct"]:.0f}/{res["client_core_busy_pct"]:.0f}]'
    if res["client_core_busy_pct"] >= 95:
        s += "*"
        notes.add("*")
    rates = [x["result"]["msgs_per_s"] for x in rounds[(server, scenario)] if "result" in x]
    if len(rates) > 1 and (max(rates) - min(rates)) > 0.15 * max(rates):
        s += "~"
        notes.add("~")
    if res["errors"]:
        s += f' E{res["errors"]}'
        notes.add("E")
    return s

def table(headers, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = lambda cells: "  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                                    for i, (c, w) in enumerate(zip(cells, widths)))
    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))

if scenarios:
    print()
    print(f'Echo throughput, msgs/s, best of {os.environ["ROUNDS"]} round(s) '
          f'(warm-up {os.environ["WARMUP"]} s, measured {os.environ["DURATION"]} s); '
          f'[server core % busy / load-generator core % busy], server on CPU '
          f'{os.environ["SERVER_CPU"]}, load generator on CPU {os.environ["CLIENT_CPU"]}')
    table(["server"] + scenarios,
          [[s] + [cell(s, sc) for sc in scenarios] for s in servers if any((s, sc) in rounds for sc in scenarios)])
    if "*" in notes:
        print("*  the load generator's core was saturated (>= 95% busy): the server may be faster than shown")
    if "~" in notes:
        print("~  rounds differ by more than 15% (see the JSON for each round)")
    if "E" in notes:
        print("E  errors (closed connections, close frames, wrong lengths): see the JSON")
    peers = [s for s in servers if s != BASE and any((s, sc) in rounds for sc in scenarios)]
    if any((BASE, sc) in best for sc in scenarios) and peers:
        print()
        print(f"Ratio {BASE} / peer (above 1: navios is faster)")
        rows = []
        for p in peers:
            row = [p]
            for sc in scenarios:
                a, b = rate(BASE, sc), rate(p, sc)
                row.append(f"{a / b:.2f}x" if a and b else "-")
            rows.append(row)
        table(["peer"] + scenarios, rows)

idle = [r for r in raw if is_idle(r)]
if idle:
    print()
    print(f'Memory: {os.environ["IDLE_CONNS"]} idle WebSocket connections held {os.environ["HOLD"]} s '
          f'(growth of the server\'s VmRSS / connections; kernel socket memory is not in RSS)')
    base = next((r["result"]["rss_bytes_per_conn"] for r in idle
                 if r["server"] == BASE and "result" in r), None)
    rows = []
    for r in idle:
        if "result" not in r:
            rows.append([r["server"], "failed", "-", "-", "-", "-"])
            continue
        res = r["result"]
        per = res["rss_bytes_per_conn"]
        rows.append([r["server"], f'{res["open_after_hold"]}/{res["connections"]}',
                     f'{res["rss_before_kib"] / 1024:.1f}', f'{res["rss_after_kib"] / 1024:.1f}',
                     f'{per:,.0f}', f"{per / base:.2f}x" if base and per > 0 else "-"])
    table(["server", "open", "RSS before MiB", "RSS after MiB", "bytes/conn", f"vs {BASE}"], rows)

print()
for s in skipped:
    print(f'skipped {s["server"]}: {s["reason"]}')
if int(os.environ.get("BACKGROUND", "0")) >= 15:
    print(f'warning: the machine was {os.environ["BACKGROUND"]}% busy before the run started')

def cpu_model():
    try:
        for l in open("/proc/cpuinfo"):
            if l.startswith("model name"):
                return l.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()

hb = {}
try:
    for pin in json.load(open(os.environ["HB_RESOLVED"]))["pins"]:
        if pin["identity"] in ("hummingbird", "hummingbird-websocket", "swift-nio"):
            hb[pin["identity"]] = pin["state"].get("version")
except (OSError, ValueError, KeyError):
    pass

doc = {
    "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    "commit": os.environ["GIT_COMMIT"],
    "machine": {"cpu": cpu_model(), "cpus": os.cpu_count(), "kernel": platform.release(),
                "busy_before_run_pct": int(os.environ.get("BACKGROUND", "0"))},
    "settings": {k.lower(): os.environ[k] for k in
                 ("WARMUP", "DURATION", "ROUNDS", "IDLE_CONNS", "HOLD", "SERVER_CPU", "CLIENT_CPU")},
    "peers": {"node": os.environ["NODE_VERSION"], "ws": os.environ["WS_VERSION"],
              "hummingbird": hb, "uws_binary": os.environ["UWS_ECHO"] or None},
    "throughput_best": [
        {"server": s, "scenario": sc, "msgs_per_s": best[(s, sc)]["result"]["msgs_per_s"],
         "round": best[(s, sc)]["round"]}
        for s in servers for sc in scenarios if (s, sc) in best],
    "ratios_navios_io_uring_over_peer": {
        p: {sc: round(rate(BASE, sc) / rate(p, sc), 3) for sc in scenarios
            if rate(BASE, sc) and rate(p, sc)}
        for p in servers if p != BASE},
    "throughput": [r for r in raw if not is_idle(r)],
    "memory": idle,
    "skipped": skipped,
}
with open(os.environ["OUT_JSON"], "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
print(f'results written to {os.path.relpath(os.environ["OUT_JSON"])}')
PY
