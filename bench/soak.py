"""Soak and memory bench: the real `newsbot run` against 1,000 faulty local feeds and 10,000 subscribers.

Run: python bench/soak.py [--minutes 30] [--sources 1000] [--subscribers 10000]

A feed server (bench/soakutil.py, its own process) serves the feeds on loopback hosts with random
500s, resets, hangs, slow answers, truncated and non-XML bodies, new unrelated items and fresh
speculation about the watched shows (which must never alert). The fake Bot API (tests/fakebotapi.py)
runs here, with random 429/500/timeout answers and a few chats that blocked the bot. The state
starts with every subscriber. After the 10th cycle a real announcement is published every
--alert-every seconds (each in three feeds at once). When the run time is over no more are
published and the bench waits for the outbox to drain, then stops the daemon with SIGTERM.

The daemon's RSS is sampled at every cycle log line (--log-format json) and every second.
Targets: no crash; peak RSS after the 10th cycle at most 10% above the RSS at the 10th cycle;
peak RSS (VmHWM) at most 150 MB; every announced alert delivered to every active subscriber.
Prints the figures and PASS/FAIL per target; exits 1 if one is missed. The default 30-minute run
is meant to be started by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import urlopen

import psutil  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.soakutil import ANNOUNCEMENTS, SHOWS, feed_url, vm_hwm_kib  # noqa: E402
from bot.models import KIND_LABELS  # noqa: E402
from bot.store.store import State  # noqa: E402
from tests.fakebotapi import FakeBotAPI  # noqa: E402

TOKEN = "123:SOAK"
ADMIN = 1
FIRST_CHAT = 100_000
MB = 1024 * 1024
PEAK_LIMIT_MB = 150.0
GROWTH_LIMIT = 0.10
HEADER_RE = re.compile(r"<b>(.*?)</b>")


@dataclass(frozen=True, slots=True)
class Alert:
    """One real announcement the bench published."""

    show: int
    kind: str
    title: str
    at: float
    expected: frozenset[int]


@dataclass
class Sample:
    """The daemon's resident set size at one moment."""

    at: float
    cycle: int
    rss: int


@dataclass
class Watcher:
    """Runs the daemon, reads its JSON log lines and samples its memory."""

    cmd: list[str]
    env: dict[str, str]
    cwd: Path
    cycles: int = 0
    samples: list[Sample] = field(default_factory=list)
    rss_at_10: int = 0
    crashes: list[str] = field(default_factory=list)
    levels: Counter[str] = field(default_factory=Counter)
    errors: deque[str] = field(default_factory=lambda: deque(maxlen=5))
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=30))
    hwm_kib: int = 0
    cpu_seconds: float = 0.0
    proc: subprocess.Popen[str] | None = None
    _ps: psutil.Process | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=self.cwd, text=True, bufsize=1,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._ps = psutil.Process(self.proc.pid)
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.tail.append(line.rstrip())
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict):
                continue
            level = str(entry.get("level", ""))
            self.levels[level] += 1
            if level in ("error", "critical"):
                self.errors.append(str(entry.get("message", ""))[:300])
            if entry.get("event") == "cycle":
                with self._lock:
                    self.cycles += 1
                    self.sample()
                    if self.cycles == 10:
                        self.rss_at_10 = self.samples[-1].rss

    def sample(self) -> None:
        """Records the current RSS and the peak so far (no-op once the process is gone)."""
        ps = self._ps
        if ps is None:
            return
        try:
            rss = ps.memory_info().rss
            self.hwm_kib = max(self.hwm_kib, vm_hwm_kib(ps.pid))
            times = ps.cpu_times()
            self.cpu_seconds = times.user + times.system
        except psutil.Error:
            return
        self.samples.append(Sample(time.monotonic(), self.cycles, rss))

    def tick(self) -> None:
        """Periodic check: sample memory; restart the daemon (counting a crash) if it exited."""
        with self._lock:
            self.sample()
        if self.proc is not None and self.proc.poll() is not None:
            code = self.proc.returncode
            last = " | ".join(list(self.tail)[-5:])
            self.crashes.append(f"exit {code} after {self.cycles} cycles: {last}")
            print(f"  daemon exited with {code}; restarting", flush=True)
            self.start()

    def stop(self) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.proc is not None
        with self._lock:
            self.sample()
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)


