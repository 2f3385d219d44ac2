"""
soak.py — a long run of one navios-ws-cluster-node under steady load, behind a real
redis-server that is killed and restarted midway:

- CONNECTIONS in all, with the server's heartbeat on. Most stay for the whole run, spread over
  ROOMS rooms; CHURN of them are replaced every second (connect, join a room, close half a
  second later: the churners in flight stay under CHURN, so the total stays under the machine's
  20,000 descriptors).
- BROADCASTS room broadcasts per second, each numbered per room and stamped with its send
  time, from one publisher.
- redis-server SIGKILLed at half time and started again REDIS_DOWN_S later. Local delivery does
  not depend on Redis, so no delivery may be missing.

Every 10 s it records the server's RSS and open fds, its open connections, the clients'
count, and deliveries and misses so far; with --heap-watch LIB (Benchmarks/tools/heap_watch.c,
preloaded into the server) also what its malloc heap holds in use and keeps free, which tells a
leak from memory the allocator keeps. At the end it writes JSON, a Markdown table and an SVG
plot of RSS over time (Benchmarks/results/soak-*), and exits 1 when a stable member missed a
broadcast, the server died, a churn connect failed past 1%, or (with --check-rss) RSS after
warm-up moved more than 5%.

    .venv/bin/python Benchmarks/soak.py [--connections 19000] [--churn 1000] [--broadcasts 100]
        [--rooms 100] [--duration 600] [--warmup 120] [--check-rss] [--heap-watch build/heap_watch.so]
        [--out Benchmarks/results/soak]
`make soak` runs the full one (10 minutes); `make test` a short one.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "Cluster"))
from light_client import LightClient, http_get  # noqa: E402

REDIS_DOWN_S = 5.0
SOURCES = [f"127.0.0.{n}" for n in range(2, 40)]   # more address pairs than one source's ports
LATENCY_BUCKET_MS = 0.1
LATENCY_BUCKETS = 100_000                           # up to 10 s


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis:
    def __init__(self):
        self.port = free_port()
        self.proc = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                import socket
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()


class Latency:
    """Delivery latency in 0.1 ms buckets up to 10 s, over the run and since the last report."""

    def __init__(self):
        self.buckets = [0] * LATENCY_BUCKETS
        self.recent = [0] * LATENCY_BUCKETS

    def record(self, sent_ns: int) -> None:
        bucket = min(int((time.monotonic_ns() - sent_ns) / 1e6 / LATENCY_BUCKET_MS), LATENCY_BUCKETS - 1)
        self.buckets[bucket] += 1
        self.recent[bucket] += 1

    def recent_p99(self) -> float:
        """The p99 since the last call, which starts a new interval."""
        p99 = self.percentile(self.recent, 0.99)
        self.recent = [0] * LATENCY_BUCKETS
        return p99

    @staticmethod
    def percentile(buckets: list[int], p: float) -> float:
        total = sum(buckets)
        wanted, seen = total * p, 0
        for index, n in enumerate(buckets):
            seen += n
            if total and seen >= wanted:
                return (index + 1) * LATENCY_BUCKET_MS
        return 0.0


def stable_worker(port: int, rooms: int, count: int, stop, out) -> None:
    """A process of its own: `count` members that stay, each checking its room's numbering."""
    async def run():
        latency, state = Latency(), {"delivered": 0, "missing": 0}

        async def member(room: int) -> LightClient:
            client = await LightClient.open(port, random.choice(SOURCES))
            expected = [1]

            def on_msg(number: int, stamp: bytes | None) -> None:
                if number > expected[0]:
                    state["missing"] += number - expected[0]
                expected[0] = max(expected[0], number + 1)
                state["delivered"] += 1
                if stamp:
                    latency.record(int(stamp))
            client.on_msg = on_msg
            assert await client.request("join", f"soak-{room}") is True
            return client
        members = []
        for first in range(0, count, 500):
            members += await asyncio.gather(*(member(i % rooms) for i in range(first, min(first + 500, count))))
        out.put({"ready": len(members)})
        next_p99 = time.monotonic() + 10
        while not stop.is_set():
            await asyncio.sleep(1.0)
            if time.monotonic() >= next_p99:   # the p99 of each 10 s, for the samples
                state["p99_10s_ms"] = round(latency.recent_p99(), 1)
                next_p99 += 10
            out.put({"stable": dict(state, open=sum(1 for m in members if not m.closed.done()))})
        await asyncio.sleep(2.0)   # what is in flight arrives
        out.put({"stable": dict(state, open=sum(1 for m in members if not m.closed.done())), "latency": latency.buckets})
        for client in members:
            client.transport.close()
    asyncio.run(run())


