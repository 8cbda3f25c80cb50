"""Fetch-cycle benchmark: one cold and one warm cycle over many local feeds, against urlwatch.

Run: python bench/scan.py [--feeds 1000] [--items 50] [--latency 0.2]
                                        [--concurrency 32 128] [--no-urlwatch] [--profile DIR]

A feed server (bench/feedserver.py, its own process) serves the feeds on loopback hosts 127.0.0.2…
with injected latency. Each concurrency runs in a fresh client process driving the real Fetcher,
Pipeline and State (cold: every feed new; warm: every feed 304), so CPU and peak memory are that
run's own; both include the parse worker processes (their CPU is also shown apart, and the memory
target is met by the loop's and the worker's peaks added together). The workers are started before
the cold cycle, as the daemon starts them at start-up, and their start-up is shown apart. Parse +
detect CPU per feed is measured apart, in-process, on the same bodies. urlwatch
2.29 (its defaults, if installed) then checks the same URLs once. Nothing leaves 127.0.0.0/8.

Every request, a 304 too, waits the injected latency, so a warm cycle cannot beat the latency-bound
limit; besides the plain "warm wall ≤ 1 s" target the table shows the wall beyond that floor and a
third cycle with the latency set to 0 ms (the client's own cost), then the same 304s fetched without
the pipeline (the HTTP client's own cost); a "notes" section says in words which targets cannot be
met here and the measured reason. With --profile DIR each cycle's
loop-thread cProfile stats are written to DIR/c<concurrency>-<phase>.prof.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from feedserver import WATCH_ALIASES, WATCH_SEASON, WATCH_TITLE, FeedSet, make_feed  # noqa: E402

URLWATCH_VERSION = "2.29"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True, slots=True)
class Targets:
    """The issue's targets."""

    cold_over_limit: float = 1.5
    urlwatch_ratio: float = 10.0
    warm_wall: float = 1.0
    warm_cpu_ms_per_source: float = 0.5
    parse_detect_ms: float = 5.0
    peak_mb: float = 150.0


# ---- client side (runs in its own process) ------------------------------------------------------


def _cpu() -> float:
    """CPU seconds of this process and of its worker processes (alive or gone)."""
    return sum(_cpu_split())


