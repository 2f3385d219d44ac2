#!/usr/bin/env bash
# run-tls-deflate.sh — TLS and permessage-deflate side by side with uWebSockets, in one run:
# wss echo at 20 B and 16 KiB, TLS handshakes per second, the echo of compressed messages in both
# modes, and the idle memory of TLS connections and of connections that negotiated compression. Server on CPU
# $SERVER_CPU, harness on $CLIENT_CPU.
#
#   UWS_EXT_ECHO=/path/to/echo Benchmarks/run-tls-deflate.sh     (make bench-tls-deflate)
#
# UWS_EXT_ECHO is a uWebSockets echo server built outside this repository (OpenSSL and zlib),
# run as `echo PORT none|shared|dedicated [CERT KEY]`, that sends every echo with compression
# asked for when a mode is given (the stock EchoServer example never compresses); without it
# only NaviosWS runs. The certificate is a throwaway made here with the openssl command.
# NaviosWS's deflate runs with its defaults (level 1, 64-byte threshold) and with uWebSockets'
# settings (zlib level 6, every message compressed). Server CPU per echo or per handshake comes
# from /proc. Writes Benchmarks/results/tls-deflate-latest.md.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${PORT_BASE:-19900}
ECHO=.build/release/navios-ws-echo
BENCH=build/navios-ws-bench
OUT=Benchmarks/results/tls-deflate-latest.md
UWS=${UWS_EXT_ECHO:-}
[ -x "$ECHO" ] && [ -x "$BENCH" ] || { echo "build $ECHO and $BENCH first (make build bench-harness)" >&2; exit 2; }

CERTS=$(mktemp -d)
trap 'rm -rf "$CERTS"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -keyout "$CERTS/key.pem" -out "$CERTS/cert.pem" 2>/dev/null || { echo "openssl failed" >&2; exit 2; }
CERT=$CERTS/cert.pem KEY=$CERTS/key.pem

. Benchmarks/start-pinned.sh

# row NAME KIND HARNESS-FLAGS -- SERVER...: one run, one table row. KIND: echo-SIZE, idle, connect.
row() {
    local name=$1 kind=$2 flags=$3 pid json
    shift 4
    PORT=$((PORT + 1))
    pid=$(start_pinned "$SERVER_CPU" "$PORT" "${@/PORT/$PORT}")
    if [ -z "$pid" ]; then echo "| $name | $kind | did not start | |"; return; fi
    case $kind in
        idle) json=$(taskset -c "$CLIENT_CPU" "$BENCH" idle --port "$PORT" --connections 10000 --sources 4 $flags \
                  --connect-timeout 120 --server-pid "$pid" --json 2>/dev/null) ;;
        connect) json=$(taskset -c "$CLIENT_CPU" "$BENCH" connect --port "$PORT" --concurrency 50 $flags \
                  --server-pid "$pid" --warmup 1 --duration 4 --json 2>/dev/null) ;;
        *) json=$(taskset -c "$CLIENT_CPU" "$BENCH" echo --port "$PORT" --connections 100 --depth 16 \
                  --size "${kind#echo-}" $flags --server-pid "$pid" --warmup 1 --duration 4 --json 2>/dev/null) ;;
    esac
    kill "$pid" 2>/dev/null
    wait 2>/dev/null
    python3 - "$name" "$kind" "$json" <<'EOF'
import json, sys
name, kind, text = sys.argv[1:]
try:
    j = json.loads(text)
except ValueError:
    print(f"| {name} | {kind} | no result | |")
    sys.exit()
r, ok = j["results"], "" if j["ok"] else " (errors)"
cpu = r.get("server_cpu_pct", -1) / 100
if kind == "idle":
    print(f"| {name} | idle | {r['server_rss_bytes_per_conn']:,} B per connection{ok} | |")
elif kind == "connect":
    n = r["connections_per_s"]
    print(f"| {name} | TLS handshake + upgrade | {n:,.0f}/s{ok} | {cpu * 1e6 / n:.1f} µs |")
else:
    m = r["msgs_per_s"]
    print(f"| {name} | {kind[5:]} B echo | {m:,.0f} msgs/s{ok} | {cpu * 1e6 / m:.2f} µs |")
EOF
}

uws() { [ -n "$UWS" ] && row "$@"; }

{
    echo "# TLS and permessage-deflate, side by side ($(date -u +%Y-%m-%d), $(nproc) cores, server on CPU $SERVER_CPU)"
    echo
    echo "| server | what | rate | server CPU per echo / handshake |"
    echo "| --- | --- | --- | --- |"
    for size in 20 16384; do
        row "NaviosWS wss" echo-$size --tls -- "$ECHO" --port PORT --loops 1 --tls-cert "$CERT" --tls-key "$KEY"
        uws "uWebSockets wss" echo-$size --tls -- "$UWS" PORT none "$CERT" "$KEY"
    done
    row "NaviosWS wss" connect --tls -- "$ECHO" --port PORT --loops 1 --tls-cert "$CERT" --tls-key "$KEY"
    uws "uWebSockets wss" connect --tls -- "$UWS" PORT none "$CERT" "$KEY"
    row "NaviosWS wss" idle --tls -- "$ECHO" --port PORT --loops 1 --tls-cert "$CERT" --tls-key "$KEY"
    uws "uWebSockets wss" idle --tls -- "$UWS" PORT none "$CERT" "$KEY"
    for mode in shared dedicated; do
        # uWebSockets' DEDICATED_COMPRESSOR is its 3 KB compressor (window 9, memory level 1:
        # its upgrade code maps every dedicated option to it); its settings row gets the same.
        uws_window=() same_window=""
        [ "$mode" = dedicated ] && uws_window=(--deflate-window-bits 9 --deflate-mem-level 1) same_window=", window 9, memory level 1"
        for size in 20 2000; do
            row "NaviosWS deflate $mode (defaults)" echo-$size --deflate -- "$ECHO" --port PORT --loops 1 --deflate $mode
            row "NaviosWS deflate $mode (level 6, all$same_window)" echo-$size --deflate -- "$ECHO" --port PORT --loops 1 \
                --deflate $mode --deflate-level 6 --deflate-threshold 1 "${uws_window[@]}"
            uws "uWebSockets deflate $mode" echo-$size --deflate -- "$UWS" PORT $mode
        done
        row "NaviosWS deflate $mode" idle --deflate -- "$ECHO" --port PORT --loops 1 --deflate $mode
        uws "uWebSockets deflate $mode" idle --deflate -- "$UWS" PORT $mode
    done
    echo
    echo "Command: \`UWS_EXT_ECHO=${UWS:-unset} Benchmarks/run-tls-deflate.sh\`. The harness encrypts, compresses and"
    echo "inflates on its own core; where it saturates first, the rate is the harness's and the"
    echo "server's CPU per echo is the comparison."
} | tee "$OUT"