@dataclass
class Deliveries:
    """Which chats each announcement reached, read incrementally from the fake API's records."""

    api: FakeBotAPI
    alerts: list[Alert] = field(default_factory=list)
    reached: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    copies: Counter[tuple[int, str, str]] = field(default_factory=Counter)
    operator: int = 0
    other: int = 0
    _seen: int = 0

    def update(self) -> None:
        new = self.api.delivered[self._seen:]  # the list only grows; a slice is taken atomically
        self._seen += len(new)
        labels = {label: kind for kind, label in KIND_LABELS.items()}
        for chat, text, _ in new:
            if chat == ADMIN:
                self.operator += 1
                continue
            match = HEADER_RE.search(text)
            key = _alert_key(match.group(1) if match else "", labels)
            if key is None:
                self.other += 1
                continue
            self.reached.setdefault(key, set()).add(int(chat))
            self.copies[(int(chat), *key)] += 1

    def missing(self) -> int:
        return sum(len(a.expected - self.reached.get((SHOWS[a.show], a.kind), set())) for a in self.alerts)

    def repeats(self) -> int:
        return sum(n - 1 for n in self.copies.values())


def _alert_key(header: str, labels: dict[str, str]) -> tuple[str, str] | None:
    """(show, kind) of an alert from its bold first line, e.g. "🎬 Trailer: Midnight Ferry season 2"."""
    for show in SHOWS:
        if f": {show}" in header:
            for label, kind in labels.items():
                if label in header:
                    return show, kind
    return None


def start_feed_server(feeds: int, hosts: int, seed: int) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "soakutil.py"), "--feeds", str(feeds),
                             "--hosts", str(hosts), "--seed", str(seed)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if len(line) != 2 or line[0] != "READY":
        proc.kill()
        raise SystemExit(f"soak: the feed server did not start ({line})")
    return proc, int(line[1])