def _cpu_split() -> tuple[float, float]:
    """CPU seconds of this process, and of its worker processes (alive or gone)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    gone = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers = gone.ru_utime + gone.ru_stime
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            times = child.cpu_times()
            workers += times.user + times.system
    return own.ru_utime + own.ru_stime, workers


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _workers_peak_mb() -> float:
    """The largest peak RSS among the live child processes (the parse workers and multiprocessing's helper)."""
    peak = 0
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(OSError, psutil.Error):
            for line in Path(f"/proc/{child.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
    return peak / 1024


def control(fs: FeedSet, path: str) -> Any:
    """A control request to the feed server (never timed)."""
    with _NO_PROXY.open(f"http://{fs.host(0)}:{fs.port}{path}", timeout=10) as response:
        body = response.read()
    return json.loads(body) if path == "/_stats" else body


def _phase_figures(result: Any, wall: float, cpu: float, before: dict[str, int],
                   after: dict[str, int]) -> dict[str, Any]:
    outcomes = result.outcomes
    fetched = [o for o in outcomes if o.status == "fetched"]
    statuses = {s: sum(1 for o in outcomes if o.status == s) for s in ("fetched", "unchanged", "failed")}
    errors = sorted({o.error or "" for o in outcomes if o.status == "failed"})[:3]
    return {
        "wall": wall, "cpu": cpu, "sources": len(outcomes), **statuses, "errors": errors,
        "bytes": sum(o.bytes_received for o in outcomes),
        "items": sum(o.items for o in fetched), "findings": len(result.findings),
        "pipeline_cpu_ms": 1000 * sum(o.cpu_seconds for o in fetched) / max(1, len(fetched)),
        "server": {k: after[k] - before[k] for k in after},
    }


async def _cycles(fs: FeedSet, concurrency: int, per_host: int, latency: float,
                  profile_dir: str | None) -> dict[str, Any]:
    from bot.fetch.client import Fetcher
    from bot.models import Config, Settings, Source, Watch
    from bot.pipeline import Pipeline
    from bot.store.store import State

    watch = Watch(id="bench-s2", title=WATCH_TITLE, season=WATCH_SEASON, aliases=WATCH_ALIASES)
    sources = tuple(Source(name=f"feed-{i:04d}", url=fs.feed_url(i), language="en") for i in range(fs.feeds))
    settings = Settings(concurrency=concurrency, per_host=per_host)
    config = Config(watches=(watch,), sources=sources, settings=settings)
    out: dict[str, Any] = {"baseline_mb": _peak_mb()}
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as tmp:
        state = State.open(Path(tmp))
        try:
            async with Fetcher(settings) as fetcher:
                pipeline = Pipeline(config, state, fetcher)
                # As the daemon does at start: the parse workers come up before the first cycle.
                split0, t0 = _cpu_split(), time.perf_counter()
                if pipeline.start_workers():
                    await pipeline.workers_ready()
                split = _cpu_split()
                out["workers_start"] = {"wall": time.perf_counter() - t0, "cpu": split[1] - split0[1]}
                for phase in ("cold", "warm", "warm0"):
                    if phase == "warm0":
                        control(fs, "/_latency/0")
                    before = control(fs, "/_stats")
                    profiler = cProfile.Profile() if profile_dir else None
                    split0, t0 = _cpu_split(), time.perf_counter()
                    if profiler:
                        profiler.enable()
                    result = await pipeline.cycle(sources)
                    if profiler:
                        profiler.disable()
                    wall, split = time.perf_counter() - t0, _cpu_split()
                    after = control(fs, "/_stats")
                    out[phase] = _phase_figures(result, wall, sum(split) - sum(split0), before, after)
                    out[phase]["worker_cpu"] = split[1] - split0[1]
                    out[phase]["parsed"] = pipeline.parse_counts()
                    if profiler and profile_dir:
                        profiler.dump_stats(os.path.join(profile_dir, f"c{concurrency}-{phase}.prof"))
                out["http_only"] = await http_only_cost(fetcher, fs, state, sources)
                out["workers_peak_mb"] = _workers_peak_mb()
                pipeline.close()
                control(fs, f"/_latency/{round(latency * 1000)}")
        finally:
            state.close()
    out["peak_mb"] = _peak_mb()
    out["parse_detect"] = parse_detect_cost(fs, config.watches)
    return out


async def http_only_cost(fetcher: Any, fs: FeedSet, state: Any, sources: Any) -> dict[str, float]:
    """The HTTP client's own cost: every feed fetched again (304, latency 0) without the pipeline."""
    validators = [state.source_state(s.name) for s in sources]
    cpu0, t0 = _cpu(), time.perf_counter()
    results = await asyncio.gather(*(fetcher.fetch(s.url, etag=v.etag, last_modified=v.last_modified)
                                     for s, v in zip(sources, validators, strict=True)))
    wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
    n = max(1, len(results))
    return {"wall": wall, "cpu_ms": 1000 * cpu / n, "not_modified": sum(1 for r in results if r.not_modified)}


def parse_detect_cost(fs: FeedSet, watches: Any) -> dict[str, float]:
    """CPU ms per feed to parse each body and classify every item, sequentially, in this process."""
    from bot.detect.rules import Detector
    from bot.parse.feed import parse_feed

    detector = Detector(watches)
    bodies = [make_feed(fs, i) for i in range(fs.feeds)]
    parse = detect = 0.0
    worst = 0.0
    alerts = 0
    for i, body in enumerate(bodies):
        t0 = time.process_time()
        items = parse_feed(body, fs.feed_url(i), content_type="application/rss+xml", language="en")
        t1 = time.process_time()
        alerts += sum(1 for item in items if detector.classify(item).alert)
        t2 = time.process_time()
        parse += t1 - t0
        detect += t2 - t1
        worst = max(worst, t2 - t0)
    n = max(1, len(bodies))
    return {"parse_ms": 1000 * parse / n, "detect_ms": 1000 * detect / n, "worst_ms": 1000 * worst,
            "alerts_per_feed": alerts / n}


def client_main(spec: str) -> int:
    """Entry of a client process: runs the cycles and prints one JSON line."""
    args = json.loads(spec)
    fs = FeedSet(args["feeds"], args["items"], args["hosts"], args["port"])
    from bot import aio

    out = aio.run(_cycles(fs, args["concurrency"], args["per_host"], args["latency"], args["profile"]))
    print(json.dumps(out), flush=True)
    return 0


# ---- orchestration ------------------------------------------------------------------------------


class Server:
    """The feed server process, alive while the context lasts."""

    def __init__(self, feeds: int, items: int, hosts: int, latency: float) -> None:
        self.cmd = [sys.executable, str(BENCH / "feedserver.py"), "--feeds", str(feeds), "--items",
                    str(items), "--hosts", str(hosts), "--latency", str(latency)]
        self.fs = FeedSet(feeds, items, hosts)
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "READY":
            self.__exit__()
            raise RuntimeError(f"feed server did not start: {line}")
        self.fs = FeedSet(self.fs.feeds, self.fs.items, self.fs.hosts, int(line[1]))
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_client(fs: FeedSet, concurrency: int, per_host: int, latency: float,
               profile: str | None) -> dict[str, Any]:
    """One fresh client process for one concurrency."""
    spec = json.dumps({"feeds": fs.feeds, "items": fs.items, "hosts": fs.hosts, "port": fs.port,
                       "concurrency": concurrency, "per_host": per_host, "latency": latency,
                       "profile": profile})
    proc = subprocess.run([sys.executable, __file__, "--client", spec], capture_output=True, text=True,
                          timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"client at concurrency {concurrency} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def urlwatch_command() -> list[str] | None:
    """The urlwatch executable next to this Python (or on PATH), if it is version 2.29."""
    exe = Path(sys.executable).parent / "urlwatch"
    found = str(exe) if exe.exists() else shutil.which("urlwatch")
    if not found:
        return None
    version = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=60).stdout
    return [found] if URLWATCH_VERSION in version.split() else None


def run_urlwatch(fs: FeedSet, command: list[str]) -> dict[str, Any]:
    """urlwatch, with its own config, cache and home, checks every feed URL once; its wall time."""
    with tempfile.TemporaryDirectory(prefix="urlwatch-bench-") as tmp:
        urls = Path(tmp, "urls.yaml")
        urls.write_text("\n---\n".join(f"name: feed-{i:04d}\nurl: {fs.feed_url(i)}" for i in range(fs.feeds)))
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(HOME=tmp, XDG_CONFIG_HOME=tmp, XDG_CACHE_HOME=tmp, NO_PROXY="127.0.0.0/8")
        cmd = [*command, "--urls", str(urls), "--config", str(Path(tmp, "urlwatch.yaml")),
               "--cache", str(Path(tmp, "cache.db")), "--hooks", str(Path(tmp, "hooks.py"))]
        before = control(fs, "/_stats")
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                              cwd=tmp, timeout=900)
        wall = time.perf_counter() - t0
        after = control(fs, "/_stats")
    return {"wall": wall, "rc": proc.returncode, "stderr": proc.stderr[-500:],
            "requests": after["requests"] - before["requests"], "ok": after["ok"] - before["ok"]}


def latency_limit(feeds: int, concurrency: int, latency: float) -> float:
    """The issue's latency-bound floor: ceil(N / concurrency) × latency."""
    return math.ceil(feeds / concurrency) * latency


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(args: argparse.Namespace, runs: dict[int, dict[str, Any]], uw: dict[str, Any] | None,
           uw_note: str) -> list[str]:
    """The printed table, with PASS/FAIL next to each target."""
    from bot.aio import loop_name  # the loop the client processes ran on (the daemon's choice)

    t = Targets()
    n = args.feeds
    lines = [f"fetch cycle: {n} feeds × {args.items} items, {args.hosts} loopback hosts, "
             f"latency {args.latency * 1000:.0f} ms, per_host {args.per_host}, {os.cpu_count()} CPUs, "
             f"{loop_name()} event loop", ""]
    head = f"{'':34}" + "".join(f"{'C=' + str(c):>14}" for c in runs)
    lines.append(head)

    def row(label: str, fmt: str, get: Any) -> None:
        lines.append(f"{label:34}" + "".join(f"{format(get(c, r), fmt):>14}" for c, r in runs.items()))

    row("latency-bound limit (s)", ".2f", lambda c, r: latency_limit(n, c, args.latency))
    lines.append("parse workers' start-up (before the first cycle, as the daemon does)")
    row("  wall (s)", ".2f", lambda c, r: r["workers_start"]["wall"])
    row("  CPU (s)", ".2f", lambda c, r: r["workers_start"]["cpu"])
    for phase, title in (("cold", "cold (all new)"), ("warm", "warm (all 304)"),
                         ("warm0", "warm, 0 ms latency (client cost)")):
        lines.append(title)
        row("  wall (s)", ".2f", lambda c, r, p=phase: r[p]["wall"])
        row("  CPU (s)", ".2f", lambda c, r, p=phase: r[p]["cpu"])
        row("    of which worker processes", ".2f", lambda c, r, p=phase: r[p]["worker_cpu"])
        row("  CPU per source (ms)", ".3f",
            lambda c, r, p=phase: 1000 * r[p]["cpu"] / max(1, r[p]["sources"]))
        row("  body bytes received (MB)", ".2f", lambda c, r, p=phase: r[p]["bytes"] / 1e6)
        row("  fetched / 304 / failed", "", lambda c, r, p=phase:
            f"{r[p]['fetched']}/{r[p]['unchanged']}/{r[p]['failed']}")
        row("  server requests", "d", lambda c, r, p=phase: r[p]["server"]["requests"])
        row("  server CPU (s, other process)", ".2f", lambda c, r, p=phase: r[p]["server"]["cpu"])
        if phase == "cold":
            row("  findings", "d", lambda c, r: r["cold"]["findings"])
            row("  pipeline cpu_seconds/feed (ms)", ".2f", lambda c, r: r["cold"]["pipeline_cpu_ms"])
            row("  feeds parsed in workers / here", "", lambda c, r:
                f"{r['cold']['parsed']['worker']}/{r['cold']['parsed']['here']}")
    lines.append("HTTP client alone (304s at 0 ms, no pipeline)")
    row("  wall (s)", ".2f", lambda c, r: r["http_only"]["wall"])
    row("  CPU per request (ms)", ".3f", lambda c, r: r["http_only"]["cpu_ms"])
    row("peak RSS (MB)", ".1f", lambda c, r: r["peak_mb"])
    row("  of which after imports (MB)", ".1f", lambda c, r: r["baseline_mb"])
    row("worker process peak RSS (MB)", ".1f", lambda c, r: r["workers_peak_mb"])
    row("parse CPU per feed (ms)", ".2f", lambda c, r: r["parse_detect"]["parse_ms"])
    row("detect CPU per feed (ms)", ".2f", lambda c, r: r["parse_detect"]["detect_ms"])
    for c, r in runs.items():
        for phase in ("cold", "warm", "warm0"):
            if r[phase]["errors"]:
                lines.append(f"  C={c} {phase} errors: {r[phase]['errors']}")

    lines += ["", "targets"]

    def target(label: str, ok: bool, shown: str) -> None:
        lines.append(f"  {label:58} {shown:>22}  {verdict(ok)}")

    for c, r in runs.items():
        limit = latency_limit(n, c, args.latency)
        ratio = r["cold"]["wall"] / limit
        target(f"C={c} cold wall ≤ {t.cold_over_limit}× limit", ratio <= t.cold_over_limit, f"{ratio:.2f}×")
        target(f"C={c} warm wall ≤ {t.warm_wall:g} s", r["warm"]["wall"] <= t.warm_wall,
               f"{r['warm']['wall']:.2f} s (floor {limit:.2f})")
        excess = r["warm"]["wall"] - limit
        target(f"C={c} warm wall beyond the latency floor ≤ {t.warm_wall:g} s", excess <= t.warm_wall,
               f"{excess:.2f} s")
        target(f"C={c} warm wall at 0 ms latency ≤ {t.warm_wall:g} s", r["warm0"]["wall"] <= t.warm_wall,
               f"{r['warm0']['wall']:.2f} s")
        per = 1000 * r["warm"]["cpu"] / max(1, r["warm"]["sources"])
        target(f"C={c} warm CPU ≤ {t.warm_cpu_ms_per_source} ms per source",
               per <= t.warm_cpu_ms_per_source, f"{per:.3f} ms")
        pd = r["parse_detect"]["parse_ms"] + r["parse_detect"]["detect_ms"]
        target(f"C={c} parse + detect ≤ {t.parse_detect_ms:g} ms CPU per feed", pd <= t.parse_detect_ms,
               f"{pd:.2f} ms")
        peak = r["peak_mb"] + r["workers_peak_mb"]
        target(f"C={c} peak memory ≤ {t.peak_mb:g} MB (with workers)", peak <= t.peak_mb, f"{peak:.1f} MB")
    lines += ["", *notes(args, runs, t)]
    lines.append("")
    if uw is None:
        lines.append(f"urlwatch: {uw_note}")
    else:
        lines.append(f"urlwatch {URLWATCH_VERSION} (its defaults): wall {uw['wall']:.2f} s for one run, "
                     f"{uw['requests']} requests ({uw['ok']} answered 200), exit code {uw['rc']}")
        for c, r in runs.items():
            ratio = uw["wall"] / r["cold"]["wall"]
            label = f"C={c} cold: urlwatch wall / newsbot wall"
            shown = ""
            if c == max(runs):
                label += f" ≥ {t.urlwatch_ratio:g}"
                shown = verdict(ratio >= t.urlwatch_ratio)
            lines.append(f"  {label:58} {ratio:>21.1f}×  {shown}")
    return lines


def notes(args: argparse.Namespace, runs: dict[int, dict[str, Any]], t: Targets) -> list[str]:
    """Plain words on the targets this machine cannot meet by design, with the measured reason."""
    out = ["notes"]
    for c, r in runs.items():
        limit = latency_limit(args.feeds, c, args.latency)
        if limit > t.warm_wall:
            out.append(f"  C={c}: every request, a 304 too, waits {args.latency * 1000:.0f} ms, so no warm cycle can "
                       f"take less than {limit:.2f} s here; compare 'beyond the floor' and the 0 ms run "
                       f"with {t.warm_wall:g} s.")
        per = 1000 * r["warm"]["cpu"] / max(1, r["warm"]["sources"])
        http = r["http_only"]["cpu_ms"]
        if per > t.warm_cpu_ms_per_source:
            out.append(f"  C={c}: warm CPU {per:.3f} ms per source, of which the HTTP client alone (httpx over "
                       f"aiohttp, one 304 on a kept connection) takes {http:.3f} ms.")
        cold = r["cold"]
        allowed = t.cold_over_limit * limit
        if cold["wall"] > allowed:
            cores = os.cpu_count() or 1
            main = cold["cpu"] - cold["worker_cpu"]
            out.append(f"  C={c}: the cold cycle used {cold['cpu']:.2f} s of CPU ({main:.2f} s in the loop's process, "
                       f"{cold['worker_cpu']:.2f} s in parse workers) against {allowed:.2f} s of wall allowed on "
                       f"{cores} cores: {1000 * cold['cpu'] / max(1, cold['sources']):.2f} ms per feed (parse + "
                       f"detect {r['parse_detect']['parse_ms'] + r['parse_detect']['detect_ms']:.2f}, the rest "
                       f"HTTP, state, scheduling and moving feeds between processes). The loop's process was "
                       f"busy {main / cold['wall']:.0%} of the cycle and the workers "
                       f"{cold['worker_cpu'] / cold['wall']:.0%} of a core: the first answers come one latency "
                       f"in, and each body is parsed only after it arrives.")
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds added to every request")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--hosts", type=int, default=0, help="loopback hosts (default: enough for the "
                        "largest concurrency at --per-host, at least 100, at most 250)")
    parser.add_argument("--per-host", type=int, default=2)
    parser.add_argument("--no-urlwatch", action="store_true")
    parser.add_argument("--profile", metavar="DIR", help="write cProfile stats of each cycle to DIR")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.client:
        return client_main(args.client)
    if not args.hosts:
        args.hosts = min(250, max(100, math.ceil(max(args.concurrency) / args.per_host)))
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
        args.profile = os.path.abspath(args.profile)
    command = None if args.no_urlwatch else urlwatch_command()
    note = "skipped (--no-urlwatch)" if args.no_urlwatch else (
        f"not installed (pip install urlwatch=={URLWATCH_VERSION}); comparison skipped")
    with Server(args.feeds, args.items, args.hosts, args.latency) as server:
        runs = {}
        for c in args.concurrency:
            print(f"client at concurrency {c}…", file=sys.stderr, flush=True)
            runs[c] = run_client(server.fs, c, args.per_host, args.latency, args.profile)
        uw = None
        if command:
            print("urlwatch…", file=sys.stderr, flush=True)
            uw = run_urlwatch(server.fs, command)
    print("\n".join(report(args, runs, uw, note)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
