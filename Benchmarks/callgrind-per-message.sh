#!/usr/bin/env bash
# Instructions per message of a server, counted by callgrind: stable on a noisy machine, where
# throughput is not.
#
#   Benchmarks/callgrind-per-message.sh raw      # the C core's echo server (build/echo_server)
#   Benchmarks/callgrind-per-message.sh gateway  # navios-ws-gateway-echo: typed JSON echo
#   Benchmarks/callgrind-per-message.sh fanout   # navios-ws-gateway-echo: room fan-out, per delivery
#   Benchmarks/callgrind-per-message.sh socketio # navios-ws-gateway-echo: the typed echo over Socket.IO
#   Benchmarks/callgrind-per-message.sh deflate  # the C core's echo server, permessage-deflate
#                                                  (DEFLATE="dedicated --deflate-level 6"...; shared by default)
#   Benchmarks/callgrind-per-message.sh tls      # the C core's echo server over TLS (a throwaway certificate)
#
# PEER="/path/to/server PORT ..." runs that command under the same load instead (a peer built
# outside this repository, e.g. a uWebSockets echo); PORT, CERT and KEY in it are replaced by
# the port and the throwaway certificate's files.
#
# The server runs under callgrind with one loop; a warm-up load runs first, then the counters
# are zeroed (callgrind_control -z), a measured load runs, and the counters are dumped. The
# result is the instructions of the whole process (every thread, user space) during the
# measured load divided by the messages echoed in it, plus the calls into the concurrency
# runtime's task creation (0 means no Task per message).
#
# SERVER_ARGS="--metrics on" adds flags to the server's command line (the gateway kinds).
# KEEP_PROFILE=DIR keeps the callgrind files for callgrind_annotate.
# The binary runs as a copy without debug info (symbols kept): valgrind 3.19 refuses the DWARF
# of Swift 6 binaries.
set -euo pipefail
cd "$(dirname "$0")/.."

kind=${1:-gateway}
server_args=()
port=${PORT:-$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")}
case "$kind" in
    raw) binary=build/echo_server; gateway_args=() ;;
    deflate) binary=build/echo_server; gateway_args=(--deflate); read -ra server_args <<<"--deflate ${DEFLATE:-shared --deflate-threshold 1}" ;;
    tls) binary=build/echo_server; gateway_args=(--tls) ;;
    gateway) binary=.build/release/navios-ws-gateway-echo; gateway_args=(--protocol gateway --event echo) ;;
    fanout) binary=.build/release/navios-ws-gateway-echo ;;
    socketio) binary=.build/release/navios-ws-gateway-echo; gateway_args=(--protocol socketio --event echo)
        server_args=(--socketio on) ;;
    *) echo "usage: $0 raw|gateway|fanout|socketio|deflate|tls" >&2; exit 2 ;;
esac
[ -z "${SERVER_ARGS:-}" ] || { read -ra extra <<<"$SERVER_ARGS"; server_args+=("${extra[@]}"); }
load=build/navios-ws-bench
[ -x "$binary" ] && [ -x "$load" ] || { echo "build $binary and $load first (make build build/echo_server bench-harness)" >&2; exit 2; }

work=$(mktemp -d)
finish() {
    # The counts are dumped already; a graceful stop under valgrind can take very long.
    kill -KILL "$server" 2>/dev/null && wait "$server" 2>/dev/null || true   # the port is free after this
    [ -z "${KEEP_PROFILE:-}" ] || cp "$work"/cg.* "$KEEP_PROFILE"/
    rm -rf "$work"
}
trap finish EXIT
if [ "$kind" = tls ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
        -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
    server_args+=(--tls-cert "$work/cert.pem" --tls-key "$work/key.pem")
fi
if [ -n "${PEER:-}" ]; then
    read -ra command <<<"$PEER"
    command=("${command[@]/PORT/$port}")
    command=("${command[@]/CERT/$work/cert.pem}")
    command=("${command[@]/KEY/$work/key.pem}")
    cp "${command[0]}" "$work/server"
    command=("$work/server" "${command[@]:1}")
else
    strip --strip-debug -o "$work/server" "$binary"
    command=("$work/server" --port "$port" --loops 1 "${server_args[@]}")
fi

valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" "${command[@]}" >"$work/server.log" 2>&1 &
server=$!
# Start-up under callgrind takes 5-40 s. Ready means the port takes connections: the kernel
# queues them from the moment the core listens. (Not a ready line: valgrind 3.19 does not know
# that io_uring_enter blocks and keeps its one lock across it, so a thread other than the loop's,
# the one that would print the line, may not run again until load arrives.)
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
for _ in $(seq 1 1200); do
    listening && break
    sleep 0.1
done
listening || { cat "$work/server.log" >&2; exit 1; }

run_load() {
    if [ "$kind" = fanout ]; then
        # 2,000 subscribers, 20 publishes/s for 10 s: 400,000 deliveries, against which the
        # 2,000 upgrades and joins of the run weigh a few per cent.
        "$load" fanout --port "$port" --subscribers 2000 --rate 20 --size 20 --warmup 0 \
            --duration "$1" --drain 30 --connect-timeout 120 --json
        return
    fi
    "$load" echo --port "$port" --connections 20 --size 20 --depth 16 --warmup 0 --duration "$1" \
        "${gateway_args[@]}" --json
}
measured_s=4
[ "$kind" = fanout ] && measured_s=10
run_load 2 >/dev/null                       # warm-up: caches, lazy metadata, pools
# Measured: 20 upgrades and closes fall in it too, well under 1% of the count.
callgrind_control -z "$server" >/dev/null
result=$(run_load "$measured_s")
callgrind_control -d "$server" >/dev/null
sleep 0.5

# Every echo of the run, drained to the last: all of them fall in the counted window.
# (fanout: "received" is every delivery to every subscriber.)
messages=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["results"]["received"])' "$result")
dump=$(ls -t "$work"/cg.* | head -1)
instructions=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
tasks=$(callgrind_annotate --inclusive=yes "$dump" 2>/dev/null | awk '/swift_task_create[^A-Za-z_]/ {gsub(",", "", $1); print $1; exit}')
python3 - "$kind" "$instructions" "$messages" "${tasks:-0}" <<'EOF'
import sys
kind, instructions, messages, tasks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
print(f"{kind}: {instructions:,} instructions / {messages:,} messages = "
      f"{instructions / messages:,.0f} per message; instructions in swift_task_create: {tasks}")
EOF
