"""Helpers for bench/run.sh (stdlib only): bodies, smoke checks, CPU and memory, the report.

Subcommands (`python bench/report.py COMMAND --help` for the arguments):

- `body QUERY.graphql VARIABLES.json`: a GraphQL request body for wrk, on stdout.
- `smoke URL BODY.json rest|graphql [--header 'Name: value'] [--wait S]`: exit 1 unless the
  target answers 200 with a `payment_collection` (rest) or `data` and no `errors` (graphql).
- `snapshot PID CORE`: CPU seconds of the process tree and of the core, and the clock (JSON).
- `rss PHASE LABEL=PID ...`: VmRSS/VmHWM of each process tree, JSON lines.
- `record LABEL ROUND CONC SNAP0 SNAP1 WRK_OUTPUT [--attempt N] [--noise-max F]`: wrk's RESULT
  line + CPU ms/req, JSON; exit 3 when neighbours took more than F of the target's core.
- `table RESULTS.jsonl [--rss RSS.jsonl]`: the markdown report (medians across rounds; of
  repeated attempts, the one with the least load from other processes).
- `profile PYSPY_RAW`: where the samples of a py-spy `--format raw` profile go.
- `versions`: Python and package versions on the gateway's hot path, one line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ERROR_KINDS = ("connect", "read", "write", "status", "timeout")
TIMES = "\N{MULTIPLICATION SIGN}"
DASH = "\N{EN DASH}"
PACKAGES = (
    "medusa-graphql-gateway",
    "strawberry-graphql",
    "graphql-core",
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "httpx",
    "httpcore",
    "orjson",
    "pydantic",
)


# ---------------------------------------------------------------------------- request bodies


def body(query_file: Path, variables_file: Path) -> str:
    """`{"query", "variables", "operationName"}` for a `.graphql` document and its variables."""
    query = query_file.read_text()
    code = "\n".join(line for line in query.splitlines() if not line.lstrip().startswith("#"))
    match = re.search(r"\b(?:query|mutation)\s+(\w+)", code)
    document: dict[str, object] = {
        "query": query,
        "variables": json.loads(variables_file.read_text()),
    }
    if match:
        document["operationName"] = match.group(1)
    return json.dumps(document)


# ---------------------------------------------------------------------------- smoke check


def check_answer(status: int, raw: bytes, kind: str, expect: Sequence[str] = ()) -> str | None:
    """Why this answer is not a correct one (None: it is).

    `expect`: values the answer must carry (the collection's id, the session's client secret),
    so a target that answers 200 with the wrong data is not measured either.
    """
    if status != 200:
        return f"HTTP {status}: {raw[:300]!r}"
    try:
        answer = json.loads(raw)
    except ValueError:
        return f"not JSON: {raw[:300]!r}"
    if not isinstance(answer, dict):
        return f"not a JSON object: {raw[:300]!r}"
    if kind == "rest":
        if not answer.get("payment_collection"):
            return f"no payment_collection: {raw[:300]!r}"
    else:
        data = answer.get("data")
        if answer.get("errors") or not isinstance(data, dict) or not any(data.values()):
            return f"GraphQL errors or empty data: {raw[:600]!r}"
    missing = [value for value in expect if value.encode() not in raw]
    return f"missing {missing}: {raw[:600]!r}" if missing else None


def post(url: str, payload: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST once; HTTP errors are answers too."""
    request = urllib.request.Request(url, data=payload, headers=headers, method="POST")  # noqa: S310  # run.sh's loopback URL
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def smoke(
    url: str,
    body_file: Path,
    kind: str,
    header_lines: Sequence[str],
    wait: float,
    *,
    expect: Sequence[str] = (),
) -> int:
    """Retry until the target answers correctly or `wait` seconds pass; 0 when it did."""
    headers = {"content-type": "application/json"}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    payload = body_file.read_bytes()
    deadline = time.monotonic() + wait
    while True:
        try:
            status, raw = post(url, payload, headers)
            problem = check_answer(status, raw, kind, expect)
        except OSError as error:  # refused while the server starts
            problem, raw = f"{type(error).__name__}: {error}", b""
        if problem is None:
            print(f"ok {url} ({len(raw):,} bytes)")
            return 0
        if time.monotonic() >= deadline:
            print(f"smoke {url}: {problem}", file=sys.stderr)
            return 1
        time.sleep(0.25)


