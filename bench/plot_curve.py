"""Draw the cost curve (bench/run.sh's curve.jsonl) as a PNG: goodput and p99 per connection count.

One picture says what the tables say in rows: how served answers/s and the p99 of what was
served move as closed-loop connections grow, for the gateway and the peer measured in the same
run. `bench/run.sh` calls it after the curve; the README shows the committed picture.

    python bench/plot_curve.py CURVE.jsonl OUT.png [--title TEXT]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")  # files only: no display on CI machines or servers

import matplotlib.pyplot as plt  # the backend must be chosen before pyplot loads

#: How each measured label is named in the legend (others keep their label).
NAMES = {"gateway-full": "medusa-graphql-gateway", "mesh-hive-gateway": "GraphQL Mesh on Hive"}


def closed_loop_series(rows: Sequence[dict[str, object]]) -> dict[str, list[dict[str, float]]]:
    """Closed-loop rows by label, ordered by connection count (open-loop rows are other axes)."""
    series: dict[str, list[dict[str, float]]] = defaultdict(list)
    for row in rows:
        if row.get("mode") == "closed":
            point = {key: float(row[key]) for key in ("load", "goodput", "p99_ms")}  # type: ignore[arg-type]
            series[str(row["label"])].append(point)
    for points in series.values():
        points.sort(key=lambda point: point["load"])
    return dict(series)


def plot(rows: Sequence[dict[str, object]], out: Path, title: str) -> None:
    """Two panels side by side: goodput, then p99, against connections on a log axis."""
    series = closed_loop_series(rows)
    if not series:
        msg = "no closed-loop rows to plot"
        raise ValueError(msg)
    figure, (goodput, p99) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    for label, points in sorted(series.items()):
        loads = [point["load"] for point in points]
        name = NAMES.get(label, label)
        goodput.plot(loads, [point["goodput"] for point in points], marker="o", label=name)
        p99.plot(loads, [point["p99_ms"] for point in points], marker="o", label=name)
    goodput.set_ylim(bottom=0)
    p99.set_yscale("log")  # from ~100 ms to seconds past saturation: both ends stay readable
    for axes, ylabel in ((goodput, "goodput (2xx answers/s)"), (p99, "p99 of served (ms)")):
        axes.set_xscale("log", base=2)
        axes.set_xlabel("connections (closed loop)")
        axes.set_ylabel(ylabel)
        axes.grid(visible=True, alpha=0.3)
        axes.legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(out, format="png")
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> int:
    """Read the rows, draw the picture; the exit code says whether it was written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=Path, help="curve.jsonl written by bench/run.sh")
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--title", default="Backend answering after 50 ms: goodput and p99")
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in args.rows.read_text().splitlines() if line.strip()]
    plot(rows, args.out, args.title)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
