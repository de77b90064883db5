"""The Textual workstation in a real terminal (tmux): cold start, queue keys, memory.

Targets (2-core reference machine):

1. cold start to the first paint of a populated queue, 100,000-case store: ≤ 0.8 s wall
   (process start → the first "CAS-DEMO-" row on screen);
2. moving / paging in the queue, 1,000,000-case store: ≤ 50 ms from key to updated screen
   (median), and no key over 100 ms;
3. resident memory with the 1,000,000-case store open: ≤ 200 MB.

How: a private tmux server (``tmux -L caseterm-bench-PID -f /dev/null``) runs each program
in a fresh 120x36 session (``tmux new-session -d -x 120 -y 36 "exec env … caseterm --db
STORE --as jdoe"``: with exec the pane's process is caseterm itself). The script polls
``tmux capture-pane -p`` and times, from just before the tmux command that started the
program or sent the key, the capture that first showed the change. The config, data and
log dirs point at a temporary directory and CASETERM_CLOCK is fixed, so no personal
config.toml (theme, keymap) changes what is measured.

1. ``--runs`` starts (after 1 warm-up) on a ``--start-cases`` store (default 100,000),
   polled every ``--start-poll-ms`` (5 ms): first frame (any text), queue rows
   ("CAS-DEMO-"), case pane ("Timeline (newest first)"). The same harness with a
   program that prints "CAS-DEMO-x" at once (``python -c``) is the floor.
2. One session on a ``--cases`` store (default 1,000,000): the "All active" view (v, Down
   until the queue title says "All active", Enter), then one key at a time: 50 j, 20 k,
   20 PageDown, 20 PageUp, 5 × G/g; each key waits until the screen has been quiet for
   ``--quiet-ms``. Captures include colours (``capture-pane -p -e``): the cursor is only a
   background colour. Per key: *first change*, *queue updated* (no "…" placeholder row and
   the cursor row visible), *case shown* (the case pane shows the highlighted row). Then
   two held-key bursts (60 keys at 30/s) with the longest gap between screen updates.
   The floor: the cost of one capture-pane / send-keys call and the poll interval reached.
   After each phase the highlighted row is checked against the store (the row the cursor
   should be on, by ``queries.page_cases_at``; a page is the rows on screen less one).
3. VmRSS / VmHWM of the caseterm process after the start, after the key runs and after
   ``--sweep`` PageDowns sent as fast as tmux takes them (the list keeps ~3,000 rows); for
   the sweep also when the queue was filled again and the longest time the screen stood
   still showing "…" rows.

Timings include tmux and the polling (each capture is a tmux client process; the
polling itself uses CPU the app could have used on a 2-core machine). The store's pages
are in the OS cache after the warm-up: "cold" means a new process, not a cold disk.
Prints figures; asserts nothing.

    .venv/bin/python tests/bench/bench_tui.py                                   # 100k start, 1M keys/memory
    .venv/bin/python tests/bench/bench_tui.py --cases 20000 --start-cases 20000 # quick look
"""

from __future__ import annotations

import os
import re
import resource
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import _common as c

START_TARGET_S = 0.8
KEY_TARGET_MS = 50.0
STALL_MS = 100.0
RSS_TARGET_MB = 200.0
WIDTH, HEIGHT = 120, 36
AGENT = "jdoe"
ROW_TEXT = "CAS-DEMO-"
CASE_TEXT = "Timeline (newest first)"
BIG_VIEW = "All active"

NUMBER = re.compile(r"CAS-DEMO-\d+")
ESCAPE = re.compile(r"\x1b\[([0-9;:?]*)([A-Za-z])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]")


# --- tmux ---------------------------------------------------------------------------------------