def write_sources(path: Path, sources: int, hosts: int, port: int, send_rate: int,
                  rng: random.Random) -> None:
    """Every show as a watch, `sources` feeds with 15-60 s intervals, short timeouts, the send rate."""
    lines = ["watches:"]
    for n, show in enumerate(SHOWS):
        lines += [f"  - id: soak{n:02d}", f"    title: {show}", "    season: 2"]
    lines.append("sources:")
    for i in range(sources):
        lines += [f"  - name: Soak Herald {i}", f"    url: {feed_url(i, hosts, port)}",
                  f"    interval: {rng.randint(15, 60)}s"]
    lines += ["settings:", "  read_timeout: 10", "  connect_timeout: 5", f"  send_rate: {send_rate}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_subscribers(state_dir: Path, count: int) -> None:
    with State.open(state_dir) as state:
        now = datetime.now(UTC)
        for n in range(count):
            state.subscribe(FIRST_CHAT + n, "private", f"Fan {n}", now=now)


def announce(port: int, alert_no: int, feeds: int, rng: random.Random, expected: frozenset[int]) -> Alert:
    """Publishes announcement `alert_no` (a new (show, kind) each time) in three random feeds."""
    show = alert_no % len(SHOWS)
    kind, title_t, summary_t = ANNOUNCEMENTS[(alert_no // len(SHOWS)) % len(ANNOUNCEMENTS)]
    title, summary = title_t.format(t=SHOWS[show]), summary_t.format(t=SHOWS[show])
    where = ",".join(str(f) for f in rng.sample(range(feeds), min(3, feeds)))
    query = urlencode({"feeds": where, "title": title, "summary": summary})
    with urlopen(f"http://127.0.0.2:{port}/_announce?{query}", timeout=10) as reply:
        reply.read()
    return Alert(show, kind, title, time.monotonic(), expected)


def inject_bot_faults(api: FakeBotAPI, rng: random.Random) -> None:
    """Now and then a few sendMessage calls answer 429, 500, or hang then fail."""
    x = rng.random()
    if x < 0.15:
        api.add_fault("retry_after", times=rng.randint(1, 3), retry_after=1)
    elif x < 0.30:
        api.add_fault("server_error", times=rng.randint(1, 5))
    elif x < 0.35:
        api.add_fault("timeout", times=rng.randint(1, 2), delay=2.0)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="run time before the final drain")
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--blocked", type=int, default=20, help="subscribers who blocked the bot")
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--send-rate", type=int, default=30, help="settings.send_rate in the sources file")
    parser.add_argument("--alert-every", type=float, default=None,
                        help="seconds between announcements (default: 1.5x one broadcast at --send-rate)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the state and logs here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    rng = random.Random(seed)
    every = args.alert_every or max(60.0, 1.5 * args.subscribers / max(args.send_rate, 1))
    print(f"soak: {args.sources} sources on {args.hosts} hosts, {args.subscribers} subscribers "
          f"({args.blocked} blocked), {args.minutes:g} min, an alert every {every:.0f}s, seed {seed}",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="newsbot-soak-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        return run(args, work, rng, every)


def run(args: argparse.Namespace, work: Path, rng: random.Random, every: float) -> int:
    state_dir = work / "state"
    t0 = time.monotonic()
    make_subscribers(state_dir, args.subscribers)
    print(f"  {args.subscribers} subscribers created in {time.monotonic() - t0:.1f}s", flush=True)
    chats = [FIRST_CHAT + n for n in range(args.subscribers)]
    blocked = frozenset(rng.sample(chats, min(args.blocked, len(chats))))
    active = frozenset(chats) - blocked
    server, port = start_feed_server(args.sources, args.hosts, rng.randrange(2**31))
    api = FakeBotAPI().start()
    for chat in blocked:
        api.add_fault("blocked", chat_id=chat, times=None)
    write_sources(work / "sources.yaml", args.sources, args.hosts, port, args.send_rate, rng)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "NEWSBOT_"))}
    env.update(PYTHONPATH=str(ROOT), TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api.base_url,
               NEWSBOT_SOURCES=str(work / "sources.yaml"), NEWSBOT_STATE_DIR=str(state_dir),
               NEWSBOT_ADMINS=str(ADMIN))
    watcher = Watcher([sys.executable, "-m", "bot", "run", "--log-format", "json"], env, work)
    deliveries = Deliveries(api)
    try:
        watcher.start()
        started = time.monotonic()
        soak(args, watcher, deliveries, api, port, rng, every, active, started)
        drained = drain(args, watcher, deliveries, api, rng)
        code = watcher.stop()
        deliveries.update()
        return report(args, watcher, deliveries, state_dir, code, drained, time.monotonic() - started,
                      blocked, server_stats(port))
    finally:
        if watcher.proc is not None and watcher.proc.poll() is None:
            watcher.proc.kill()
        api.stop()
        assert server.stdin is not None
        server.stdin.close()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def soak(args: argparse.Namespace, watcher: Watcher, deliveries: Deliveries, api: FakeBotAPI, port: int,
         rng: random.Random, every: float, active: frozenset[int], started: float) -> None:
    """The run proper: announcements on schedule, Bot API faults, memory samples, progress lines."""
    end = started + args.minutes * 60
    next_alert = next_fault = next_line = 0.0
    while (now := time.monotonic()) < end:
        watcher.tick()
        deliveries.update()
        if watcher.cycles >= 10 and now >= next_alert:
            alert = announce(port, len(deliveries.alerts), args.sources, rng, active)
            deliveries.alerts.append(alert)
            next_alert = now + every
            print(f"  {now - started:6.0f}s announced: {alert.title}", flush=True)
        if now >= next_fault:
            inject_bot_faults(api, rng)
            next_fault = now + 5.0
        if now >= next_line:
            progress(watcher, deliveries, now - started)
            next_line = now + 30.0
        time.sleep(1.0)


def progress(watcher: Watcher, deliveries: Deliveries, elapsed: float) -> None:
    rss = watcher.samples[-1].rss / MB if watcher.samples else 0.0
    expected = sum(len(a.expected) for a in deliveries.alerts)
    print(f"  {elapsed:6.0f}s cycles {watcher.cycles}, RSS {rss:.1f} MB, alerts {len(deliveries.alerts)}, "
          f"delivered {expected - deliveries.missing()}/{expected}, errors logged {watcher.levels['error']}",
          flush=True)


def drain(args: argparse.Namespace, watcher: Watcher, deliveries: Deliveries, api: FakeBotAPI,
          rng: random.Random) -> float:
    """After the run time: waits until every alert reached every active chat; returns the seconds it took."""
    started = time.monotonic()
    limit = 120.0 + 1.5 * deliveries.missing() / max(args.send_rate, 1)
    print(f"  run time over; draining {deliveries.missing()} messages (up to {limit:.0f}s)", flush=True)
    next_line = started + 30
    while deliveries.missing() and time.monotonic() - started < limit:
        watcher.tick()
        deliveries.update()
        if rng.random() < 0.2:
            inject_bot_faults(api, rng)
        if time.monotonic() >= next_line:
            progress(watcher, deliveries, time.monotonic() - started)
            next_line += 30
        time.sleep(1.0)
    time.sleep(3.0)  # let a cycle or two run on an empty outbox
    watcher.tick()
    return time.monotonic() - started


def server_stats(port: int) -> dict[str, int]:
    try:
        with urlopen(f"http://127.0.0.2:{port}/_stats", timeout=10) as reply:
            data = json.loads(reply.read())
    except OSError:
        return {}
    return {str(k): int(v) for k, v in data.items()}


def report(args: argparse.Namespace, watcher: Watcher, deliveries: Deliveries, state_dir: Path, code: int,
           drain_s: float, elapsed: float, blocked: frozenset[int], served: dict[str, int]) -> int:
    with State.open(state_dir) as state:
        outbox, intact = state.outbox_size(), state.integrity_ok()
        subs = state.subscribers(active_only=False)
        alerted = {(e.watch, e.kind) for e in state.events() if e.alerted}
    deactivated = {s.chat_id for s in subs if not s.active}
    announced = {(f"soak{a.show:02d}", a.kind) for a in deliveries.alerts}
    after_10 = [s.rss for s in watcher.samples if s.cycle >= 10]
    r10, peak_after = watcher.rss_at_10, max(after_10, default=0)
    end_rss = watcher.samples[-1].rss if watcher.samples else 0
    growth = peak_after / r10 - 1 if r10 else float("inf")
    third = after_10[: max(1, len(after_10) // 3)]
    late = after_10[-max(1, len(after_10) // 3):]
    late_growth = max(late, default=0) / max(max(third, default=1), 1) - 1
    hwm = watcher.hwm_kib / 1024
    lost = deliveries.missing()
    print(f"\nsoak figures ({elapsed / 60:.1f} min including a {drain_s:.0f}s drain):")
    print(f"  cycles run: {watcher.cycles}; daemon CPU {watcher.cpu_seconds:.0f}s; log lines by level: "
          f"{dict(watcher.levels)}")
    print(f"  feed server: {served}")
    print(f"  RSS at cycle 10: {r10 / MB:.1f} MB; at the end: {end_rss / MB:.1f} MB; peak after cycle 10: "
          f"{peak_after / MB:.1f} MB; peak (VmHWM): {hwm:.1f} MB")
    print(f"  growth: peak after cycle 10 vs cycle 10 {growth:+.1%}; last third vs first third of the run "
          f"{late_growth:+.1%}")
    print(f"  alerts published: {len(deliveries.alerts)}; recorded as alerted: {len(alerted)} "
          f"(not announced: {sorted(alerted - announced)}); per subscriber: "
          + ", ".join(f"{len(deliveries.reached.get((SHOWS[a.show], a.kind), set()) & a.expected)}/"
                      f"{len(a.expected)}" for a in deliveries.alerts))
    print(f"  lost: {lost}; repeated: {deliveries.repeats()}; outbox left: {outbox}; operator notices: "
          f"{deliveries.operator}; other messages: {deliveries.other}")
    print(f"  blocked chats deactivated: {len(blocked & deactivated)}/{len(blocked)}; other deactivations: "
          f"{len(deactivated - blocked)}; integrity: {'ok' if intact else 'FAILED'}; exit code {code}")
    for line in watcher.crashes:
        print(f"  crash: {line}")
    for line in watcher.errors:
        print(f"  error logged: {line}")
    targets = [
        ("no crash", not watcher.crashes and code == 0 and intact,
         f"{len(watcher.crashes)} crashes, exit {code}, integrity {'ok' if intact else 'FAILED'}"),
        ("no unbounded growth (<= 10%)", growth <= GROWTH_LIMIT, f"{growth:+.1%}"),
        (f"peak RSS <= {PEAK_LIMIT_MB:.0f} MB with {args.subscribers} subscribers", hwm <= PEAK_LIMIT_MB,
         f"{hwm:.1f} MB"),
        ("no lost alert", lost == 0 and bool(deliveries.alerts), f"{lost} missing of "
         f"{sum(len(a.expected) for a in deliveries.alerts)}"),
    ]
    for name, ok, figure in targets:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}: {figure}")
    return 0 if all(ok for _, ok, _ in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
