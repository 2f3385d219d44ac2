"""
plot_suite.py — an SVG of a run-suite.sh result, with nothing but the standard library:
echo throughput against the connection count per server (log scales; solid: 16 messages in
flight per connection, dashed: 1; an open circle is a failed run), and the latency percentiles per server at the suite's fixed rate
(log scale; a failed run is drawn pale).

    python3 Benchmarks/plot_suite.py Benchmarks/results/suite-STAMP.json OUT.svg
"""
from __future__ import annotations

import json
import math
import sys
from xml.sax.saxutils import escape

COLORS = ["#1f77b4", "#2ca02c", "#17becf", "#d62728", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]
W, PANEL_H = 960, 400
LEFT, RIGHT, TOP, BOTTOM = 90, 200, 50, 60


def text(x, y, s, size=12, anchor="start", weight="normal", rotate=None):
    rot = f' transform="rotate({rotate} {x} {y})"' if rotate else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}"{rot}>{escape(str(s))}</text>')


def si(v: float) -> str:
    for div, suf in ((1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{v / div:g}{suf}"
    return f"{v:g}"


def legend(servers, color, x, y):
    out = []
    for i, s in enumerate(servers):
        out.append(f'<rect x="{x}" y="{y + i * 20 - 9}" width="14" height="10" fill="{color[s]}"/>')
        out.append(text(x + 20, y + i * 20, s))
    return out


def throughput_panel(doc, color, y0):
    pts = {}   # (server, depth) -> [(connections, msgs/s, ok)]
    for r in doc["runs"]:
        if r["scenario"] == "echo" and r["result"]:
            p = r["result"]["parameters"]
            ok = r["exit"] == 0 and r["result"]["ok"]
            pts.setdefault((r["server"], p["depth"]), []).append((p["connections"], r["result"]["results"]["msgs_per_s"], ok))
    out = [text(W / 2, y0 + 25, "Echo throughput vs connections (20 B messages, log scales; solid: depth 16, dashed: depth 1)",
                15, "middle", "bold")]
    if not pts:
        return out
    conns = sorted({c for v in pts.values() for c, _, _ in v})
    # Log scale: the servers compared here differ by up to two orders of magnitude.
    vals = [max(m, 1) for v in pts.values() for _, m, _ in v]
    ylo, yhi = math.floor(math.log10(min(vals))), math.ceil(math.log10(max(vals)))
    yhi = max(yhi, ylo + 1)
    x_l, x_r, y_t, y_b = LEFT, W - RIGHT, y0 + TOP, y0 + PANEL_H - BOTTOM
    lo, hi = math.log10(conns[0]), math.log10(conns[-1]) if len(conns) > 1 else math.log10(conns[0]) + 1
    xs = lambda c: x_l + (math.log10(c) - lo) / ((hi - lo) or 1) * (x_r - x_l)
    ys = lambda m: y_b - (math.log10(max(m, 1)) - ylo) / (yhi - ylo) * (y_b - y_t)
    for e in range(ylo, yhi + 1):
        for k in (1, 2, 5):
            v = k * 10 ** e
            if v > 10 ** yhi:
                break
            grid = "#ccc" if k == 1 else "#eee"
            out.append(f'<line x1="{x_l}" y1="{ys(v):.1f}" x2="{x_r}" y2="{ys(v):.1f}" stroke="{grid}"/>')
            out.append(text(x_l - 8, ys(v) + 4, si(v), 11 if k == 1 else 9, "end"))
    for c in conns:
        out.append(f'<line x1="{xs(c):.1f}" y1="{y_t}" x2="{xs(c):.1f}" y2="{y_b}" stroke="#eee"/>')
        out.append(text(xs(c), y_b + 18, c, 11, "middle"))
    out.append(text((x_l + x_r) / 2, y_b + 40, "connections (log scale)", 12, "middle"))
    out.append(text(x_l - 62, (y_t + y_b) / 2, "messages echoed / s", 12, "middle", rotate=-90))
    for (server, depth), v in sorted(pts.items()):
        v.sort()
        d = " ".join(f"{'M' if i == 0 else 'L'}{xs(c):.1f},{ys(m):.1f}" for i, (c, m, _) in enumerate(v))
        dash = ' stroke-dasharray="6,4"' if depth == 1 else ""
        out.append(f'<path d="{d}" fill="none" stroke="{color[server]}" stroke-width="2"{dash}/>')
        for c, m, ok in v:
            fill = color[server] if ok else "white"
            out.append(f'<circle cx="{xs(c):.1f}" cy="{ys(m):.1f}" r="3.5" fill="{fill}" stroke="{color[server]}"/>')
    return out


def latency_panel(doc, color, y0):
    keys = [("p50", "p50"), ("p90", "p90"), ("p99", "p99"), ("p99_9", "p99.9"), ("max", "max")]
    rows = []
    for r in doc["runs"]:
        if r["scenario"] == "latency" and r["result"]:
            rows.append((r["server"], r["result"]["results"]["latency_us"], r["exit"] == 0 and r["result"]["ok"],
                         r["result"]["parameters"]))
    title = "Latency percentiles"
    if rows:
        p = rows[0][3]
        title += f" at {p['rate']:,.0f} requests/s over {p['connections']} connections (log scale; pale: failed run)"
    out = [text(W / 2, y0 + 25, title, 15, "middle", "bold")]
    if not rows:
        return out
    vals = [max(lat[k], 1) for _, lat, _, _ in rows for k, _ in keys]
    lo, hi = math.floor(math.log10(min(vals))), math.ceil(math.log10(max(vals)))
    hi = max(hi, lo + 1)
    x_l, x_r, y_t, y_b = LEFT, W - RIGHT, y0 + TOP, y0 + PANEL_H - BOTTOM
    ys = lambda us: y_b - (math.log10(max(us, 1)) - lo) / (hi - lo) * (y_b - y_t)
    for e in range(lo, hi + 1):
        v = 10 ** e
        label = f"{v / 1000:g} ms" if v >= 1000 else f"{v:g} µs"
        out.append(f'<line x1="{x_l}" y1="{ys(v):.1f}" x2="{x_r}" y2="{ys(v):.1f}" stroke="#ddd"/>')
        out.append(text(x_l - 8, ys(v) + 4, label, 11, "end"))
    group_w = (x_r - x_l) / len(keys)
    bar_w = group_w * 0.8 / len(rows)
    for gi, (k, name) in enumerate(keys):
        gx = x_l + gi * group_w + group_w * 0.1
        out.append(text(x_l + (gi + 0.5) * group_w, y_b + 18, name, 12, "middle"))
        for si_, (server, lat, ok, _) in enumerate(rows):
            y = ys(lat[k])
            op = "1" if ok else "0.3"
            out.append(f'<rect x="{gx + si_ * bar_w:.1f}" y="{y:.1f}" width="{bar_w * 0.9:.1f}" height="{y_b - y:.1f}" '
                       f'fill="{color[server]}" fill-opacity="{op}"><title>{escape(server)} {name}: {lat[k]:,.0f} µs'
                       f'</title></rect>')
    out.append(text(x_l - 62, (y_t + y_b) / 2, "latency", 12, "middle", rotate=-90))
    return out


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: plot_suite.py SUITE.json OUT.svg")
    doc = json.load(open(sys.argv[1]))
    servers = doc["servers_run"]
    color = {s: COLORS[i % len(COLORS)] for i, s in enumerate(servers)}
    h = 2 * PANEL_H + 40
    m = doc["machine"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" '
             f'font-family="sans-serif">', f'<rect width="{W}" height="{h}" fill="white"/>']
    parts += throughput_panel(doc, color, 0)
    parts += latency_panel(doc, color, PANEL_H)
    parts += legend(servers, color, W - RIGHT + 20, TOP + 20)
    parts += legend(servers, color, W - RIGHT + 20, PANEL_H + TOP + 20)
    parts.append(text(10, h - 12, f"{doc['command']} | {m['nproc']} CPUs, {m['cpu_model']}, Linux {m['kernel']} | "
                      f"{doc['finished']} | commit {doc['git_commit']}", 10))
    parts.append("</svg>")
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
