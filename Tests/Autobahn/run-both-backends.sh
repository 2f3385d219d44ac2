#!/usr/bin/env bash
# Runs the Autobahn|Testsuite fuzzingclient against navios-ws-echo and fails when any case FAILED.
#
#   Tests/Autobahn/run-both-backends.sh [--full] [ECHO_BINARY]
#
# Default (make test, make autobahn): cases 1-7, 9 and 10 on both backends, then the
# permessage-deflate cases 12 and 13 on io_uring in shared mode.
# --full (make autobahn-full): every case (1-13, all 517) on both backends in shared mode, and
# 12-13 again in dedicated mode on both backends.
# Each run's report lands in $AUTOBAHN_OUT (build/autobahn)/<backend>-<mode>[-<cases>].
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
full=0
if [ "${1:-}" = "--full" ]; then
    full=1
    shift
fi
echo_bin=${1:-$root/.build/release/navios-ws-echo}
run_sh=$root/../shared/tools/autobahn/run.sh
out=${AUTOBAHN_OUT:-$root/build/autobahn}
status=0

# run BACKEND MODE CASES NAME: one server, one fuzzingclient run.
run() {
    local backend=$1 mode=$2 cases=$3 name=$4 log pid port=""
    log=$(mktemp)
    # 9.* sends messages of 16 MiB: allow twice that.
    "$echo_bin" --port 0 --backend "$backend" --max-message 33554432 --deflate "$mode" >"$log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        port=$(sed -n 's/.*listening on ws:\/\/[^:]*:\([0-9]*\)\/.*/\1/p' "$log" | head -n1)
        [ -n "$port" ] && break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        echo "autobahn: navios-ws-echo ($backend) did not start:"; cat "$log"; kill "$pid" 2>/dev/null || true
        exit 1
    fi
    echo "== autobahn against navios-ws-echo, backend $backend, deflate $mode, cases $cases, port $port"
    bash "$run_sh" 127.0.0.1 "$port" --cases "$cases" --agent "navios-ws-$name" --out "$out/$name" || status=1
    kill -TERM "$pid"
    wait "$pid" || true
    rm -f "$log"
}

if [ $full = 1 ]; then
    for backend in io_uring epoll; do
        run "$backend" shared "*" "$backend-shared"
        run "$backend" dedicated "12.*,13.*" "$backend-dedicated-12-13"
    done
else
    for backend in io_uring epoll; do
        run "$backend" shared "1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*" "$backend-shared-1-10"
    done
    run io_uring shared "12.*,13.*" "io_uring-shared-12-13"
fi
exit $status
