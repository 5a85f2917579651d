"""`python -m bench.priority --quick` end to end, priorities mode only: a tiny model, real
Triton and gateway, single narratives alone and under a bulk job of batch requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.priority import main

pytestmark = pytest.mark.integration


def test_quick_run_reports_latency_alone_and_under_bulk(tmp_path: Path) -> None:
    out = main(["--quick", "--modes", "priorities", "--out", str(tmp_path / "priority.json")])
    report = json.loads(out.read_text())
    assert report["machine"]["cpu_model"]
    assert report["interactive_rate_per_s"] > 0
    found = report["modes"]["priorities"]
    for phase in ("alone", "under_bulk"):
        assert found[phase]["ok"] > 0 and found[phase]["latency_p99_ms"] > 0, phase
    bulk = found["under_bulk"]["bulk"]
    assert bulk["batches_ok"] > 0 and set(bulk["statuses"]) == {"200"}
    assert found["p99_under_bulk_over_alone"] > 0
