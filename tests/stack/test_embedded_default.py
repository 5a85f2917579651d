"""The embedded default serves the fastest graph that passes its parity check."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from export.parity import ParityError
from stack import embedded_default


def _fake_export(refused: set[str], calls: list[str]):
    def export_checkpoint(source: str, repository: Path, model_name: str, precision: str):
        calls.append(precision)
        if precision in refused:
            raise ParityError(f"{precision}: agreement below the bar")
        parity = SimpleNamespace(argmax_agreement_text={"main": 1.0})
        return SimpleNamespace(version=len(calls), parity=parity)

    return export_checkpoint


@pytest.fixture
def checkpoint_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "model.safetensors").write_bytes(b"")
    monkeypatch.setattr(embedded_default, "CHECKPOINT_DIR", tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("refused", "served"),
    [
        (set(), "int8"),
        ({"int8"}, "openvino-bf16"),
        ({"int8", "openvino-bf16"}, "int8-block"),
        ({"int8", "openvino-bf16", "int8-block"}, "fp32-opt"),
    ],
)
def test_falls_back_in_order_of_speed(
    refused: set[str], served: str, checkpoint_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(embedded_default, "export_checkpoint", _fake_export(refused, calls))
    embedded_default.build_embedded_default(checkpoint_dir / "repo", "m")
    assert calls[-1] == served
    assert calls == list(embedded_default.PRECISION_PREFERENCE[: len(calls)])


def test_a_refused_exact_graph_is_an_error(
    checkpoint_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = set(embedded_default.PRECISION_PREFERENCE)
    monkeypatch.setattr(embedded_default, "export_checkpoint", _fake_export(refused, []))
    with pytest.raises(ParityError):
        embedded_default.build_embedded_default(checkpoint_dir / "repo", "m")