class Tmux:
    """A private tmux server: its own socket, no user config, a keeper session so the
    server stays up between the measured sessions (starting the server is not timed)."""

    def __init__(self, home: Path) -> None:
        self.socket = f"caseterm-bench-{os.getpid()}"
        self.base = ["tmux", "-L", self.socket, "-f", "/dev/null"]
        self.home = home
        self.names = 0
        self.run("new-session", "-d", "-s", "keeper", "-x", str(WIDTH), "-y", str(HEIGHT), "sleep 86400")
        self.run("set-option", "-g", "remain-on-exit", "on")  # a crash leaves its traceback on screen
        pid, socket = self.run("display-message", "-p", "-t", "keeper", "#{pid} #{socket_path}").strip().split(" ", 1)
        self.server_pid, self.socket_path = int(pid), Path(socket)

    def run(self, *args: str) -> str:
        done = subprocess.run([*self.base, *args], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def wrap(self, argv: Sequence[str | os.PathLike]) -> str:
        """The shell command for a pane: pinned environment, then exec the program."""
        env = ["env", "-u", "COLUMNS", "-u", "LINES", "-u", "CASETERM_DB", "-u", "CASETERM_AGENT",
               f"XDG_CONFIG_HOME={self.home}/config", f"XDG_DATA_HOME={self.home}/data",
               f"XDG_STATE_HOME={self.home}/state", f"XDG_CACHE_HOME={self.home}/cache",
               f"CASETERM_CONFIG={self.home}/config/none.toml", f"CASETERM_CLOCK={c.NOW}"]
        return "exec " + shlex.join([*env, *map(str, argv)])

    def new_session(self, command: str) -> str:
        self.names += 1
        name = f"s{self.names}"
        self.run("new-session", "-d", "-s", name, "-x", str(WIDTH), "-y", str(HEIGHT), command)
        return name

    def capture(self, name: str, colours: bool = False) -> str:
        return self.run("capture-pane", "-p", *(["-e"] if colours else []), "-t", name)

    def keys(self, name: str, *keys: str) -> None:
        self.run("send-keys", "-t", name, *keys)

    def pane_pid(self, name: str) -> int:
        return int(self.run("list-panes", "-t", name, "-F", "#{pane_pid}").split()[0])

    def kill(self, name: str) -> None:
        """Kill the session and wait until its program has gone (it must not eat CPU
        during the next run)."""
        try:
            pid = self.pane_pid(name)
        except RuntimeError:
            pid = None
        subprocess.run([*self.base, "kill-session", "-t", name], capture_output=True)
        if pid is None:
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.01)
        if Path(f"/proc/{pid}").exists():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True)
        self.socket_path.unlink(missing_ok=True)  # a killed server leaves its socket file


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- reading the screen --------------------------------------------------------------------------


def cells(line: str) -> tuple[str, list[str]]:
    """A captured line with escapes: (its text, the background code of each character)."""
    text, backs = [], []
    bg = ""
    reverse = False
    fg = ""
    pos = 0
    for m in ESCAPE.finditer(line):
        for ch in line[pos:m.start()]:
            text.append(ch)
            backs.append(fg if reverse else bg)
        pos = m.end()
        if m.group(2) != "m":
            continue
        params = (m.group(1) or "0").replace(":", ";").split(";")
        i = 0
        while i < len(params):
            p = params[i] or "0"
            if p == "0":
                bg, fg, reverse = "", "", False
            elif p == "7":
                reverse = True
            elif p == "27":
                reverse = False
            elif p in ("38", "48"):
                n = 3 if params[i + 1:i + 2] == ["5"] else 5
                value = ";".join(params[i:i + n])
                if p == "48":
                    bg = value
                else:
                    fg = value
                i += n - 1
            elif p == "49":
                bg = ""
            elif p == "39":
                fg = ""
            elif len(p) == 2 and p[0] in "34" or len(p) == 3 and p[:2] in ("90", "10"):
                if p[0] == "4" or p[:2] == "10":
                    bg = p
                else:
                    fg = p
            i += 1
    for ch in line[pos:]:
        text.append(ch)
        backs.append(fg if reverse else bg)
    return "".join(text), backs


@dataclass
class Screen:
    """What a capture shows: the queue's rows, the highlighted one, the case pane's case."""

    raw: str
    lines: list[str] = field(default_factory=list)
    title: str = ""
    rows: list[str] = field(default_factory=list)  # case numbers of the queue rows on screen
    placeholders: int = 0  # "…" rows still waiting for their data
    cursor: str | None = None  # number of the highlighted queue row (None: none visible)
    case: str | None = None  # the case pane's case number

    @classmethod
    def parse(cls, raw: str) -> Screen:
        s = cls(raw)
        parsed = [cells(line) for line in raw.splitlines()]
        s.lines = [text for text, _ in parsed]
        right = [text.split("▎", 1)[1] if "▎" in text else text for text in s.lines]
        s.title = right[0].strip() if right else ""
        header = next((i for i, t in enumerate(right) if " Number " in t and "Customer" in t), None)
        if header is None:
            return s
        sep = next((i for i in range(header + 1, len(right)) if "▁▁▁▁" in right[i]), len(right))
        backs = {}
        for i in range(header + 1, sep):
            text, bg = parsed[i]
            m = NUMBER.search(text)
            if m:
                s.rows.append(m.group())
                backs[m.group()] = bg[m.start()]
            elif right[i].strip().startswith("…"):
                s.placeholders += 1
        found = Counter(backs.values())
        odd = [n for n, b in backs.items() if found[b] == 1]
        if len(odd) == 1 and len(backs) > 2:
            s.cursor = odd[0]
        for t in right[sep + 1:]:
            m = NUMBER.search(t)
            if m:
                s.case = m.group()
                break
        return s

    @property
    def queue_ready(self) -> bool:
        return bool(self.rows) and not self.placeholders and self.cursor is not None

    @property
    def case_ready(self) -> bool:
        return self.queue_ready and self.case == self.cursor


