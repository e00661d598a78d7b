"""bench/plot_curve.py draws what bench/run.sh measured: one line per target, closed loop only."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest


def _load() -> ModuleType:
    # bench/ is a folder of scripts, not a package: load the script by its path.
    path = Path(__file__).parents[1] / "bench" / "plot_curve.py"
    spec = importlib.util.spec_from_file_location("plot_curve", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


plot_curve = _load()

ROWS = [
    {"label": "gateway-full", "mode": "closed", "load": 256, "goodput": 2400, "p99_ms": 190},
    {"label": "gateway-full", "mode": "closed", "load": 64, "goodput": 1100, "p99_ms": 110},
    {"label": "mesh-hive-gateway", "mode": "closed", "load": 64, "goodput": 1000, "p99_ms": 120},
    {"label": "gateway-full", "mode": "open", "load": 2400, "goodput": 2300, "p99_ms": 160},
]


def test_the_series_are_closed_loop_rows_by_label_in_connection_order() -> None:
    series = plot_curve.closed_loop_series(ROWS)
    assert sorted(series) == ["gateway-full", "mesh-hive-gateway"]
    assert [point["load"] for point in series["gateway-full"]] == [64.0, 256.0]
    assert series["gateway-full"][1]["goodput"] == 2400.0


def test_the_command_writes_a_png(tmp_path: Path) -> None:
    rows = tmp_path / "curve.jsonl"
    rows.write_text("\n".join(json.dumps(row) for row in ROWS) + "\n")
    out = tmp_path / "curve.png"
    assert plot_curve.main([str(rows), str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert out.stat().st_size > 10_000  # two panels with axes and lines, not an empty canvas


def test_no_closed_loop_rows_is_an_error_not_an_empty_picture(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no closed-loop rows"):
        plot_curve.plot(ROWS[3:], tmp_path / "curve.png", "title")