# ---------------------------------------------------------------------------- /proc


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (which may contain spaces)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants that are alive now."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int(_stat_fields(int(entry.name))[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(root: int) -> float:
    """User + system CPU time of the process tree (fields 14 and 15 of /proc/<pid>/stat)."""
    ticks = 0
    for pid in process_tree(root):
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS


def core_busy_seconds(core: int) -> float:
    """Time core `core` was not idle since boot (user..steal in /proc/stat; steal included).

    A negative `core` (a target spread over several cores) counts as never busy: no noise figure.
    """
    if core < 0:
        return 0.0
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name == f"cpu{core}":
            user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, values[:8])
            return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS
    raise SystemExit(f"no cpu{core} in /proc/stat")


def snapshot(root: int, core: int) -> str:
    """The target's CPU time, its core's busy time and the clock, as one JSON object."""
    return json.dumps(
        {"sut": cpu_seconds(root), "core": core_busy_seconds(core), "t": time.monotonic()}
    )


def memory(phase: str, label: str, root: int) -> dict[str, object]:
    """VmRSS (now) and VmHWM (peak) summed over the process tree, MiB."""
    totals = {"VmRSS": 0, "VmHWM": 0}
    largest = 0
    tree = process_tree(root)
    for pid in tree:
        try:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            key, _, value = line.partition(":")
            if key in totals:
                totals[key] += int(value.split()[0])
            if key == "VmRSS":
                largest = max(largest, int(value.split()[0]))
    return {
        "phase": phase,
        "label": label,
        "pid": root,
        "processes": len(tree),
        "rss_mib": round(totals["VmRSS"] / 1024, 1),
        "hwm_mib": round(totals["VmHWM"] / 1024, 1),
        "largest_mib": round(largest / 1024, 1),
    }


# ---------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Measurement:
    """One wrk run against one target at one concurrency in one round."""

    label: str
    round: int
    concurrency: int
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]
    cpu_ms_per_request: float | None
    others_on_core: float | None
    attempt: int

    @classmethod
    def from_json(cls, row: dict[str, object]) -> Measurement:
        """A row of results.jsonl."""
        cpu, others = row.get("cpu_ms_per_request"), row.get("others_on_core")
        return cls(
            label=str(row["label"]),
            round=_int(row["round"]),
            concurrency=_int(row["concurrency"]),
            requests=_int(row["requests"]),
            rps=_float(row["rps"]),
            p50_ms=_float(row["p50_ms"]),
            p99_ms=_float(row["p99_ms"]),
            errors={kind: _int(row[f"err_{kind}"]) for kind in ERROR_KINDS},
            cpu_ms_per_request=None if cpu is None else _float(cpu),
            others_on_core=None if others is None else _float(others),
            attempt=_int(row.get("attempt", 1)),
        )


def _int(value: object) -> int:
    if not isinstance(value, int | float | str):
        raise TypeError(value)
    return int(value)


def _float(value: object) -> float:
    if not isinstance(value, int | float | str):
        raise TypeError(value)
    return float(value)