# --- 1. cold start ----------------------------------------------------------------------------


def timed_start(tmux: Tmux, argv: Sequence[str | os.PathLike], milestones: dict[str, str],
                poll_s: float, timeout: float = 60) -> tuple[dict[str, float], int, dict[str, int]]:
    """Start ``argv`` in a new session; seconds until each milestone text (""= any text)
    is on screen; the number of polls; the program's memory when all were seen."""
    command = tmux.wrap(argv)
    seen: dict[str, float] = {}
    polls = 0
    started = time.perf_counter()
    name = tmux.new_session(command)
    try:
        screen = ""
        while len(seen) < len(milestones):
            tick = time.perf_counter()
            screen = tmux.capture(name)
            now = time.perf_counter()
            polls += 1
            for label, text in milestones.items():
                if label not in seen and (text in screen if text else screen.strip()):
                    seen[label] = now - started
            if now - started > timeout:
                sys.exit(f"`{command}`: {', '.join(set(milestones) - set(seen))} not seen after {timeout:.0f} s; "
                         f"the screen:\n{screen}")
            time.sleep(max(0.0, poll_s - (time.perf_counter() - tick)))
        mem = memory(tmux.pane_pid(name))
    finally:
        tmux.kill(name)
    return seen, polls, mem


def part_start(tmux: Tmux, store: Path, runs: int, poll_s: float) -> None:
    app = [c.CASETERM, "--db", store, "--as", AGENT]
    floor = [c.PYTHON, "-c", "print('CAS-DEMO-x'); import time; time.sleep(5)"]
    app_marks = {"first frame (any text)": "", "queue rows (\"CAS-DEMO-\")": ROW_TEXT,
                 "case pane (\"Timeline …\")": CASE_TEXT}
    floor_marks = {"floor: python -c print(\"CAS-DEMO-x\")": ROW_TEXT}
    print(f"\n-- 1. cold start: 1 warm-up + {runs} runs each, polling every {poll_s * 1000:.0f} ms; load {load()}")
    print(f"  running: tmux new-session -d -x {WIDTH} -y {HEIGHT} {shlex.quote(tmux.wrap(app))}")
    print(f"  floor:   the same with {c.display(floor)} in place of caseterm", flush=True)
    results: dict[str, list[float]] = {}
    polls: list[float] = []
    mems: list[dict[str, int]] = []
    for argv, marks in ((app, app_marks), (floor, floor_marks)):
        timed_start(tmux, argv, marks, poll_s)  # warm-up
        for _ in range(runs):
            seen, n, mem = timed_start(tmux, argv, marks, poll_s)
            for label, t in seen.items():
                results.setdefault(label, []).append(t)
            polls.append(max(seen.values()) / n)
            if argv is app:
                mems.append(mem)
    print(f"\n  seconds from just before `tmux new-session` to the capture that first showed it "
          f"({store.name}, {WIDTH}x{HEIGHT}):")
    print(f"  {'milestone':42} {'median':>7} {'p95':>7} {'min':>7} {'max':>7}   ratio p95/{START_TARGET_S:g} s")
    for label, walls in results.items():
        p50, p95 = c.summary(walls)
        ratio = ""
        if label.startswith("queue rows"):
            ratio = f"{p95 / START_TARGET_S:6.2f}{'  OVER' if p95 > START_TARGET_S else ''}"
        print(f"  {label:42} {p50:7.3f} {p95:7.3f} {min(walls):7.3f} {max(walls):7.3f}   {ratio}")
    rows = results["queue rows (\"CAS-DEMO-\")"]
    floor_s = c.median(results["floor: python -c print(\"CAS-DEMO-x\")"])
    print(f"  queue rows minus the floor's median: median {c.median(rows) - floor_s:.3f} s, "
          f"p95 {c.percentile(rows, 95) - floor_s:.3f} s")
    print(f"  polls: one every {c.median(polls) * 1000:.1f} ms on average (a capture-pane call each)")
    rss = [m.get("VmRSS", 0) / 1024 for m in mems]
    print(f"  caseterm VmRSS once the case pane was shown: median {c.median(rss):.0f} MB "
          f"(VmHWM median {c.median([m.get('VmHWM', 0) / 1024 for m in mems]):.0f} MB)")


