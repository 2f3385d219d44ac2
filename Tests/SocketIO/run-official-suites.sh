#!/usr/bin/env bash
# The official protocol suites of Engine.IO (socketio/engine.io-protocol, test-suite/) and
# Socket.IO (socketio/socket.io-protocol, test-suite/), on each backend, with the runner of
# ../shared/tools/socketio. The Engine.IO suite talks to the core's Engine.IO echo server
# (build/echo_server --eio-path /engine.io/), the Socket.IO suite to the Socket.IO test server
# (navios-ws-socketio-server, the kit's server contract); both with the suites' pingInterval
# 300 ms and pingTimeout 200 ms.
#
# One loop: the suites' upgrade tests send a WebSocket frame and then an HTTP request on another
# connection and expect them handled in that order, which a server whose loops run in parallel
# does not promise (with two, "ignores HTTP requests with same sid after upgrade" sees its GET
# first in about 1 run of 10); Tests/Interop/test_engineio.py runs the same behaviours on two
# loops, and Tests/SocketIO the Socket.IO ones.
#
# The suites are not in this repository: point EIO_PROTOCOL_REPO and SIO_PROTOCOL_REPO at
# checkouts or bare git dirs, or put them at .suites/engine.io-protocol and
# .suites/socket.io-protocol. A suite that is absent is skipped with the reason printed: a
# machine that cannot fetch still runs `make test`, whose own suites cover the same behaviours.
set -euo pipefail
cd "$(dirname "$0")/../.."

runner=../shared/tools/socketio/run-suite.sh
eio_repo=${EIO_PROTOCOL_REPO:-.suites/engine.io-protocol}
sio_repo=${SIO_PROTOCOL_REPO:-.suites/socket.io-protocol}
echo_server=${NAVIOS_WS_ECHO:-build/echo_server}
sio_server=${NAVIOS_SOCKETIO_SERVER:-.build/release/navios-ws-socketio-server}

free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }

# start LOG CMD... : starts a server and waits for its ready line; its pid in $started, which is
# empty when io_uring is unavailable (then the backend is skipped).
start() {
    local log=$1; shift
    "$@" >"$log" 2>&1 &
    started=$!
    for _ in $(seq 1 200); do grep -q "listening" "$log" && break; sleep 0.05; done
    if ! grep -q "listening" "$log"; then
        kill "$started" 2>/dev/null || true
        started=
        grep -q "io_uring is unavailable" "$log" && return 0
        cat "$log" >&2; exit 1
    fi
}

stop() { kill -TERM "$1" && wait "$1" || true; }

suites=()
[ -e "$eio_repo" ] && suites+=(engine.io) || echo "engine.io protocol suite: skipped (no suite at $eio_repo; set EIO_PROTOCOL_REPO)"
[ -e "$sio_repo" ] && suites+=(socket.io) || echo "socket.io protocol suite: skipped (no suite at $sio_repo; set SIO_PROTOCOL_REPO)"
[ ${#suites[@]} -gt 0 ] || exit 0
[ -f "$runner" ] || { echo "protocol suites: $runner is missing" >&2; exit 1; }

status=0
for backend in epoll io_uring; do
    eio_port=$(free_port)
    sio_port=$(free_port)
    eio_log=$(mktemp)
    sio_log=$(mktemp)
    start "$eio_log" "$echo_server" --port "$eio_port" --loops 1 --backend "$backend" \
        --eio-path /engine.io/ --eio-ping-interval 300 --eio-ping-timeout 200
    eio_pid=$started
    if [ -z "$eio_pid" ]; then echo "protocol suites on $backend: skipped (io_uring is unavailable)"; continue; fi
    start "$sio_log" "$sio_server" --port "$sio_port" --loops 1 --backend "$backend" --ping-interval 300 --ping-timeout 200
    sio_pid=$started
    for suite in "${suites[@]}"; do
        echo "$suite protocol suite on $backend:"
        EIO_PROTOCOL_REPO=$eio_repo SIO_PROTOCOL_REPO=$sio_repo SUITES=$suite EIO_PORT=$eio_port \
            bash "$runner" 127.0.0.1 "$sio_port" | grep -E "FAIL|^total" || status=1
    done
    stop "$eio_pid"
    stop "$sio_pid"
    rm -f "$eio_log" "$sio_log"
done
exit $status