def record(
    label: str,
    *,
    round_: int,
    concurrency: int,
    before: str,
    after: str,
    wrk_output: Path,
    attempt: int = 1,
) -> tuple[str, float | None]:
    """Turn wrk's `RESULT {json}` line + round, concurrency, CPU ms/request and the core's noise.

    `before`/`after` are `snapshot` outputs taken around the measured wrk run (empty: unknown).
    `others_on_core` is the share of the window the target's core spent on anything else
    (neighbours, interrupts, hypervisor steal): the noise indicator for that measurement.
    Returns the row and that share.
    """
    lines = [
        line.removeprefix("RESULT ")
        for line in wrk_output.read_text().splitlines()
        if line.startswith("RESULT ")
    ]
    if not lines:
        raise SystemExit(f"no RESULT line in {wrk_output}")
    row: dict[str, object] = json.loads(lines[0])
    requests = _int(row["requests"])
    row.update(label=label, round=round_, concurrency=concurrency, attempt=attempt)
    cpu_ms = others = None
    if before and after:
        start, end = json.loads(before), json.loads(after)
        sut = end["sut"] - start["sut"]
        if requests:
            cpu_ms = sut * 1000 / requests
        wall = end["t"] - start["t"]
        if wall > 0 and end["core"] > 0:
            others = max(0.0, (end["core"] - start["core"] - sut) / wall)
    row["cpu_ms_per_request"] = cpu_ms
    row["others_on_core"] = others
    errors = sum(_int(row[f"err_{kind}"]) for kind in ERROR_KINDS)
    print(
        f"  r{round_} c={concurrency:<3} {label:<22} {_float(row['rps']):>9,.0f} req/s"
        f"  p50 {_float(row['p50_ms']):7.2f} ms  p99 {_float(row['p99_ms']):7.2f} ms"
        f"  cpu {_fmt(cpu_ms, '.3f')} ms/req  others on core {_fmt(others, '.0%')}"
        f"  errors {errors}" + (f"  (attempt {attempt})" if attempt > 1 else ""),
        file=sys.stderr,
    )
    return json.dumps(row), others


def least_noisy(
    attempts: Sequence[Measurement],
) -> tuple[list[Measurement], list[Measurement]]:
    """Per target, concurrency and round, the attempt with the least load from others.

    Returns (kept, discarded), in the order the measurements were taken.
    """
    best: dict[tuple[str, int, int], Measurement] = {}
    for row in attempts:
        key = (row.label, row.concurrency, row.round)
        kept = best.get(key)
        noise = 0.0 if row.others_on_core is None else row.others_on_core
        if kept is None or noise < (kept.others_on_core or 0.0):
            best[key] = row
    chosen = {id(row) for row in best.values()}
    return (
        [row for row in attempts if id(row) in chosen],
        [row for row in attempts if id(row) not in chosen],
    )


def _paired(
    rows: Iterable[Measurement], label: str, other: str, concurrency: int, value: str
) -> list[tuple[float, float]]:
    """(label, other) values of `value` from each round that measured both.

    Comparing within one round, then taking the median over rounds, is robust to a machine
    whose speed drifts between rounds.
    """
    by_round: dict[int, dict[str, float]] = {}
    for row in rows:
        if row.concurrency == concurrency and row.label in (label, other):
            by_round.setdefault(row.round, {})[row.label] = getattr(row, value)
    return [
        (pair[label], pair[other]) for pair in by_round.values() if label in pair and other in pair
    ]


def _median_ratio(
    rows: Iterable[Measurement], label: str, other: str, concurrency: int, value: str
) -> float | None:
    """Median over rounds of label/other, each taken within one round (robust to drift)."""
    ratios = [
        ours / theirs for ours, theirs in _paired(rows, label, other, concurrency, value) if theirs
    ]
    return statistics.median(ratios) if ratios else None


