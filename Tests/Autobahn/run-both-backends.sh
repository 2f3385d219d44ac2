#!/usr/bin/env bash
# Runs the Autobahn|Testsuite fuzzingclient (cases 1-7, 9, 10; 12/13 are deflate, not yet
# negotiated) against navios-ws-echo on each backend, and fails when any case FAILED.
# Usage: Tests/Autobahn/run-both-backends.sh [ECHO_BINARY]   (make autobahn runs it)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
echo_bin=${1:-$root/.build/release/navios-ws-echo}
run_sh=$root/../shared/tools/autobahn/run.sh
out=${AUTOBAHN_OUT:-$root/build/autobahn}
status=0
for backend in io_uring epoll; do
    log=$(mktemp)
    # 9.* sends messages of 16 MiB: allow twice that.
    "$echo_bin" --port 0 --backend "$backend" --max-message 33554432 >"$log" 2>&1 &
    pid=$!
    port=""
    for _ in $(seq 100); do
        port=$(sed -n 's/.*listening on ws:\/\/[^:]*:\([0-9]*\)\/.*/\1/p' "$log" | head -n1)
        [ -n "$port" ] && break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        echo "autobahn: navios-ws-echo ($backend) did not start:"; cat "$log"; kill "$pid" 2>/dev/null || true
        exit 1
    fi
    echo "== autobahn against navios-ws-echo, backend $backend, port $port"
    bash "$run_sh" 127.0.0.1 "$port" --cases "1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*" \
        --agent "navios-ws-$backend" --out "$out/$backend" || status=1
    kill -TERM "$pid"
    wait "$pid" || true
    rm -f "$log"
done
exit $status
