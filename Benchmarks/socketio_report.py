#!/usr/bin/env python3
"""socketio_report.py — the tables of Benchmarks/run-socketio.sh: echo with ack (msgs/s, server
CPU per message, ratio to our JSON gateway), fan-out deliveries/s, idle memory per connection,
and what a recovery costs. A run with errors is shown as failed, never as a figure."""
from __future__ import annotations

import argparse
import json
import platform
import subprocess


def cpu_us_per(result: dict, count_key: str) -> float | None:
    x = result["results"]
    rate = x.get(count_key)
    pct = x.get("server_cpu_pct")
    return pct / 100 * 1e6 / rate if rate and pct is not None else None


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("runs")
    p.add_argument("recovery")
    p.add_argument("--mode", default="full")
    p.add_argument("--json", required=True)
    p.add_argument("--markdown", required=True)
    a = p.parse_args()
    runs = [json.loads(line) for line in open(a.runs) if line.strip()]
    recovery = [json.loads(line) for line in open(a.recovery) if line.strip()]
    by = {(r["server"], r["label"]): r["result"] for r in runs}

    def ok(result) -> bool:
        return bool(result) and result["errors"]["total"] == 0 and result.get("verdict", "ok") == "ok"

    lines = ["# Socket.IO side by side", "",
             f"`Benchmarks/run-socketio.sh{' --quick' if a.mode == 'quick' else ''}` (make bench-socketio), "
             f"commit {subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()}, "
             f"{platform.machine()}, {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} CPUs; "
             "server on one core, harness on the other.", "",
             "## Echo with ack", "",
             "| server | in flight | msgs/s | server CPU µs/msg | × JSON gateway (msgs/s) | × JSON gateway (CPU/msg) |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for label in sorted({r["label"] for r in runs if r["label"].startswith("echo-")}, key=lambda l: int(l[6:])):
        base = by.get(("json-gateway", label))
        for server in ("json-gateway", "sio-gateway", "sio-contract", "python-socketio"):
            result = by.get((server, label))
            if result is None:
                continue
            depth = label[6:]
            if not ok(result):
                lines.append(f"| {server} | {depth} | failed | | | |")
                continue
            rate = result["results"]["msgs_per_s"]
            cpu = cpu_us_per(result, "msgs_per_s")
            ratio = f"{rate / base['results']['msgs_per_s']:.2f}" if ok(base) else ""
            base_cpu = cpu_us_per(base, "msgs_per_s") if ok(base) else None
            cpu_ratio = f"{base_cpu / cpu:.2f}" if cpu and base_cpu else ""
            lines.append(f"| {server} | {depth} | {rate:,.0f} | {cpu:.2f} | {ratio} | {cpu_ratio} |"
                         if cpu is not None else f"| {server} | {depth} | {rate:,.0f} | | {ratio} | |")
    lines += ["", "(× CPU/msg: the JSON gateway's CPU per message over this server's; above 1 is cheaper.)", "",
              "## Fan-out through a room", "",
              "| server | subscribers | publishes/s | deliveries/s | server CPU µs/delivery | p50 / p99 latency ms | missing |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in runs:
        if not r["label"].startswith("fanout-"):
            continue
        result = r["result"]
        if not result:
            lines.append(f"| {r['server']} | {r['label'][7:]} | | no result | | | |")
            continue
        x = result["results"]
        lat = x.get("delivery_latency_us") or {}
        cpu = cpu_us_per(result, "deliveries_per_s")
        state = "" if ok(result) else " (failed)"
        rate = result["parameters"].get("rate")
        lines.append(f"| {r['server']} | {x.get('subscribers_opened')} | {rate} | {x['deliveries_per_s']:,.0f}{state} | "
                     f"{cpu:.2f} | {lat.get('p50', 0) / 1000:.1f} / {lat.get('p99', 0) / 1000:.1f} | {x.get('missing')} |"
                     if cpu is not None else f"| {r['server']} | {x.get('subscribers_opened')} | {rate} | {x['deliveries_per_s']:,.0f}{state} | | | | {x.get('missing')} |")
    lines += ["", "## Idle memory", "", "| server | connections | server RSS bytes per connection |", "| --- | ---: | ---: |"]
    for r in runs:
        if r["label"] != "idle" or not r["result"]:
            continue
        x = r["result"]["results"]
        lines.append(f"| {r['server']} | {x.get('opened')} | {x.get('server_rss_bytes_per_conn', 0):,.0f} |")
    lines += ["", "## Connection state recovery", "",
              "A client reconnects with its pid and offset and is replayed the broadcasts it missed "
              "(`Benchmarks/socketio_recovery_cost.py`, navios-ws-socketio-server, one loop).", "",
              "| store | clients | missed each | fresh connect µs CPU | recovery µs CPU | recovery − fresh µs |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for x in recovery:
        lines.append(f"| {x['store']} | {x['clients']} | {x['missed']} | {x['fresh_connect_cpu_us']} | "
                     f"{x['recovery_cpu_us']} | {x['recovery_extra_cpu_us']} |")
    with open(a.json, "w") as f:
        json.dump({"runs": runs, "recovery": recovery}, f, indent=1)
    with open(a.markdown, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