def _median_difference(
    rows: Iterable[Measurement], label: str, other: str, concurrency: int, value: str
) -> float | None:
    """Median over rounds of label - other, each taken within one round (added latency)."""
    differences = [
        ours - theirs for ours, theirs in _paired(rows, label, other, concurrency, value)
    ]
    return statistics.median(differences) if differences else None


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(results_file: Path, rss_file: Path | None, reference: str, peer: str) -> str:
    """The markdown report: one row per target and concurrency, medians across rounds."""
    attempts = [
        Measurement.from_json(json.loads(line))
        for line in results_file.read_text().splitlines()
        if line.strip()
    ]
    rows, discarded = least_noisy(attempts)
    labels = list(dict.fromkeys(row.label for row in rows))
    concurrencies = list(dict.fromkeys(row.concurrency for row in rows))
    rounds = len({row.round for row in rows})
    has_peer = peer in labels
    out = [
        f"{rounds} round(s). Absolute numbers: median across rounds (req/s range in brackets "
        f"when >1 round). Ratios: median of per-round ratios against `{reference}`"
        + (f" and `{peer}`" if has_peer else "")
        + ". CPU ms/req: user+system CPU of the target's process tree during the measured "
        "window / requests served. Others on SUT core: share of that window the target's core "
        "ran anything else (neighbours, interrupts, steal); the worst round is shown.",
        "",
    ]
    header = ["target", "conc", "req/s", "p50 ms", "p99 ms", f"req/s {TIMES} stub"]
    header += ["p50 ms over stub"]
    if has_peer:
        header += [f"req/s {TIMES} mesh", f"CPU {TIMES} mesh"]
    header += ["CPU ms/req", "others on SUT core", "errors"]
    out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for concurrency in concurrencies:
        for label in labels:
            mine = [r for r in rows if r.label == label and r.concurrency == concurrency]
            if not mine:
                continue
            rps = f"{statistics.median(r.rps for r in mine):,.0f}"
            if len(mine) > 1:
                rps += f" ({min(r.rps for r in mine):,.0f}{DASH}{max(r.rps for r in mine):,.0f})"
            cpus = [r.cpu_ms_per_request for r in mine if r.cpu_ms_per_request is not None]
            errors = Counter[str]()
            for r in mine:
                errors.update(r.errors)
            error_cell = str(sum(errors.values()))
            if errors.total():
                error_cell += " (" + ", ".join(f"{k} {n}" for k, n in errors.items() if n) + ")"
            cells = [
                label,
                str(concurrency),
                rps,
                f"{statistics.median(r.p50_ms for r in mine):.2f}",
                f"{statistics.median(r.p99_ms for r in mine):.2f}",
                _fmt(_median_ratio(rows, label, reference, concurrency, "rps"), ".3f"),
                _fmt(_median_difference(rows, label, reference, concurrency, "p50_ms"), "+.2f"),
            ]
            if has_peer:
                cells += [
                    _fmt(_median_ratio(rows, label, peer, concurrency, "rps"), ".2f"),
                    _fmt(
                        _median_ratio(rows, label, peer, concurrency, "cpu_ms_per_request"), ".2f"
                    ),
                ]
            noise = [r.others_on_core for r in mine if r.others_on_core is not None]
            cells += [
                _fmt(statistics.median(cpus) if cpus else None, ".3f"),
                _fmt(max(noise) if noise else None, ".0%"),
                error_cell,
            ]
            out.append("| " + " | ".join(cells) + " |")
    if discarded:
        out += [
            "",
            f"{len(discarded)} attempt(s) discarded because other processes used more of the "
            "target's core than in the attempt kept: "
            + ", ".join(
                f"{r.label} c={r.concurrency} r{r.round} a{r.attempt} "
                f"({_fmt(r.others_on_core, '.0%')}, {r.rps:,.0f} req/s, "
                f"{_fmt(r.cpu_ms_per_request, '.3f')} CPU ms/req)"
                for r in discarded
            )
            + ".",
        ]
    out += ["", *_targets(rows, rss_file, reference, peer)]
    if rss_file is not None and rss_file.exists():
        out += ["", *_memory_table(rss_file)]
    return "\n".join(out)


OURS = "gateway-full"
OURS_2W = "gateway-2w-full"