# --- 2. keys ------------------------------------------------------------------------------------


@dataclass
class Press:
    kind: str
    sent: float  # the send-keys call itself (s)
    first: float | None = None  # the first capture that differed
    queue: float | None = None  # queue rows there and the cursor visible
    case: float | None = None  # the case pane shows the highlighted row
    settled: float | None = None  # the last change before the quiet window
    screen: Screen | None = None
    polls: int = 0


class Session:
    """A running caseterm in tmux, driven one key at a time."""

    def __init__(self, tmux: Tmux, name: str, poll_s: float, quiet_s: float) -> None:
        self.tmux = tmux
        self.name = name
        self.poll_s = poll_s
        self.quiet_s = quiet_s
        self.last = tmux.capture(name, colours=True)
        self.polls = 0
        self.intervals: list[float] = []  # between captures while waiting for a key's change

    def grab(self) -> str:
        self.polls += 1
        return self.tmux.capture(self.name, colours=True)

    def pause(self, tick: float, slow: bool = False) -> None:
        """Sleep until the next poll; ``slow``: only waiting for quiet (poll every 20 ms,
        so the harness leaves the CPUs to the app)."""
        interval = max(self.poll_s, 0.02) if slow else self.poll_s
        time.sleep(max(0.0, interval - (time.perf_counter() - tick)))

    def settle(self, timeout: float = 60, need: str | None = None) -> Screen:
        """Wait until the screen has not changed for the quiet window (and shows ``need``)."""
        started = time.perf_counter()
        changed = started
        while True:
            tick = time.perf_counter()
            raw = self.grab()
            if raw != self.last:
                self.last, changed = raw, time.perf_counter()
            if tick - changed >= self.quiet_s and (need is None or need in raw):
                return Screen.parse(self.last)
            if tick - started > timeout:
                sys.exit(f"the screen did not settle{f' on {need!r}' if need else ''} within {timeout:.0f} s:\n"
                         + "\n".join(Screen.parse(self.last).lines))
            self.pause(tick, slow=True)

    def press(self, key: str, kind: str | None = None, timeout: float = 30) -> Press:
        before = self.last
        started = time.perf_counter()
        self.tmux.keys(self.name, key)
        p = Press(kind or key, sent=time.perf_counter() - started)
        changed = None
        previous = None
        while True:
            tick = time.perf_counter()
            if previous is not None:
                self.intervals.append(tick - previous)
            previous = tick
            raw = self.grab()
            now = time.perf_counter() - started
            p.polls += 1
            if raw != self.last:
                self.last, changed = raw, now
                p.first = p.first if p.first is not None else now
                screen = Screen.parse(raw)
                if p.queue is None and screen.queue_ready:
                    p.queue = now
                if p.case is None and screen.case_ready:
                    p.case = now
            if changed is not None and now - changed >= self.quiet_s:
                break
            if changed is None and now > max(self.quiet_s, 2.0):
                break  # the key changed nothing
            if now > timeout:
                break
            slow = p.case is not None or now > 1.0
            self.pause(tick, slow=slow)
            previous = None if slow else previous
        p.settled = changed
        p.screen = Screen.parse(self.last)
        if before == self.last:
            p.first = None
        return p

    def until_ready(self, started: float, timeout: float = 120) -> dict[str, float | None]:
        """After a flood of keys sent at ``started``: seconds until the queue was filled
        (no "…" row, the highlighted row on screen) and the case pane matched it, for good
        (from the change after which it stayed so); the last change; the longest stretch
        without any screen change while "…" rows were showing."""
        before = self.last
        out: dict[str, float | None] = {"queue": None, "case": None, "last": None, "frozen": 0.0}
        screen = Screen.parse(before)
        changed_at = started
        while True:
            tick = time.perf_counter()
            raw = self.grab()
            now = time.perf_counter()
            if raw != self.last:
                if screen.placeholders:
                    out["frozen"] = max(out["frozen"], now - changed_at)
                self.last, changed_at, screen = raw, now, Screen.parse(raw)
                out["last"] = now - started
                if not screen.queue_ready:
                    out["queue"] = None
                elif out["queue"] is None:
                    out["queue"] = now - started
                if not screen.case_ready:
                    out["case"] = None
                elif out["case"] is None:
                    out["case"] = now - started
            quiet = now - changed_at >= self.quiet_s
            if out["last"] is not None and quiet and out["case"] is not None:
                break
            if out["last"] is not None and now - changed_at >= 10:  # stuck: say so rather than wait forever
                out["frozen"] = max(out["frozen"], now - changed_at) if screen.placeholders else out["frozen"]
                break
            if now - started > timeout:
                break
            time.sleep(max(0.0, 0.005 - (time.perf_counter() - tick)))
        return out

    def burst(self, key: str, count: int, rate: float) -> dict[str, float]:
        """``count`` keys at ``rate``/s (a held key), polling in between: the longest gap
        between screen updates from the first key to the last update, and the lag of the
        last update behind the last key."""
        started = time.perf_counter()
        sent = 0
        changes: list[float] = []
        last_sent = started
        while True:
            tick = time.perf_counter()
            if sent < count and tick - started >= sent / rate:
                self.tmux.keys(self.name, key)
                sent += 1
                last_sent = time.perf_counter()
                continue
            raw = self.grab()
            now = time.perf_counter()
            if raw != self.last:
                self.last = raw
                changes.append(now)
            if sent == count and now - max(changes[-1] if changes else last_sent, last_sent) >= self.quiet_s:
                break
            if now - started > 120:
                break
            self.pause(tick)
        points = [started, *changes]
        gaps = [b - a for a, b in zip(points, points[1:])]
        return {"updates": len(changes), "max_gap": max(gaps) if gaps else float("nan"),
                "lag": (changes[-1] - last_sent) if changes else float("nan"),
                "keys_s": last_sent - started}


