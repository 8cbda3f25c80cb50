"""Whole-process benchmark: `newsbot scan` against urlwatch 2.29 on the same local feeds, cold and warm.

Run: python bench/scan.py [--quick] [--feeds 1000] [--no-urlwatch] [--no-daemon]

A feed server (bench/feedserver.py, its own process) serves generated RSS feeds on loopback hosts
127.0.0.2… (100 hosts, 200 ms added to every answer, ETag → 304). Each run is a whole process started
as a user starts it, at the shipped defaults: start-up, reading the sources file, every fetch. Cold
is a fresh state dir (urlwatch: a fresh cache), warm the same command again, when every feed
answers 304. Wall time is the parent's clock; CPU and peak RSS come from wait4() on the child
(its own and its waited-for children's). Targets, as ratios against urlwatch from the same run:
cold and warm wall each ≥ 3× faster, cold CPU ≤ 0.66×, warm CPU ≤ 0.2×.

Also printed: the CPU of the same requests made by httpx alone (bench/floor.py), the part of
each CPU target that the HTTP client by itself already spends; the peak memory of a cold scan at
1,000 and 10,000 sources; and the daemon's CPU seconds per hour at 200 sources on a 15-minute
interval. The daemon figure runs the real `newsbot run` for a bounded time with a short interval,
measures its idle CPU rate and its CPU per fetch, and extrapolates to an hour.
Every loop is bounded; nothing leaves 127.0.0.0/8.
--quick: 200 feeds, memory at 200 and 2,000 sources, a shorter daemon run (about 2 minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from feedserver import WATCH_ALIASES, WATCH_SEASON, WATCH_TITLE, FeedSet  # noqa: E402
from procs import bench_env, stop, wait_bounded  # noqa: E402

URLWATCH_VERSION = "2.29"
COLD_CPU_TARGET, WARM_CPU_TARGET = 0.66, 0.2  # newsbot's CPU over urlwatch's, at most
RUN_TIMEOUT = 900.0
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True, slots=True)
class Run:
    """One whole process: wall seconds, CPU seconds, peak RSS of its largest process, and what the server saw."""

    wall: float
    cpu: float
    peak_mb: float
    rc: int
    requests: int
    ok: int
    not_modified: int
    stderr: str


# ---- processes -------------------------------------------------------------------------------------


def measure(cmd: list[str], env: dict[str, str], cwd: Path, fs: FeedSet) -> Run:
    """Runs `cmd` to the end (bounded), timing it and reading its rusage with wait4()."""
    before = control(fs, "/_stats")
    err = tempfile.TemporaryFile(mode="w+")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=cwd)
    status, usage = wait_bounded(proc, RUN_TIMEOUT)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    after = control(fs, "/_stats")
    err.seek(0)
    return Run(wall=wall, cpu=usage.ru_utime + usage.ru_stime, peak_mb=usage.ru_maxrss / 1024,
               rc=proc.returncode, requests=after["requests"] - before["requests"], ok=after["ok"] - before["ok"],
               not_modified=after["not_modified"] - before["not_modified"], stderr=err.read()[-400:])


def control(fs: FeedSet, path: str) -> Any:
    """A control request to the feed server (never timed, never counted)."""
    with _NO_PROXY.open(f"http://{fs.host(0)}:{fs.port}{path}", timeout=10) as response:
        return json.loads(response.read())


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
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---- newsbot ---------------------------------------------------------------------------------------


def newsbot_command() -> list[str]:
    """The installed `newsbot` command next to this Python, else `python -m bot`."""
    exe = Path(sys.executable).parent / "newsbot"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "bot"]


def write_sources(path: Path, fs: FeedSet, count: int, interval: str = "15m") -> None:
    """A sources file watching the bench show on the first `count` feeds, at the shipped settings."""
    lines = ["watches:", "  - id: lantern-s2", f"    title: {WATCH_TITLE}", f"    season: {WATCH_SEASON}",
             f"    aliases: [{', '.join(WATCH_ALIASES)}]", "sources:"]
    for i in range(count):
        lines += [f"  - name: feed-{i:05d}", f"    url: {fs.feed_url(i)}", f"    interval: {interval}",
                  "    language: en"]
    lines += ["settings:", "  allow_private: true  # the bench feeds live on 127.0.0.0/8"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def newsbot_scans(fs: FeedSet, count: int, tmp: Path) -> tuple[Run, Run]:
    """A cold scan (fresh state) and a warm one (same state, every feed 304)."""
    sources, state = tmp / f"sources-{count}.yaml", tmp / f"state-{count}"
    write_sources(sources, fs, count)
    cmd = [*newsbot_command(), "scan", "--sources", str(sources), "--state", str(state)]
    env = bench_env(tmp)
    return measure(cmd, env, tmp, fs), measure(cmd, env, tmp, fs)


# ---- urlwatch --------------------------------------------------------------------------------------


def urlwatch_command() -> list[str] | None:
    """The urlwatch executable next to this Python (or on PATH), if it is version 2.29."""
    exe = Path(sys.executable).parent / "urlwatch"
    found = str(exe) if exe.exists() else shutil.which("urlwatch")
    if not found:
        return None
    version = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=60).stdout
    return [found] if URLWATCH_VERSION in version.split() else None


def urlwatch_runs(fs: FeedSet, count: int, command: list[str], tmp: Path) -> tuple[Run, Run]:
    """urlwatch with its defaults, its own urls/config/hooks/cache files: a cold run, then a warm one."""
    home = tmp / "urlwatch"
    home.mkdir()
    urls = home / "urls.yaml"
    urls.write_text("\n---\n".join(f"name: feed-{i:05d}\nurl: {fs.feed_url(i)}" for i in range(count)) + "\n")
    cmd = [*command, "--urls", str(urls), "--config", str(home / "urlwatch.yaml"),
           "--cache", str(home / "cache.db"), "--hooks", str(home / "hooks.py")]
    env = bench_env(home)
    return measure(cmd, env, home, fs), measure(cmd, env, home, fs)


# ---- the daemon ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DaemonFigures:
    """The daemon's idle CPU rate, its CPU per fetch, and the hour they add up to."""

    sources: int
    interval: float
    window: float
    idle_cpu_per_s: float
    fetches: int
    cpu_per_fetch: float
    peak_mb: float

    def per_hour(self, interval: float = 900.0) -> float:
        """CPU seconds per hour with the same sources fetched every `interval` seconds."""
        return 3600 * self.idle_cpu_per_s + self.sources * (3600 / interval) * self.cpu_per_fetch


