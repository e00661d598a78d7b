"""The cost curve of bench/run.sh: a backend answering after 50 ms, rising concurrency (stdlib).

Subcommands (called by run.sh):

- `sample ROOT_PID SECONDS`: the peak VmRSS (KiB) of a process tree over SECONDS, sampled
  every 0.2 s while the load runs (printed as one integer);
- `record LABEL MODE LOAD SNAP0 SNAP1 RAW IDLE_KIB PEAK_KIB`: one JSON line from a wrk
  (`closed`, LOAD = connections) or bench/load.py (`open`, LOAD = arrivals/s) result, the
  CPU snapshots around it (report.py snapshot) and the RSS before the curve and during it;
- `table CURVE.jsonl --ours LABEL --peer LABEL`: the markdown tables and the verdicts of issue
  16's targets for the curve.

Goodput counts 2xx answers only (a 503 is not goodput). With wrk, p50/p99 are of all answers
(wrk cannot split them); they are the served requests' own only when nothing was shed, and
the table says which. bench/load.py reports percentiles of served requests only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import process_tree  # bench/report.py, beside this file


def tree_rss_kib(root: int) -> int:
    """VmRSS of a process and its descendants, KiB (0 once gone)."""
    total = 0
    for pid in process_tree(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def sample(root: int, seconds: float) -> int:
    """Peak tree RSS over `seconds`."""
    peak = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        peak = max(peak, tree_rss_kib(root))
        time.sleep(0.2)
    return peak


def _result_line(raw: Path) -> dict[str, object]:
    for line in raw.read_text(errors="replace").splitlines():
        if line.startswith("RESULT "):
            data: dict[str, object] = json.loads(line[7:])
            return data
    msg = f"no RESULT line in {raw}"
    raise SystemExit(msg)


def record(  # noqa: PLR0917  # mirrors the command line
    label: str,
    mode: str,
    load: float,
    snap0: str,
    snap1: str,
    raw: Path,
    idle_kib: int,
    peak_kib: int,
) -> dict[str, object]:
    """One measurement as a JSON-able row."""
    result = _result_line(raw)
    before, after = json.loads(snap0), json.loads(snap1)
    cpu = float(after["sut"]) - float(before["sut"])
    row: dict[str, object] = {"label": label, "mode": mode, "load": load}
    if mode == "closed":
        seconds = float(result["seconds"])  # type: ignore[arg-type]
        answers = int(result["requests"])  # type: ignore[call-overload]
        not_2xx = int(result["err_status"])  # type: ignore[call-overload]
        errors = sum(int(result[f"err_{k}"]) for k in ("connect", "read", "write", "timeout"))  # type: ignore[call-overload]
        served = answers - not_2xx
        row |= {
            "goodput": round(served / seconds, 1),
            "answers_per_s": round(answers / seconds, 1),
            "shed_or_failed": not_2xx,
            "socket_errors": errors,
            "p50_ms": result["p50_ms"],
            "p99_ms": result["p99_ms"],
            "p_of": "served" if not_2xx == 0 else "all answers",
        }
    else:
        served = int(result["served"])  # type: ignore[call-overload]
        row |= {
            key: result[key]
            for key in (
                "goodput",
                "offered",
                "served",
                "p50_ms",
                "p99_ms",
                "shed_503",
                "retries",
                "failed",
                "given_up",
                "peak_connections",
            )
        }
        row["p_of"] = "served"
    row["cpu_ms_per_served"] = round(cpu * 1000 / served, 3) if served else None
    row["rss_idle_mib"] = round(idle_kib / 1024, 1)
    row["rss_peak_mib"] = round(peak_kib / 1024, 1)
    if mode == "closed" and load:
        row["kib_per_in_flight"] = round(max(peak_kib - idle_kib, 0) / load, 1)
    return row


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float | str) else float("nan")


def table(rows: list[dict[str, object]], ours: str, peer: str) -> str:
    """The curve's tables and the verdicts of the targets."""
    lines = [
        "| target | connections | goodput (2xx/s) | answers/s | not 2xx | socket errors "
        "| p50 ms | p99 ms | p of | CPU ms / served | peak RSS MiB | KiB / request in flight |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    closed = [r for r in rows if r["mode"] == "closed"]
    lines.extend(
        f"| {r['label']} | {int(_num(r['load']))} | {r['goodput']} | {r['answers_per_s']} "
        f"| {r['shed_or_failed']} | {r['socket_errors']} | {r['p50_ms']} | {r['p99_ms']} "
        f"| {r['p_of']} | {r['cpu_ms_per_served']} | {r['rss_peak_mib']} "
        f"| {r.get('kib_per_in_flight', '')} |"
        for r in sorted(closed, key=lambda r: (str(r["label"]), _num(r["load"])))
    )
    opened = [r for r in rows if r["mode"] == "open"]
    if opened:
        lines += [
            "",
            "Open loop (fixed arrival rate; a 503 is retried after its Retry-After, at most 3 "
            "times within 10 s):",
            "",
            "| target | offered/s | goodput (2xx/s) | p50 ms (served) | p99 ms (served) | 503s "
            "| retries | failed (given up) | CPU ms / served | peak RSS MiB | peak connections |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        lines.extend(
            f"| {r['label']} | {int(_num(r['load']))} | {r['goodput']} | {r['p50_ms']} "
            f"| {r['p99_ms']} | {r['shed_503']} | {r['retries']} "
            f"| {r['failed']} ({r['given_up']}) | {r['cpu_ms_per_served']} "
            f"| {r['rss_peak_mib']} | {r['peak_connections']} |"
            for r in sorted(opened, key=lambda r: (str(r["label"]), _num(r["load"])))
        )
    lines += ["", *verdicts(closed, ours, peer)]
    return "\n".join(lines)


def verdicts(closed: list[dict[str, object]], ours: str, peer: str) -> list[str]:
    """Issue 16 item 5's targets with the 50 ms backend."""

    def at(label: str, load: int) -> dict[str, object] | None:
        found = [r for r in closed if r["label"] == label and int(_num(r["load"])) == load]
        return found[-1] if found else None

    def verdict(ok: bool | None) -> str:
        return "n/a (not measured)" if ok is None else ("**met**" if ok else "not met")

    lines = ["| target (issue 16, 50 ms backend) | this run | verdict |", "|---|---|---|"]
    c64 = at(ours, 64)
    ok64 = None
    if c64 is not None:
        errors = _num(c64["shed_or_failed"]) + _num(c64["socket_errors"])
        ok64 = errors == 0 and _num(c64["p99_ms"]) <= 150
        seen = f"{int(errors)} errors, p99 {c64['p99_ms']} ms"
        lines.append(f"| c=64: no error and p99 <= 150 ms | {seen} | {verdict(ok64)} |")
    ours_1024, peer_1024, ours_256 = at(ours, 1024), at(peer, 1024), at(ours, 256)
    if ours_1024 is not None and peer_1024 is not None:
        ratio = _num(ours_1024["goodput"]) / max(_num(peer_1024["goodput"]), 1e-9)
        seen = f"{ours_1024['goodput']} vs {peer_1024['goodput']}/s: x{ratio:.2f}"
        lines.append(f"| c=1024: goodput >= 3x the peer's | {seen} | {verdict(ratio >= 3)} |")
    if ours_1024 is not None and ours_256 is not None:
        ratio = _num(ours_1024["goodput"]) / max(_num(ours_256["goodput"]), 1e-9)
        seen = f"{ours_1024['goodput']} vs {ours_256['goodput']}/s: x{ratio:.2f}"
        lines.append(
            f"| c=1024: goodput >= 0.8x our own at c=256 | {seen} | {verdict(ratio >= 0.8)} |"
        )
    mine = [r for r in closed if r["label"] == ours]
    if mine:
        peak = max(_num(r["rss_peak_mib"]) for r in mine)
        lines.append(f"| RSS <= 200 MiB throughout | peak {peak} MiB | {verdict(peak <= 200)} |")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("sample")
    p.add_argument("pid", type=int)
    p.add_argument("seconds", type=float)
    p = commands.add_parser("record")
    for name in ("label", "mode", "load", "snap0", "snap1", "raw", "idle_kib", "peak_kib"):
        p.add_argument(name)
    p = commands.add_parser("table")
    p.add_argument("curve", type=Path)
    p.add_argument("--ours", required=True)
    p.add_argument("--peer", required=True)
    args = parser.parse_args(argv)
    if args.command == "sample":
        print(sample(args.pid, args.seconds))
    elif args.command == "record":
        row = record(
            args.label,
            args.mode,
            float(args.load),
            args.snap0,
            args.snap1,
            Path(args.raw),
            int(args.idle_kib),
            int(args.peak_kib),
        )
        print(json.dumps(row))
    else:
        rows = [json.loads(line) for line in args.curve.read_text().splitlines() if line.strip()]
        print(table(rows, args.ours, args.peer))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