def memory(pid: int) -> dict[str, int]:
    """kB figures (and Threads, fds) from /proc/PID/status."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem", "Threads"):
                out[key] = int(value.split()[0])
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        pass
    return out


class Truth:
    """The view's rows as the store has them (to check what the screen shows)."""

    def __init__(self, store: Path) -> None:
        from caseterm.store.queries import CaseView

        self.conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
        self.view = CaseView()  # "All active"

    def at(self, index: int) -> str | None:
        from caseterm.store import queries

        rows = queries.page_cases_at(self.conn, self.view, index, 1).rows
        return rows[0].number if rows else None

    def timed_at(self, index: int) -> float:
        """Seconds for the page of 100 at ``index`` by OFFSET (what the list reads after a jump)."""
        from caseterm.store import queries

        started = time.perf_counter()
        queries.page_cases_at(self.conn, self.view, index, 100)
        return time.perf_counter() - started

    def last(self) -> str | None:
        from caseterm.store import queries

        rows = queries.page_cases(self.conn, self.view, last=True, limit=1).rows
        return rows[-1].number if rows else None


def ms(x: float | None) -> str:
    return "     —" if x is None else f"{x * 1000:6.1f}"


def part_keys(tmux: Tmux, store: Path, args) -> None:
    poll_s, quiet_s = args.key_poll_ms / 1000, args.quiet_ms / 1000
    app = [c.CASETERM, "--db", store, "--as", AGENT]
    print(f"\n-- 2./3. keys and memory on {store.name}: load {load()}")
    print(f"  running: tmux new-session -d -x {WIDTH} -y {HEIGHT} {shlex.quote(tmux.wrap(app))}", flush=True)
    mems: list[tuple[str, dict[str, int]]] = []
    notes: list[str] = []
    started = time.perf_counter()
    name = tmux.new_session(tmux.wrap(app))
    try:
        pid = tmux.pane_pid(name)
        s = Session(tmux, name, poll_s, quiet_s)
        first_rows = None
        while CASE_TEXT not in s.last:
            tick = time.perf_counter()
            raw = s.grab()
            if first_rows is None and ROW_TEXT in raw:
                first_rows = time.perf_counter() - started
            s.last = raw
            if tick - started > 120:
                sys.exit(f"the workstation never showed {CASE_TEXT!r}:\n{raw}")
            s.pause(tick)
        shown = time.perf_counter() - started
        screen = s.settle()
        print(f"  one start on this store: queue rows after {first_rows:.3f} s, case pane after {shown:.3f} s "
              f"(a single run, for scale); queue title {screen.title!r}")
        mems.append(("after the start (first view shown, settled)", memory(pid)))
        cpu0, harness0, server0 = process_cpu(pid), children_cpu(), process_cpu(tmux.server_pid)
        t_keys = time.perf_counter()

        # the big view: v, Down until the queue title is "All active", Enter
        presses: list[Press] = [s.press("v", "v (views)")]
        for _ in range(20):
            if s.last and Screen.parse(s.last).title.startswith(BIG_VIEW):
                break
            presses.append(s.press("Down", "Down (views)"))
        screen = Screen.parse(s.last)
        if not screen.title.startswith(BIG_VIEW):
            sys.exit(f"could not reach the {BIG_VIEW!r} view; the screen:\n" + "\n".join(screen.lines))
        presses.append(s.press("Enter", "Enter (views)"))
        screen = s.settle()
        m = re.search(r"([\d,]+) cases", screen.title)
        total = int(m.group(1).replace(",", "")) if m else None
        print(f"  view: {screen.title!r}; highlighted {screen.cursor}, case pane {screen.case}")

        screens = {"after the view switch": screen}
        truth = Truth(store)
        checks: list[tuple[str, str | None, str | None]] = []  # (where, expected, seen)

        def check(where: str, expected: str | None) -> None:
            seen = Screen.parse(s.last)
            checks.append((where, expected, seen.cursor))
            if expected is not None and seen.cursor != expected:
                notes.append(f"after {where}: highlighted {seen.cursor}, case pane {seen.case}; "
                             f"the store says row should be {expected}")

        # where the cursor should be: a page is the rows on screen less one (CaseList.action_page_down)
        page = max(1, len(screen.rows) - 1)
        rows_total = total or 1
        index = 0

        def moved(index: int, key: str, count: int = 1) -> int:
            for _ in range(count):
                index = {"j": min(rows_total - 1, index + 1), "k": max(0, index - 1),
                         "NPage": min(rows_total - 1, index + page), "PPage": max(0, index - page),
                         "G": rows_total - 1, "g": 0}[key]
            return index

        check("the view switch (row 0)", truth.at(0))
        for key, count in [("j", 50), ("k", 20), ("NPage", 20), ("PPage", 20)]:
            presses += [s.press(key) for _ in range(count)]
            index = moved(index, key, count)
            check(f"{count} × {key} (row {index:,})", truth.at(index))
        last = truth.last()
        for i in range(5):
            presses.append(s.press("G"))
            index = moved(index, "G")
            check(f"G #{i + 1} (last row)", last)
            screens.setdefault("after G", Screen.parse(s.last))
            presses.append(s.press("g"))
            index = moved(index, "g")
            check(f"g #{i + 1} (row 0)", truth.at(0))
        bursts = [("j", 60), ("NPage", 60)]
        burst_results = []
        for key, count in bursts:
            s.settle()
            burst_results.append((key, count, s.burst(key, count, args.burst_rate)))
            s.settle()
            index = moved(index, key, count)
            check(f"held {key} × {count} (row {index:,})", truth.at(index))
        key_wall = time.perf_counter() - t_keys
        cpu1, harness1, server1 = process_cpu(pid), children_cpu(), process_cpu(tmux.server_pid)
        mems.append(("after the key runs above", memory(pid)))

        # the sweep: many PageDowns as fast as tmux takes them
        s.settle()
        sweep_started = time.perf_counter()
        batch = 25
        for i in range(0, args.sweep, batch):
            tmux.keys(name, *["NPage"] * min(batch, args.sweep - i))
        sweep_sent = time.perf_counter() - sweep_started
        sweep = s.until_ready(sweep_started)
        screen = Screen.parse(s.last)
        index = moved(index, "NPage", args.sweep)
        check(f"{args.sweep:,} × NPage (row {index:,})", truth.at(index))
        offset_ms = c.median([truth.timed_at(index) for _ in range(3)]) * 1000
        mems.append((f"after {args.sweep:,} PageDowns (sent in {sweep_sent:.1f} s)", memory(pid)))
        sweep_screen = screens[f"after {args.sweep:,} PageDowns"] = screen

        # floor: capture and send-keys cost
        caps = []
        for colours in (False, True):
            walls = []
            for _ in range(50):
                t = time.perf_counter()
                tmux.capture(name, colours=colours)
                walls.append(time.perf_counter() - t)
            caps.append(walls)
    finally:
        tmux.kill(name)

    # --- report
    print(f"\n  ms from just before `tmux send-keys` to the capture showing it (one key at a time, "
          f"next key after {args.quiet_ms:g} ms without change; total {total:,} rows in the view)" if total else "")
    print("    first  = the first capture that differed; queue = no \"…\" row left and the highlighted row on screen;")
    print("    case   = the case pane shows the highlighted row")
    print(f"  {'key':15} {'n':>3}  {'first p50':>9} {'p95':>6} {'max':>6}  {'queue p50':>9} {'p95':>6} {'max':>6}"
          f"  {'case p50':>8} {'p95':>6} {'max':>6}  {'>100ms':>6}  ratio p50/{KEY_TARGET_MS:g}")
    kinds = list(dict.fromkeys(p.kind for p in presses))
    queue_all: list[float] = []
    over = 0
    for kind in kinds:
        group = [p for p in presses if p.kind == kind]
        cols = []
        for attr in ("first", "queue", "case"):
            vals = [getattr(p, attr) for p in group if getattr(p, attr) is not None]
            missing = len(group) - len(vals)
            if vals:
                p50, p95 = c.summary(vals)
                cols.append(f"{ms(p50):>9} {ms(p95)} {ms(max(vals))}" + (f" ({missing} none)" if missing else ""))
            else:
                cols.append(f"{'—':>9} {'—':>6} {'—':>6}")
        queue = [p.queue if p.queue is not None else p.first for p in group]
        queue = [q for q in queue if q is not None]
        slow = sum(1 for q in queue if q > STALL_MS / 1000)
        if "views" not in kind:
            queue_all += queue
            over += slow
        ratio = f"{c.median(queue) * 1000 / KEY_TARGET_MS:6.2f}" if queue and "views" not in kind else ""
        if ratio and c.median(queue) * 1000 > KEY_TARGET_MS:
            ratio += "  OVER"
        print(f"  {kind:15} {len(group):3}  {cols[0]}  {cols[1]}  {cols[2]}  {slow:6}  {ratio}")
    if queue_all:
        p50, p95 = c.summary(queue_all)
        print(f"  {'queue keys, all':15} {len(queue_all):3}  queue updated: median {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
              f"max {max(queue_all) * 1000:.1f} ms; {over} over {STALL_MS:g} ms; ratio median/{KEY_TARGET_MS:g} ms "
              f"{p50 * 1000 / KEY_TARGET_MS:.2f}{'  OVER' if p50 * 1000 > KEY_TARGET_MS else ''}")
    no_change = [p.kind for p in presses if p.first is None]
    if no_change:
        notes.append(f"{len(no_change)} key(s) changed nothing on screen: {', '.join(no_change)}")
    odd = [p for p in presses if p.first is not None and p.case is None and "views" not in p.kind]
    if odd:
        notes.append(f"{len(odd)} queue key(s) never showed the highlighted row's case in the case pane "
                     f"(e.g. {odd[0].kind}: highlighted {odd[0].screen.cursor}, case pane {odd[0].screen.case}, "
                     f"{odd[0].screen.placeholders} \"…\" rows)")
    sent = [p.sent for p in presses]
    print(f"\n  held keys ({args.burst_rate:g} keys/s, polling in between):")
    for key, count, r in burst_results:
        print(f"    {count} × {key:6} sent over {r['keys_s']:.2f} s: {r['updates']} screen updates, longest gap between "
              f"updates {r['max_gap'] * 1000:.0f} ms{'  (a stall)' if r['max_gap'] * 1000 > STALL_MS else ''}, "
              f"last update {r['lag'] * 1000:.0f} ms after the last key")
    def secs(x: float | None) -> str:
        return "never (10 s without a change)" if x is None else f"{x:.2f} s"

    print(f"  sweep: {args.sweep:,} × PageDown in send-keys calls of 25, sent in {sweep_sent:.2f} s; from the first "
          f"call: queue filled for good after {secs(sweep['queue'])}, case pane matching after {secs(sweep['case'])}, "
          f"last change {secs(sweep['last'])}; the longest stretch without a screen change while \"…\" rows showed: "
          f"{sweep['frozen'] * 1000:.0f} ms{'  (a stall)' if sweep['frozen'] * 1000 > STALL_MS else ''}")
    print(f"    then: {sweep_screen.title!r}, highlighted {sweep_screen.cursor}, case pane {sweep_screen.case}, "
          f"{sweep_screen.placeholders} \"…\" rows; for scale, the page of 100 at that row by OFFSET takes "
          f"{offset_ms:.0f} ms here (queries.page_cases_at, this script's connection)")
    if sweep_screen.cursor is None or sweep_screen.case != sweep_screen.cursor or sweep_screen.placeholders:
        notes.append("after the sweep the screen was not consistent:\n" + "\n".join("      " + l for l in sweep_screen.lines))

    print(f"\n  floor (the harness itself, against the 120x36 caseterm pane):")
    for label, walls in zip(("capture-pane -p", "capture-pane -p -e"), caps):
        p50, p95 = c.summary(walls)
        print(f"    {label:22} {p50 * 1000:5.2f} ms median, {p95 * 1000:5.2f} ms p95 (50 calls)")
    p50, p95 = c.summary(sent)
    print(f"    {'send-keys (one key)':22} {p50 * 1000:5.2f} ms median, {p95 * 1000:5.2f} ms p95 ({len(sent)} calls, "
          f"included in every key figure)")
    print(f"    polling after a key: asked every {args.key_poll_ms:g} ms, reached every "
          f"{c.median(s.intervals) * 1000:.2f} ms median, {c.percentile(s.intervals, 95) * 1000:.2f} ms p95 "
          f"(then every 20 ms once the case pane matched, while waiting for quiet; {s.polls:,} captures in all)")
    print(f"    CPU during the key runs ({key_wall:.1f} s wall): caseterm {cpu1 - cpu0:.1f} s, tmux clients "
          f"(this script's children) {harness1 - harness0:.1f} s, tmux server {server1 - server0:.1f} s")

    print(f"\n  memory of the caseterm process (pid {pid}), MB  (target VmRSS ≤ {RSS_TARGET_MB:g} MB)")
    print(f"  {'when':52} {'VmRSS':>6} {'VmHWM':>6} {'anon':>6} {'file':>6} {'threads':>7} {'fds':>4}   ratio RSS/{RSS_TARGET_MB:g}")
    for when, m in mems:
        rss = m.get("VmRSS", 0) / 1024
        print(f"  {when:52} {rss:6.0f} {m.get('VmHWM', 0) / 1024:6.0f} {m.get('RssAnon', 0) / 1024:6.0f} "
              f"{m.get('RssFile', 0) / 1024:6.0f} {m.get('Threads', 0):7} {m.get('fds', 0):4}   "
              f"{rss / RSS_TARGET_MB:5.2f}{'  OVER' if rss > RSS_TARGET_MB else ''}")

    print(f"\n  checks of the highlighted row against the store (CaseView() = All active; a page = {page} rows):")
    for where, expected, seen in checks:
        verdict = "" if expected is None else ("ok" if seen == expected else f"WRONG (want {expected})")
        print(f"    after {where:34} highlighted {seen}  {verdict}")
    if args.screens:
        for when, shown in screens.items():
            print(f"\n  the screen {when}:")
            print("\n".join("    " + line for line in shown.lines))
    if notes:
        print("\n  looks wrong:")
        for n in notes:
            print(f"    - {n}")