def _targets(
    rows: Sequence[Measurement], rss_file: Path | None, reference: str, peer: str
) -> list[str]:
    """Issue #7's targets, read off this run (same query as the peer: gateway-full)."""
    concurrencies = sorted({row.concurrency for row in rows})
    low, high = concurrencies[0], concurrencies[-1]

    def verdict(ok: bool | None) -> str:
        return "-" if ok is None else ("met" if ok else "NOT met")

    throughput = _median_ratio(rows, OURS, peer, high, "rps")
    added = _median_difference(rows, OURS, reference, low, "p50_ms")
    cpu = {
        c: statistics.median(
            r.cpu_ms_per_request
            for r in rows
            if r.label == OURS and r.concurrency == c and r.cpu_ms_per_request is not None
        )
        for c in (low, high)
        if any(r.label == OURS and r.concurrency == c for r in rows)
    }
    scaling = _median_ratio(rows, OURS_2W, OURS, high, "rps")
    largest = None
    if rss_file is not None and rss_file.exists():
        sizes = [
            float(row.get("largest_mib", row["rss_mib"]))
            for row in map(json.loads, rss_file.read_text().splitlines())
            if row["phase"] == "after" and str(row["label"]).startswith("gateway")
        ]
        largest = max(sizes) if sizes else None
    worst_cpu = max(cpu.values()) if cpu else None
    return [
        "| target (issue #7) | this run | verdict |",
        "|---|---|---|",
        f"| req/s at c={high} {TIMES} Mesh/Hive >= 1.5 | {_fmt(throughput, '.2f')} "
        f"| {verdict(None if throughput is None else throughput >= 1.5)} |",
        f"| p50 at c={low} over the direct REST call <= 1 ms | {_fmt(added, '+.2f')} ms "
        f"| {verdict(None if added is None else added <= 1.0)} |",
        "| CPU per request <= 0.8 ms | "
        + " / ".join(f"{v:.3f} (c={c})" for c, v in cpu.items())
        + f" | {verdict(None if worst_cpu is None else worst_cpu <= 0.8)} |",
        f"| RSS per worker after the run <= 100 MiB | {_fmt(largest, '.1f')} MiB "
        f"| {verdict(None if largest is None else largest <= 100)} |",
        f"| req/s at c={high}, 2 workers {TIMES} 1 worker | {_fmt(scaling, '.2f')} "
        "| (reported; 2 cores shared with wrk and the stub) |",
    ]


