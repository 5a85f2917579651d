"""`python -m bench.compare --quick` end to end: a tiny model exported twice, real Triton,
two real gateways, the baseline server, closed-loop runs, report files with every field.

No timing assertions: speed depends on the machine and on whatever else runs on it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.compare import REPORT_FIELDS, RUN_FIELDS
from bench.queueing import MAX_ALONE
from bench.report import SIDES
from export.repository import PROJECT_ROOT

pytestmark = pytest.mark.integration

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Fields that are legitimately empty for some sides (no gateway in the baseline).
# share_of_peak: a CPU whose /proc/cpuinfo gives no clock (ARM) has no computed peak.
MAY_BE_NULL = {"gateway_cpu_share", "share_of_peak"}


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "report"
    completed = subprocess.run(
        # The int8 side takes the block-wise recipe here; the default one (int8) is what
        # tests/export covers with the same export pipeline.
        [
            sys.executable,
            "-m",
            "bench.compare",
            "--quick",
            "--int8-precision",
            "int8-block",
            "--out",
            str(out),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return out


def test_report_files_are_written(quick_report: Path) -> None:
    for name in ("report.md", "report.json", "workload.jsonl"):
        assert (quick_report / name).stat().st_size > 0, name
    report = json.loads((quick_report / "report.json").read_text())
    for name in report["plots"]:
        assert (quick_report / name).read_bytes()[:8] == PNG_MAGIC, name


def test_report_has_every_field(quick_report: Path) -> None:
    report = json.loads((quick_report / "report.json").read_text())
    missing = [f for f in REPORT_FIELDS if report.get(f) in (None, "", [], {})]
    assert not missing

    concurrencies = report["settings"]["concurrency"]
    runs = {(r["side"], r["concurrency"]): r for r in report["runs"]}
    assert set(runs) == {(side, c) for side in SIDES for c in concurrencies}
    for key, run in runs.items():
        absent = [f for f in RUN_FIELDS if f not in run]
        assert not absent, (key, absent)
        nulls = [f for f in RUN_FIELDS if run[f] is None and f not in MAY_BE_NULL]
        assert not nulls, (key, nulls)
        assert run["ok"] > 0, key
        assert run["layout_mismatches"] == 0, key
        if key[0] != "baseline":
            assert run["gateway_cpu_share"] is not None, key
            assert {"triton", f"gateway_{key[0]}"} <= set(run["cpu_s"]), key

    for c in concurrencies:
        ratio = report["ratios"][str(c)]
        assert all(v is not None for v in ratio.values()), (c, ratio)
    assert set(report["gateway_cpu_share_at_max_concurrency"]) == {"fp32", "int8"}
    assert report["ceiling"]["numpy_fp32_matmul_gflops"] > 0
    machine = report["host"]["machine"]
    assert machine["cpu_model"] and machine["physical_cores"] >= 1
    assert {"avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8"} <= set(machine["isa"])
    if machine["clock_mhz"]:
        assert report["ceiling"]["cpu_fp32_peak_gflops"] > 0
    assert set(report["export"]) == {"fp32", "int8"}
    assert report["export"]["int8"]["precision"] == "int8-block"
    assert all(v is not None for v in report["padding"].values())
    # Agreement covers the whole workload, whatever the timed runs reached.
    assert (
        report["agreement"]["int8_vs_fp32_main"]["narratives"] == report["workload"]["narratives"]
    )
    assert report["agreement"]["int8_vs_fp32_main"]["rate"] is not None
    # The confident subset is a subset (the random tiny model may leave it empty).
    confident = report["agreement"]["int8_vs_fp32_main_outside_review"]
    assert report["agreement"]["review_band_below"] == 0.60
    assert confident["agree"] <= confident["narratives"] <= report["workload"]["narratives"]
    assert len(report["targets"]) == 7
    for side in ("fp32", "int8"):
        half = report["half_saturation"][side]
        assert half["requests"] > 0 and half["latency_p50_ms"] > 0, side
        assert half["offered_narratives_per_s"] * 2 == pytest.approx(
            half["saturation_narratives_per_s"], rel=0.01
        )
        # Every narrative answered under load is sent again alone (the quick run is far
        # below the cap and the time bound), and every answered request is compared.
        alone = half["vs_alone"]
        assert alone["narratives_under_load"] > 0, side
        assert alone["narratives_measured_alone"] == min(
            alone["narratives_under_load"], MAX_ALONE
        ), side
        assert alone["narratives_without_alone"] == 0, side
        answered = round(half["requests"] * (1 - half["error_rate"]))
        assert alone["requests_compared"] + alone["requests_without_alone"] == answered, side
        assert 0 < alone["ratio_p50"] <= alone["ratio_p99"], side
        assert alone["met"] == (alone["ratio_p99"] <= alone["target_p99"]), side
        # The same answered requests through the ideal schedulers (bench.schedulers).
        floors = alone["floors"]
        assert floors["jobs"] == alone["requests_compared"], side
        assert set(floors["policies"]) == {"fifo", "sjf", "ps", "srpt"}, side
        for found in floors["policies"].values():
            assert found["ratio_p99"] >= 1.0 and found["ratio_p99_half_busy"] >= 1.0, side
    assert all(t["value"] is not None for t in report["targets"])
    assert report["model"]["random_weights"] is True


def test_markdown_report_has_every_section(quick_report: Path) -> None:
    text = (quick_report / "report.md").read_text()
    for heading in ("## Results", "### Ratios", "## Padding", "## Agreement", "## Targets"):
        assert heading in text
    assert "| side | measured p99 | fifo | sjf | ps | srpt |" in text
    assert "weights are random" in text
    assert "ISA:" in text
    assert "latency / alone p50" in text


def test_no_narrative_text_in_logs(quick_report: Path) -> None:
    """Server logs of the run must hold lengths and hashes only, never narrative text."""
    narratives = [
        json.loads(line)["narrative"]
        for line in (quick_report / "workload.jsonl").read_text().splitlines()
    ]
    # A long fragment from the middle of each narrative: specific enough not to occur by chance.
    fragments = [n[len(n) // 2 : len(n) // 2 + 40] for n in narratives if len(n) > 80]
    for log_file in (quick_report / "logs").glob("*.log"):
        text = log_file.read_text(errors="replace")
        assert not any(f in text for f in fragments), log_file.name


def test_the_fast_side_takes_every_cpu_candidate_of_make_serve() -> None:
    from bench.compare import parse_args
    from stack.embedded_default import PRECISION_PREFERENCE

    for precision in PRECISION_PREFERENCE[:-1]:
        assert parse_args(["--int8-precision", precision]).int8_precision == precision