def churn_worker(port: int, rooms: int, churn: int, stay: float, stop, out) -> None:
    """A process of its own: `churn` connections a second that join a room and leave."""
    async def run():
        state = {"churned": 0, "failures": 0, "kinds": {}, "open": 0}

        async def one() -> None:
            try:
                client = await LightClient.open(port, random.choice(SOURCES))
                state["open"] += 1
                try:
                    client.on_msg = lambda number, stamp: None
                    assert await client.request("join", f"soak-{random.randrange(rooms)}") is True
                    await asyncio.sleep(stay)
                    client.leave()
                    await asyncio.wait_for(client.closed, 10)
                    state["churned"] += 1
                finally:
                    state["open"] -= 1
                    client.transport.close()
            except Exception as error:
                state["failures"] += 1
                kind = f"{type(error).__name__}: {error}"[:80]
                state["kinds"][kind] = state["kinds"].get(kind, 0) + 1
        loop = asyncio.get_running_loop()
        tasks: set = set()
        per_tick, tick = max(1, churn // 100), 0.01
        # At most `churn` in flight: the connections never pass the total asked for, and when
        # this process cannot keep up the rate drops (and is reported) rather than the total rising.
        next_at = next_report = loop.time()
        while not stop.is_set():
            for _ in range(min(per_tick, churn - len(tasks))):
                task = asyncio.ensure_future(one())
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            next_at += tick
            if loop.time() >= next_report:
                out.put({"churn": dict(state)})
                next_report += 1.0
            await asyncio.sleep(max(0.0, next_at - loop.time()))
        await asyncio.gather(*tasks, return_exceptions=True)
        out.put({"churn": dict(state), "done": True})
    asyncio.run(run())


class Soak:
    def __init__(self, args):
        self.args = args
        self.samples: list[dict] = []
        self.stable = {"delivered": 0, "missing": 0, "open": 0}
        self.churn = {"churned": 0, "failures": 0, "kinds": {}, "open": 0}
        self.latency: list[int] = []
        self.processes: dict[str, int] = {}
        self.cpu_before: dict[str, tuple[float, float]] = {}

    def drain_reports(self) -> None:
        while True:
            try:
                report = self.reports.get_nowait()
            except Exception:
                return
            self.stable = report.get("stable", self.stable)
            self.churn = report.get("churn", self.churn)
            self.latency = report.get("latency", self.latency)

    @staticmethod
    def cpu_seconds(pid: int) -> float:
        """utime + stime of a process, from /proc."""
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def cpu_percent(self, now: float) -> dict:
        """Each process's CPU since the last sample, in % of one core."""
        shares = {}
        for name, pid in self.processes.items():
            try:
                used = self.cpu_seconds(pid)
            except OSError:
                continue
            before, at = self.cpu_before.get(name, (used, now))
            shares[name] = round((used - before) / max(now - at, 0.001) * 100, 1) if name in self.cpu_before else 0.0
            self.cpu_before[name] = (used, now)
        return shares

    def heap(self) -> dict:
        """The server's heap as heap_watch last wrote it (MiB in use and kept free), or nothing."""
        if not self.args.heap_watch:
            return {}
        try:
            fields = dict(pair.split("=") for pair in Path(self.heap_file).read_text().split())
        except (OSError, ValueError):
            return {}
        return {"heap_in_use_mib": round(int(fields["in_use_kib"]) / 1024, 1),
                "heap_free_mib": round(int(fields["free_kib"]) / 1024, 1)}

    def sample(self, started: float) -> dict:
        self.drain_reports()
        pid = self.server.pid
        rss_kib = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                       if line.startswith("VmRSS:"))
        entry = {"t": round(time.monotonic() - started, 1), "rss_mib": round(rss_kib / 1024, 1),
                 "fds": len(os.listdir(f"/proc/{pid}/fd")), "clients": self.stable["open"] + self.churn["open"] + 1,
                 "delivered": self.stable["delivered"], "missing": self.stable["missing"],
                 "churned": self.churn["churned"], "churn_failures": self.churn["failures"],
                 "p99_10s_ms": self.stable.get("p99_10s_ms"),
                 "cpu_pct": self.cpu_percent(time.monotonic())}
        entry.update(self.heap())
        self.samples.append(entry)
        print(json.dumps(entry), flush=True)
        return entry

    async def run(self) -> int:
        args = self.args
        redis = Redis()
        redis.start()
        self.port = free_port()
        binary = ROOT / os.environ.get("NAVIOS_CLUSTER_NODE", ".build/release/navios-ws-cluster-node")
        env = dict(os.environ)
        if args.heap_watch:
            self.heap_file = os.path.join(tempfile.gettempdir(), f"navios-soak-heap-{os.getpid()}.txt")
            env.update(LD_PRELOAD=str(Path(args.heap_watch).resolve()), NAVIOS_HEAP_WATCH=self.heap_file)
        self.server = subprocess.Popen(
            [str(binary), "--port", str(self.port), "--redis", f"127.0.0.1:{redis.port}", "--name", "soak",
             "--heartbeat-ms", str(args.heartbeat_ms), "--loops", "1"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        self.server.stdout.readline()   # the ready line
        context = multiprocessing.get_context("spawn")
        self.reports, self.stop = context.Queue(), context.Event()
        stable = args.connections - args.churn - 1
        workers = [context.Process(target=stable_worker, args=(self.port, args.rooms, stable, self.stop, self.reports)),
                   context.Process(target=churn_worker, args=(self.port, args.rooms, args.churn, args.churn_stay,
                                                              self.stop, self.reports))]
        try:
            workers[0].start()
            ready = await asyncio.get_running_loop().run_in_executor(None, self.reports.get, True, 300)
            assert ready.get("ready") == stable, ready
            workers[1].start()
            self.processes = {"server": self.server.pid, "members": workers[0].pid, "churn": workers[1].pid,
                              "main": os.getpid()}
            return await self.drive(redis, stable)
        finally:
            self.stop.set()
            for worker in workers:
                if worker.pid is not None:
                    worker.join(30)
                    if worker.is_alive():
                        worker.kill()
            if self.server.poll() is None:
                self.server.terminate()
                try:
                    self.server.wait(30)
                except subprocess.TimeoutExpired:
                    self.server.kill()
            redis.stop()
            if args.heap_watch:
                for leftover in (self.heap_file, self.heap_file + ".new"):
                    Path(leftover).unlink(missing_ok=True)

    async def publish(self, publisher: LightClient, stop: asyncio.Event) -> int:
        loop = asyncio.get_running_loop()
        numbers = [0] * self.args.rooms
        period = 1.0 / self.args.broadcasts
        next_at, sent = loop.time(), 0
        while not stop.is_set():
            room = sent % self.args.rooms
            numbers[room] += 1
            publisher.emit("send", {"rooms": [f"soak-{room}"], "text": f"{numbers[room]}:{time.monotonic_ns()}"})
            sent += 1
            next_at += period
            await asyncio.sleep(max(0.0, next_at - loop.time()))
        return sent

    async def drive(self, redis: Redis, stable: int) -> int:
        args = self.args
        publisher = await LightClient.open(self.port, random.choice(SOURCES))
        stop = asyncio.Event()
        started = time.monotonic()
        publishing = asyncio.ensure_future(self.publish(publisher, stop))
        redis_killed_at = redis_back_at = None
        next_sample = started
        while time.monotonic() - started < args.duration:
            now = time.monotonic()
            if now >= next_sample:
                self.sample(started)
                next_sample += 10
            if redis_killed_at is None and now - started >= args.duration / 2:
                redis.kill()
                redis_killed_at = round(now - started, 1)
            if redis_killed_at is not None and redis_back_at is None and now - started >= redis_killed_at + REDIS_DOWN_S:
                redis.start()
                redis_back_at = round(time.monotonic() - started, 1)
            if self.server.poll() is not None:
                break
            await asyncio.sleep(0.1)
        stop.set()
        sent = await publishing
        self.stop.set()
        deadline = time.monotonic() + 30
        while not self.latency and time.monotonic() < deadline:   # the stable worker's last report
            await asyncio.sleep(0.2)
            self.drain_reports()
        final = self.sample(started)
        alive = self.server.poll() is None
        healthy = alive and (await http_get(self.port, "/readyz"))[0] == 200
        warm = [s["rss_mib"] for s in self.samples if s["t"] >= args.warmup]
        spread = (max(warm) - min(warm)) / min(warm) * 100 if warm else 0.0
        heap = [s["heap_in_use_mib"] for s in self.samples if s["t"] >= args.warmup and "heap_in_use_mib" in s]
        result = {
            "connections": args.connections, "churn_per_s": args.churn, "broadcasts_per_s": args.broadcasts,
            "rooms": args.rooms, "duration_s": args.duration, "heartbeat_ms": args.heartbeat_ms,
            "stable_members": stable, "broadcasts_sent": sent, "deliveries": final["delivered"],
            "missing": final["missing"], "churned": final["churned"], "churn_failures": final["churn_failures"],
            "churn_failure_kinds": self.churn["kinds"],
            "latency_p50_ms": round(Latency.percentile(self.latency, 0.5), 1),
            "latency_p99_ms": round(Latency.percentile(self.latency, 0.99), 1),
            "rss_after_warmup_mib": [min(warm), max(warm)] if warm else None, "rss_spread_pct": round(spread, 2),
            "heap_in_use_after_warmup_mib": [min(heap), max(heap)] if heap else None,
            "redis_killed_at_s": redis_killed_at, "redis_back_at_s": redis_back_at,
            "churn_achieved_per_s": round(final["churned"] / max(final["t"], 1), 1),
            "server_alive": alive, "ready_at_end": healthy, "samples": self.samples,
        }
        self.write(result)
        failures = []
        if result["missing"]:
            failures.append(f"{result['missing']} deliveries missing")
        if not self.latency:
            failures.append("the members' final report never came")
        if not healthy:
            failures.append("the server is gone or not ready")
        if result["churn_failures"] > max(1, result["churned"] // 100):
            failures.append(f"{result['churn_failures']} churn connections failed: {result['churn_failure_kinds']}")
        if args.check_rss and spread > 5:
            failures.append(f"RSS moved {spread:.1f}% after warm-up")
        print("soak:", "FAILED: " + "; ".join(failures) if failures else "passed", flush=True)
        return 1 if failures else 0

    def write(self, result: dict) -> None:
        out = Path(self.args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        Path(f"{out}-latest.json").write_text(json.dumps(result, indent=1) + "\n")
        Path(f"{out}-rss.svg").write_text(svg_plot(result["samples"], "t", "rss_mib", "RSS (MiB)"))
        rows = "\n".join(f"| {s['t']:.0f} | {s['rss_mib']} | {s.get('heap_in_use_mib', '')} | {s.get('heap_free_mib', '')} | "
                         f"{s['fds']} | {s['clients']} | {s['delivered']} | {s['missing']} |" for s in result["samples"])
        heap = result["heap_in_use_after_warmup_mib"]
        Path(f"{out}-latest.md").write_text(
            f"# Soak: {result['connections']} connections, {result['churn_per_s']}/s churn, "
            f"{result['broadcasts_per_s']} broadcasts/s, {result['duration_s']} s\n\n"
            f"Redis killed at {result['redis_killed_at_s']} s, back at {result['redis_back_at_s']} s. "
            f"Deliveries {result['deliveries']}, missing {result['missing']}, latency p50 "
            f"{result['latency_p50_ms']} ms, p99 {result['latency_p99_ms']} ms, RSS after warm-up "
            f"{result['rss_after_warmup_mib']} MiB ({result['rss_spread_pct']}%), churned {result['churned']} "
            f"({result['churn_failures']} failed)"
            + (f", heap in use after warm-up {heap} MiB" if heap else "") + ".\n\n"
            "| t (s) | RSS (MiB) | heap in use (MiB) | heap kept free (MiB) | fds | clients | delivered | missing |\n"
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
            + rows + "\n")


def svg_plot(samples: list[dict], x: str, y: str, label: str, width: int = 640, height: int = 240) -> str:
    """A line plot as SVG: no plotting library needed."""
    xs, ys = [s[x] for s in samples], [s[y] for s in samples]
    x_max, y_max = max(xs) or 1, (max(ys) or 1) * 1.1
    left, bottom = 50, height - 30

    def px(value):
        return left + value / x_max * (width - left - 10)

    def py(value):
        return bottom - value / y_max * (bottom - 10)
    points = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(xs, ys))
    ticks = "".join(f'<text x="{left - 6}" y="{py(v):.1f}" text-anchor="end" font-size="10">{v:.0f}</text>'
                    f'<line x1="{left}" x2="{width - 10}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#ddd"/>'
                    for v in (y_max * k / 4 for k in range(5)))
    times = "".join(f'<text x="{px(v):.1f}" y="{height - 12}" text-anchor="middle" font-size="10">{v:.0f}</text>'
                    for v in (x_max * k / 6 for k in range(7)))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif">'
            f'<rect width="100%" height="100%" fill="white"/>{ticks}{times}'
            f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{points}"/>'
            f'<text x="{left}" y="12" font-size="11">{label} over time (s)</text></svg>\n')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=19_000)
    parser.add_argument("--churn", type=int, default=1_000)
    parser.add_argument("--broadcasts", type=int, default=100)
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--churn-stay", type=float, default=0.5, help="seconds a churned connection stays")
    parser.add_argument("--duration", type=float, default=600)
    parser.add_argument("--warmup", type=float, default=120)
    parser.add_argument("--heartbeat-ms", type=int, default=30_000)
    parser.add_argument("--check-rss", action="store_true")
    parser.add_argument("--heap-watch", help="heap_watch.so to preload into the server (Benchmarks/tools/heap_watch.c)")
    parser.add_argument("--out", default=str(ROOT / "Benchmarks" / "results" / "soak"))
    return asyncio.run(Soak(parser.parse_args()).run())


if __name__ == "__main__":
    sys.exit(main())
