"""
suite_report.py — the results of Benchmarks/run-suite.sh from its raw runs: one JSON file
with every harness run, the figures compared across servers and each figure's ratio to the
best peer, and a markdown page of tables (Benchmarks/results/latest.md).

Called by run-suite.sh with its environment (RAW: one line per harness run; SKIPS: servers
that could not run; MODE, COMMAND, T0, PARAMS, versions):

    python3 Benchmarks/suite_report.py --json OUT.json --markdown latest.md

Peers are the servers not named navios-*. A figure's ratio says how many times better a
server is than the best peer on it: value / best for rates, best / value for latencies and
memory, so above 1 is ahead and below 1 behind, whichever way the figure runs. A run that
failed (any error, or counts that do not add up) keeps its numbers in the JSON but shows as
failed and is never a best peer.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

SERVER_ORDER = ["navios-io_uring", "navios-epoll", "navios-gateway", "hummingbird", "vapor", "node-ws",
                "python-websockets", "uws"]
PERCENTILES = [("p50", "p50"), ("p90", "p90"), ("p99", "p99"), ("p99_9", "p99.9"), ("max", "max")]
FANOUT_COPES_P99_US = 1e6
HARNESS_BOUND_PCT = 90      # the harness's core this busy: the figure is a lower bound   # run-suite.sh's rule: every delivery made, p99 under a second


def is_navios(server: str) -> bool:
    return server.startswith("navios-")


def run_ok(run: dict) -> bool:
    return run.get("exit") == 0 and run.get("result") is not None and run["result"].get("ok") is True


def machine() -> dict:
    model = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "python": platform.python_version()}


def subscribers_reached(runs: list[dict]) -> int:
    """The largest subscriber count a server coped with (0: none)."""
    return max((r["result"]["parameters"]["subscribers"] for r in runs
                if run_ok(r) and r["result"]["results"]["delivery_latency_us"]["p99"] < FANOUT_COPES_P99_US), default=0)


def build_figures(runs: list[dict]) -> list[dict]:
    """Figures: (group, name, unit, better, {server: (value, ok)})."""
    figs: list[dict] = []

    def add(group, name, unit, better, values):
        if values:
            figs.append({"group": group, "name": name, "unit": unit, "better": better, "values": values})

    by = {}
    for r in runs:
        by.setdefault((r["scenario"], r["label"]), []).append(r)
    echo_labels = sorted({lab for sc, lab in by if sc == "echo"},
                         key=lambda lab: (-int(lab.split("-d")[1]), int(lab.split("-")[1][:-1])))
    for lab in echo_labels:
        vals = {r["server"]: {"value": r["result"]["results"]["msgs_per_s"], "ok": run_ok(r),
                              "client_cpu_pct": r["result"]["results"].get("client_cpu_pct")}
                for r in by[("echo", lab)] if r["result"]}
        add("echo", lab, "msgs/s", "higher", vals)
    for (sc, lab), rs in by.items():
        if sc == "latency":
            for key, title in PERCENTILES:
                vals = {r["server"]: {"value": r["result"]["results"]["latency_us"][key], "ok": run_ok(r)}
                        for r in rs if r["result"]}
                add("latency", f"{lab} {title}", "us", "lower", vals)
            vals = {r["server"]: {"value": r["result"]["results"]["answered_per_s"], "ok": run_ok(r)}
                    for r in rs if r["result"]}
            add("latency", f"{lab} answered", "req/s", "higher", vals)
        elif sc == "connect":
            vals = {r["server"]: {"value": r["result"]["results"]["connections_per_s"], "ok": run_ok(r)}
                    for r in rs if r["result"]}
            add("connect", "connections/s", "conn/s", "higher", vals)
            vals = {r["server"]: {"value": r["result"]["results"]["handshake_latency_us"]["p99"], "ok": run_ok(r)}
                    for r in rs if r["result"]}
            add("connect", "handshake p99", "us", "lower", vals)
        elif sc == "idle":
            vals = {r["server"]: {"value": r["result"]["results"].get("server_rss_bytes_per_conn"), "ok": run_ok(r)}
                    for r in rs if r["result"] and "server_rss_bytes_per_conn" in r["result"]["results"]}
            add("idle", f"{lab} RSS/conn", "bytes", "lower", vals)
    fan = {}
    for r in runs:
        if r["scenario"] == "fanout":
            fan.setdefault(r["server"], []).append(r)
    add("fanout", "subscribers reached", "subs", "higher",
        {s: {"value": subscribers_reached(rs), "ok": True} for s, rs in fan.items()})
    counts = sorted({r["result"]["parameters"]["subscribers"] for rs in fan.values() for r in rs if r["result"]},
                    reverse=True)
    for n in counts:
        at = {s: r for s, rs in fan.items() for r in rs if r["result"] and r["result"]["parameters"]["subscribers"] == n}
        add("fanout", f"{n} subs: deliveries/s", "msgs/s", "higher",
            {s: {"value": r["result"]["results"]["deliveries_per_s"], "ok": run_ok(r)} for s, r in at.items()})
        for key, title in (PERCENTILES[0], PERCENTILES[2]):
            add("fanout", f"{n} subs: delivery {title}", "us", "lower",
                {s: {"value": r["result"]["results"]["delivery_latency_us"][key], "ok": run_ok(r)}
                 for s, r in at.items()})
    for f in figs:
        ratios(f)
    return figs


def ratios(fig: dict) -> None:
    peers = [(s, v["value"]) for s, v in fig["values"].items()
             if not is_navios(s) and v["ok"] and v["value"] is not None and v["value"] > 0]
    if not peers:
        fig["best_peer"] = None
        return
    pick = max if fig["better"] == "higher" else min
    best_server, best = pick(peers, key=lambda p: p[1])
    fig["best_peer"] = {"server": best_server, "value": best}
    for s, v in fig["values"].items():
        x = v["value"]
        if v["ok"] and x:
            v["ratio_vs_best_peer"] = round(x / best if fig["better"] == "higher" else best / x, 3)


# ---- markdown ------------------------------------------------------------------------------------

def fmt(x, unit: str) -> str:
    if x is None:
        return "-"
    if unit == "us":
        return f"{x / 1000:,.2f} ms" if x >= 10000 else f"{x:,.0f} µs"
    return f"{x:,.0f}"


def cell(fig: dict, server: str) -> str:
    v = fig["values"].get(server)
    if v is None:
        return "-"
    if not v["ok"] and not v["value"]:
        return "failed"   # nothing measured: a 0 would read as a figure
    s = fmt(v["value"], fig["unit"])
    if (v.get("client_cpu_pct") or 0) >= HARNESS_BOUND_PCT:
        s += "†"
    if not v["ok"]:
        return s + " (failed)"
    r = v.get("ratio_vs_best_peer")
    return f"{s} ×{r:.2f}" if r is not None else s


def table(figs: list[dict], servers: list[str], first: str) -> list[str]:
    cols = [s for s in servers if any(s in f["values"] for f in figs)]
    lines = ["| " + " | ".join([first, *cols, "best peer"]) + " |", "|" + "---|" * (len(cols) + 2)]
    for f in figs:
        bp = f.get("best_peer")
        best = f"{bp['server']}" if bp else "-"
        name = f["name"] if f["unit"] == "us" else f"{f['name']} ({f['unit']})"   # cells carry µs / ms
        lines.append("| " + " | ".join([name, *(cell(f, s) for s in cols), best]) + " |")
    return lines


def trailing(figs: list[dict]) -> list[str]:
    out = []
    for f in figs:
        bp = f.get("best_peer")
        if not bp:
            continue
        for s, v in f["values"].items():
            r = v.get("ratio_vs_best_peer")
            if is_navios(s) and (r is not None and r < 1 or not v["ok"]):
                what = f"×{r:.2f}" if r is not None else "failed"
                out.append(f"- {f['group']} {f['name']}: {s} {fmt(v['value'], f['unit'])} vs {bp['server']} "
                           f"{fmt(bp['value'], f['unit'])} ({what})")
    return out


def markdown(doc: dict) -> str:
    m = doc["machine"]
    servers = doc["servers_run"]
    figs = doc["figures"]
    lines = [f"# NaviosWS side-by-side suite ({doc['mode']})", "",
             f"- command: `{doc['command']}` (wall time {doc['wall_s'] / 60:.1f} min, {doc['finished']})",
             f"- machine: {m['nproc']} CPUs, {m['cpu_model']}, Linux {m['kernel']}; "
             f"server pinned to CPU {doc['pinning']['server_cpu']}, harness (navios-ws-bench, io_uring) "
             f"to CPU {doc['pinning']['client_cpu']}",
             f"- commit {doc['git_commit']}; node {doc['versions']['node']} ws {doc['versions']['node_ws']}; "
             f"python websockets {doc['versions']['python_websockets']}",
             f"- parameters: {doc['parameters']}", "",
             "Each cell: the figure, then ×R = how many times better than the best peer (non-navios "
             "server) on that figure: above 1 ahead, below 1 behind (rates: value / best; latencies and "
             "memory: best / value). Failed runs (lost or mangled messages) are marked and never a best peer. "
             f"† the harness's own core was at least {HARNESS_BOUND_PCT}% busy: the server may be faster than shown.",
             ""]
    groups = [("echo", "Echo throughput (20 B text messages; N connections, depth D in flight each)", "point"),
              ("latency", "Latency, open loop (from each request's scheduled time)", "figure"),
              ("fanout", "Fan-out (1 publisher at 100 publishes/s, 20 B; every delivery checked)", "figure"),
              ("connect", "Connect storm (upgrade + close cycles)", "figure"),
              ("idle", "Idle memory (server RSS growth / connection)", "figure")]
    for g, title, first in groups:
        gf = [f for f in figs if f["group"] == g]
        if gf:
            lines += [f"## {title}", "", *table(gf, servers, first), ""]
    fan_attempts = [r for r in doc["runs"] if r["scenario"] == "fanout"]
    if fan_attempts:
        lines += ["Fan-out runs (every server at every count; \"reached\" is the largest count at which it "
                  "delivered everything with p99 under 1 s):", ""]
        for r in fan_attempts:
            res = r["result"]["results"] if r["result"] else {}
            lat = res.get("delivery_latency_us", {})
            lines.append(f"- {r['server']} {r['label']}: {'ok' if run_ok(r) else 'failed'}, "
                         f"{res.get('deliveries_per_s', 0):,.0f} deliveries/s, missing {res.get('missing', '-')}, "
                         f"p99 {fmt(lat.get('p99'), 'us')}")
        lines.append("")
    t = trailing(figs)
    lines += ["## Where navios trails the best peer", "", *(t or ["- nowhere"]), ""]
    failed = [r for r in doc["runs"] if not run_ok(r)]
    if failed:
        lines += ["## Failed runs", ""]
        for r in failed:
            why = r.get("error") or "; ".join(r["result"].get("failures", [])) or \
                ", ".join(f"{k} {v}" for k, v in r["result"]["errors"].items() if v and k != "total")
            lines.append(f"- {r['server']} {r['label']}: exit {r['exit']}: {why}")
        lines.append("")
    if doc["skipped"]:
        lines += ["## Skipped", "", *(f"- {s['server']} ({s['role']}): {s['reason']}" for s in doc["skipped"]), ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True)
    ap.add_argument("--markdown", required=True)
    a = ap.parse_args()
    env = os.environ
    runs = [json.loads(line) for line in open(env["RAW"]) if line.strip()]
    skipped = [json.loads(line) for line in open(env["SKIPS"]) if line.strip()]
    seen = {r["server"] for r in runs}
    servers = [s for s in SERVER_ORDER if s in seen] + sorted(seen - set(SERVER_ORDER))
    doc = {
        "suite": "Benchmarks/run-suite.sh",
        "mode": env.get("MODE", "?"),
        "command": env.get("SUITE_COMMAND") or env.get("COMMAND", "").strip(),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "wall_s": round(time.time() - int(env.get("T0", time.time())), 1),
        "git_commit": env.get("GIT_COMMIT", "unknown"),
        "machine": machine(),
        "pinning": {"server_cpu": env.get("SERVER_CPU"), "client_cpu": env.get("CLIENT_CPU")},
        "versions": {"node": env.get("NODE_VERSION"), "node_ws": env.get("WS_VERSION"),
                     "python_websockets": env.get("PY_WS_VERSION")},
        "parameters": env.get("PARAMS", ""),
        "servers_run": servers,
        "skipped": skipped,
        "figures": build_figures(runs),
        "runs": runs,
    }
    with open(a.json, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    with open(a.markdown, "w") as f:
        f.write(markdown(doc))


if __name__ == "__main__":
    main()
