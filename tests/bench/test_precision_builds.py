"""The per-build precision report runs the export's gate on a tiny model (no timing
assertions): agreement reported whether or not the gate passes, and the served precision is
the first that passes, in make serve's order."""

from __future__ import annotations

from pathlib import Path

from bench.precision_builds import REFERENCE, measure_build, summary
from helpline_model.layout import HEADS

PRECISIONS = ("int8", "int8-block")


def test_reports_gate_agreement_speed_and_served_precision(tiny_checkpoint: Path) -> None:
    build = measure_build(tiny_checkpoint, PRECISIONS, n_chunks=4, min_agreement=0.5)
    for precision in PRECISIONS:
        entry = build["precisions"][precision]
        assert set(entry["agreement"]) == set(HEADS), precision
        assert entry["n_texts"] == 312
        assert entry["passes_gate"] == (entry["agreement"]["main"] >= 0.5)
        assert entry["speed_vs_fp32_opt"] > 0
    passing = [p for p in PRECISIONS if build["precisions"][p]["passes_gate"]]
    assert build["make_serve_would_serve"] == (passing[0] if passing else REFERENCE)

    # A bar no graph can reach: the same measurements, every precision refused.
    refused = {
        **build,
        "precisions": {p: {**build["precisions"][p], "passes_gate": False} for p in PRECISIONS},
    }
    counts = summary([build, refused], PRECISIONS)
    for precision in PRECISIONS:
        assert counts[precision]["builds"] == 2
        assert counts[precision]["builds_passing"] == int(
            build["precisions"][precision]["passes_gate"]
        )


def test_nothing_passing_serves_the_fp32_graph(tiny_checkpoint: Path) -> None:
    build = measure_build(tiny_checkpoint, ("int8-block",), n_chunks=2, min_agreement=1.01)
    assert build["precisions"]["int8-block"]["passes_gate"] is False
    assert build["make_serve_would_serve"] == REFERENCE