def _tree_cpu_and_rss(proc: psutil.Process) -> tuple[float, float]:
    """CPU seconds of the process and its live children, and their summed RSS in MB."""
    cpu, rss = 0.0, 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            times = p.cpu_times()
            cpu += times.user + times.system + times.children_user + times.children_system
            rss += p.memory_info().rss
        except psutil.Error:
            continue
    return cpu, rss / 2**20


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Polls `check` until it holds; raises after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.1)


def daemon_figures(fs: FeedSet, count: int, interval: float, window: float, tmp: Path) -> DaemonFigures:
    """The real `newsbot run` (no Telegram token) over `count` feeds fetched every `interval` seconds.

    After the first (cold) round, the idle CPU rate is read while nothing is due, then the CPU and the
    fetches of `window` seconds give the CPU per fetch beyond the idle rate.
    """
    sources, state = tmp / "daemon-sources.yaml", tmp / "daemon-state"
    write_sources(sources, fs, count, interval=f"{interval:g}s")
    log = tmp / "daemon.log"
    cmd = [*newsbot_command(), "run", "--sources", str(sources), "--state", str(state)]
    start = int(control(fs, "/_stats")["requests"])

    def served() -> int:
        return int(control(fs, "/_stats")["requests"]) - start

    with log.open("w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=bench_env(tmp), cwd=tmp)
    try:
        ps = psutil.Process(proc.pid)
        wait_for(lambda: served() >= count, 120, "the daemon's first round")
        settled = served()
        time.sleep(1.0)  # the round's last parses and writes
        # Idle: nothing is due until the next round (the interval is jittered, so stop early).
        cpu0, _ = _tree_cpu_and_rss(ps)
        t0 = time.monotonic()
        idle_until = t0 + interval * 0.5
        while time.monotonic() < idle_until and served() == settled:
            time.sleep(0.2)
        idle_cpu, _ = _tree_cpu_and_rss(ps)
        idle_wall = time.monotonic() - t0
        idle_rate = (idle_cpu - cpu0) / idle_wall if served() == settled else float("nan")
        # Busy: the following rounds.
        cpu1, n1, t1 = idle_cpu, served(), time.monotonic()
        peak = 0.0
        while time.monotonic() < t1 + window:
            if proc.poll() is not None:
                raise RuntimeError(f"the daemon exited: {log.read_text()[-400:]}")
            peak = max(peak, _tree_cpu_and_rss(ps)[1])
            time.sleep(0.5)
        cpu2, _ = _tree_cpu_and_rss(ps)
        elapsed, fetches = time.monotonic() - t1, served() - n1
    finally:
        stop(proc, 30)
    per_fetch = max(0.0, cpu2 - cpu1 - idle_rate * elapsed) / max(1, fetches)
    return DaemonFigures(sources=count, interval=interval, window=elapsed, idle_cpu_per_s=idle_rate,
                         fetches=fetches, cpu_per_fetch=per_fetch, peak_mb=peak)


# ---- report ----------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def floor_runs(fs: FeedSet, count: int, tmp: Path) -> tuple[Run, Run]:
    """The same GETs, cold then warm, by a process that only runs httpx (bench/floor.py)."""
    urls, etags = tmp / f"floor-urls-{count}.txt", tmp / f"floor-etags-{count}.json"
    urls.write_text("\n".join(fs.feed_url(i) for i in range(count)) + "\n", encoding="utf-8")
    cmd = [sys.executable, str(BENCH / "floor.py"), str(urls), str(etags)]
    env = bench_env(tmp)
    return measure(cmd, env, tmp, fs), measure(cmd, env, tmp, fs)


def floor_lines(floor: tuple[Run, Run], uw: tuple[Run, Run] | None) -> list[str]:
    """What the HTTP client alone costs, against the CPU the targets allow."""
    lines = ["", "the HTTP client alone (bench/floor.py: httpx and nothing else, same requests, whole process)",
             f"  cold CPU {floor[0].cpu:.2f} s ({floor[0].ok} answers 200), "
             f"warm CPU {floor[1].cpu:.2f} s ({floor[1].not_modified} answers 304)"]
    if uw is not None:
        for label, budget, spent in (("cold", COLD_CPU_TARGET * uw[0].cpu, floor[0].cpu),
                                      ("warm", WARM_CPU_TARGET * uw[1].cpu, floor[1].cpu)):
            lines.append(f"  {label} CPU target allows {budget:.2f} s for all of newsbot; httpx alone takes "
                         f"{spent / budget:.0%} of it")
    return lines


def scan_table(n: int, nb: tuple[Run, Run], uw: tuple[Run, Run] | None) -> list[str]:
    """Side by side, then the four targets."""
    lines = [f"{'':26}{'newsbot':>12}{'urlwatch':>12}"]
    rows: list[tuple[str, Callable[[tuple[Run, Run]], object]]] = [
        ("cold wall (s)", lambda r: f"{r[0].wall:.2f}"), ("cold CPU (s)", lambda r: f"{r[0].cpu:.2f}"),
        ("warm wall (s)", lambda r: f"{r[1].wall:.2f}"), ("warm CPU (s)", lambda r: f"{r[1].cpu:.2f}"),
        ("cold peak RSS (MB)", lambda r: f"{r[0].peak_mb:.1f}"),
        ("warm peak RSS (MB)", lambda r: f"{r[1].peak_mb:.1f}"),
        ("cold: 200 / 304 answers", lambda r: f"{r[0].ok}/{r[0].not_modified}"),
        ("warm: 200 / 304 answers", lambda r: f"{r[1].ok}/{r[1].not_modified}"),
        ("exit codes", lambda r: f"{r[0].rc}, {r[1].rc}"),
    ]
    for label, get in rows:
        lines.append(f"{label:26}{get(nb)!s:>12}" + (f"{get(uw)!s:>12}" if uw else f"{'-':>12}"))
    if uw is None:
        return lines
    lines += ["", f"targets ({n} feeds, one run)"]
    for label, value, ok in (
        ("cold wall: urlwatch / newsbot ≥ 3×", uw[0].wall / nb[0].wall, uw[0].wall / nb[0].wall >= 3),
        ("warm wall: urlwatch / newsbot ≥ 3×", uw[1].wall / nb[1].wall, uw[1].wall / nb[1].wall >= 3),
        (f"cold CPU: newsbot / urlwatch ≤ {COLD_CPU_TARGET}×", nb[0].cpu / uw[0].cpu,
         nb[0].cpu / uw[0].cpu <= COLD_CPU_TARGET),
        (f"warm CPU: newsbot / urlwatch ≤ {WARM_CPU_TARGET}×", nb[1].cpu / uw[1].cpu,
         nb[1].cpu / uw[1].cpu <= WARM_CPU_TARGET),
    ):
        lines.append(f"  {label:40}{value:>8.2f}×  {verdict(ok)}")
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 feeds, memory at 200 and 2,000, a short daemon run")
    parser.add_argument("--feeds", type=int, default=None, help="feeds of the side-by-side scans (default 1000)")
    parser.add_argument("--memory-feeds", type=int, nargs="*", default=None,
                        help="source counts of the memory figures (default 1000 10000)")
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds added to every answer")
    parser.add_argument("--no-urlwatch", action="store_true")
    parser.add_argument("--no-daemon", action="store_true")
    parser.add_argument("--no-floor", action="store_true", help="skip the HTTP client's own CPU (bench/floor.py)")
    args = parser.parse_args(argv)
    args.feeds = args.feeds or (200 if args.quick else 1000)
    if args.memory_feeds is None:
        args.memory_feeds = [200, 2000] if args.quick else [1000, 10000]
    args.daemon_interval, args.daemon_window = (15.0, 35.0) if args.quick else (30.0, 150.0)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = None if args.no_urlwatch else urlwatch_command()
    lines = [f"whole processes at the shipped defaults: {args.items} items per feed, {args.hosts} loopback hosts, "
             f"{args.latency * 1000:.0f} ms per answer, {os.cpu_count()} CPUs", ""]
    largest = max([args.feeds, *args.memory_feeds, 200])
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as name, \
            Server(largest, args.items, args.hosts, args.latency) as server:
        tmp, fs = Path(name), server.fs
        print(f"newsbot scan × 2 at {args.feeds} feeds…", file=sys.stderr, flush=True)
        nb = newsbot_scans(fs, args.feeds, tmp)
        uw = None
        if command:
            print(f"urlwatch × 2 at {args.feeds} feeds…", file=sys.stderr, flush=True)
            uw = urlwatch_runs(fs, args.feeds, command, tmp)
        lines += [f"newsbot scan against urlwatch {URLWATCH_VERSION} on the same {args.feeds} feeds",
                  *scan_table(args.feeds, nb, uw)]
        if uw is None:
            lines.append("urlwatch: " + ("skipped (--no-urlwatch)" if args.no_urlwatch else
                                         f"not installed (pip install urlwatch=={URLWATCH_VERSION})"))
        if not args.no_floor:
            print(f"httpx alone × 2 at {args.feeds} feeds…", file=sys.stderr, flush=True)
            lines += floor_lines(floor_runs(fs, args.feeds, tmp), uw)
        for run in (*nb, *(uw or ())):
            if run.rc not in (0, 1) or run.stderr.count("Traceback"):
                lines.append(f"  (a run ended {run.rc}: {run.stderr.strip()[-300:]})")
        lines += ["", "peak memory of a cold `newsbot scan` (largest process, RSS)"]
        for count in args.memory_feeds:
            if count == args.feeds:
                peak = nb[0].peak_mb
            else:
                print(f"newsbot scan at {count} feeds…", file=sys.stderr, flush=True)
                peak = newsbot_scans_cold(fs, count, tmp).peak_mb
            lines.append(f"  {count:>6} sources: {peak:7.1f} MB")
        if not args.no_daemon:
            print("newsbot run…", file=sys.stderr, flush=True)
            d = daemon_figures(fs, 200, args.daemon_interval, args.daemon_window, tmp)
            lines += ["", f"daemon (`newsbot run`, no Telegram token), {d.sources} sources",
                      f"  measured: every source every {d.interval:g} s for {d.window:.0f} s after the first round: "
                      f"{d.fetches} fetches (304s),",
                      f"  idle CPU {d.idle_cpu_per_s * 1000:.2f} ms/s, CPU per fetch {d.cpu_per_fetch * 1000:.2f} ms, "
                      f"peak RSS {d.peak_mb:.0f} MB (with its children)",
                      f"  extrapolated to a 15-minute interval: {d.per_hour():.1f} CPU seconds per hour "
                      f"(3600 × idle + {d.sources} × 4 × per fetch)"]
    print("\n".join(lines))
    return 0


def newsbot_scans_cold(fs: FeedSet, count: int, tmp: Path) -> Run:
    """One cold scan of the first `count` feeds (fresh state)."""
    sources, state = tmp / f"sources-{count}.yaml", tmp / f"state-{count}"
    write_sources(sources, fs, count)
    return measure([*newsbot_command(), "scan", "--sources", str(sources), "--state", str(state)],
                   bench_env(tmp), tmp, fs)


if __name__ == "__main__":
    sys.exit(main())