def _memory_table(rss_file: Path) -> list[str]:
    by_label: dict[str, dict[str, dict[str, object]]] = {}
    for line in rss_file.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            by_label.setdefault(str(row["label"]), {})[str(row["phase"])] = row
    out = [
        "Memory of each server's process tree (VmRSS before the load and after it; VmHWM = peak; "
        "largest process: one worker of a multi-process server)",
        "",
        "| process | pid | processes | RSS idle MiB | RSS after MiB | peak RSS MiB "
        "| largest process after MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, phases in by_label.items():
        idle, after = phases.get("idle", {}), phases.get("after", {})
        last = after or idle
        out.append(
            f"| {label} | {last.get('pid', '-')} | {last.get('processes', '-')} "
            f"| {idle.get('rss_mib', '-')} | {after.get('rss_mib', '-')} "
            f"| {last.get('hwm_mib', '-')} | {after.get('largest_mib', '-')} |"
        )
    return out


# ---------------------------------------------------------------------------- profile


def _frame_name(frame: str) -> tuple[str, str]:
    """(`function (file)` without the line number, top-level package of the file)."""
    match = re.fullmatch(r"(.*) \((.*?)(?::\d+)?\)", frame)
    if not match:
        return frame, "?"
    function, file = match.groups()
    package = file.split("/", 1)[0] if "/" in file else file.removesuffix(".py")
    return f"{function} ({file})", package


OWN_PACKAGES = frozenset({"gateway", "schema"})


def profile(raw_file: Path, top: int = 15) -> str:
    """Self samples per package, the busiest functions, and the project's own call tree.

    The inclusive table lists the project's functions (gateway/, schema/) and each library
    function they call directly: the phases of a request as the project sees them.
    """
    by_package: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw_file.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [_frame_name(frame) for frame in stack.split(";")]
        leaf, package = frames[-1]
        self_time[leaf] += samples
        by_package[package] += samples
        own: set[str] = set()
        caller = ""
        for name, frame_package in frames:
            if frame_package in OWN_PACKAGES or caller in OWN_PACKAGES:
                own.add(name)
            caller = frame_package
        for name in own:
            inclusive[name] += samples
    if not total:
        return "(no samples)"

    def share(samples: int) -> str:
        return f"{100 * samples / total:.1f} %"

    out = [
        f"{total:,} busy samples (idle time excluded).",
        "",
        "| package (self time) | share |",
        "|---|---|",
        *(f"| {package} | {share(n)} |" for package, n in by_package.most_common(top)),
        "",
        "| function (self time) | share |",
        "|---|---|",
        *(f"| `{name}` | {share(n)} |" for name, n in self_time.most_common(top)),
        "",
        "| project function, or library function it calls (inclusive) | share |",
        "|---|---|",
    ]
    # The CLI's frames hold the event loop: every sample, by construction.
    calls = [(name, n) for name, n in inclusive.most_common() if n < 0.99 * total]
    out += [f"| `{name}` | {share(n)} |" for name, n in calls[: 2 * top]]
    return "\n".join(out)


# ---------------------------------------------------------------------------- versions


def versions() -> str:
    """`Python 3.x; name version, ...` for the packages on the gateway's hot path."""
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return f"Python {sys.version.split()[0]}; " + ", ".join(found)


# ---------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("body")
    p.add_argument("query", type=Path)
    p.add_argument("variables", type=Path)
    p = commands.add_parser("smoke")
    p.add_argument("url")
    p.add_argument("body", type=Path)
    p.add_argument("kind", choices=["rest", "graphql"])
    p.add_argument("--header", action="append", default=[])
    p.add_argument("--wait", type=float, default=0.0)
    p.add_argument("--expect", action="append", default=[])
    p = commands.add_parser("snapshot")
    p.add_argument("pid", type=int)
    p.add_argument("core", type=int)
    p = commands.add_parser("rss")
    p.add_argument("phase")
    p.add_argument("targets", nargs="+", metavar="LABEL=PID")
    p = commands.add_parser("record")
    p.add_argument("label")
    p.add_argument("round", type=int)
    p.add_argument("concurrency", type=int)
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("wrk_output", type=Path)
    p.add_argument("--attempt", type=int, default=1)
    p.add_argument("--noise-max", type=float, default=1.0)
    p = commands.add_parser("table")
    p.add_argument("results", type=Path)
    p.add_argument("--rss", type=Path)
    p.add_argument("--reference", default="rest-direct")
    p.add_argument("--peer", default="mesh-hive-gateway")
    p = commands.add_parser("profile")
    p.add_argument("raw", type=Path)
    commands.add_parser("versions")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch one subcommand; returns the exit code."""
    args = _parser().parse_args(argv)

    if args.command == "body":
        print(body(args.query, args.variables))
    elif args.command == "smoke":
        return smoke(args.url, args.body, args.kind, args.header, args.wait, expect=args.expect)
    elif args.command == "snapshot":
        print(snapshot(args.pid, args.core))
    elif args.command == "rss":
        for target in args.targets:
            label, _, pid = target.partition("=")
            print(json.dumps(memory(args.phase, label, int(pid))))
    elif args.command == "record":
        row, others = record(
            args.label,
            round_=args.round,
            concurrency=args.concurrency,
            before=args.before,
            after=args.after,
            wrk_output=args.wrk_output,
            attempt=args.attempt,
        )
        print(row)
        if others is not None and others > args.noise_max:
            return 3
    elif args.command == "table":
        print(table(args.results, args.rss, args.reference, args.peer))
    elif args.command == "profile":
        print(profile(args.raw))
    else:
        print(versions())
    return 0


if __name__ == "__main__":
    sys.exit(main())