def main() -> None:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--start-cases", type=int, default=100_000, metavar="N",
                   help="cases in the store for the cold-start part (default 100,000)")
    p.add_argument("--runs", type=int, default=10, help="timed cold starts per program (default 10)")
    p.add_argument("--start-poll-ms", type=float, default=5, help="capture interval for the starts (default 5)")
    p.add_argument("--key-poll-ms", type=float, default=2, help="capture interval after a key (default 2)")
    p.add_argument("--quiet-ms", type=float, default=300,
                   help="the screen must stay unchanged this long before the next key (default 300)")
    p.add_argument("--burst-rate", type=float, default=30, help="keys per second for the held-key runs (default 30)")
    p.add_argument("--sweep", type=int, default=2000, help="PageDowns for the memory sweep (default 2,000)")
    p.add_argument("--screens", action="store_true", help="print the screen after the view switch, a G and the sweep")
    p.add_argument("--skip-start", action="store_true", help="only the keys and memory part")
    p.add_argument("--skip-keys", action="store_true", help="only the cold-start part")
    args = p.parse_args()
    c.header(f"bench_tui: cold start on {args.start_cases:,} cases; keys and memory on {args.cases:,} cases")
    version = subprocess.run(["tmux", "-V"], capture_output=True, text=True).stdout.strip()
    print(f"{version}, private server, {WIDTH}x{HEIGHT} sessions, TERM inside tmux from its default-terminal")
    start_store = None if args.skip_start else c.seeded_store(args.start_cases, rebuild=args.rebuild)
    again = args.rebuild and (start_store is None or args.cases != args.start_cases)  # not twice
    keys_store = None if args.skip_keys else c.seeded_store(args.cases, rebuild=again)
    with tempfile.TemporaryDirectory(prefix="caseterm-bench-tui-") as home:
        tmux = Tmux(Path(home))
        try:
            if start_store is not None:
                part_start(tmux, start_store, args.runs, args.start_poll_ms / 1000)
            if keys_store is not None:
                part_keys(tmux, keys_store, args)
        finally:
            tmux.close()
    print()
    c.footer()


if __name__ == "__main__":
    main()
