"""The gateway's HTTP layer picks the Triton priority: a single classification and the demo
go at HIGH, the batch endpoint (file classification) at LOW. The real app and service over
a runner that records what it is asked; the Triton side of priorities (the queue order) is
tested against a real tritonserver in tests/export/test_triton_serving.py."""

from __future__ import annotations

from pathlib import Path

from fake_runner import FakeRunner
from fastapi.testclient import TestClient

from client.core.model_bundle import ModelBundle
from client.core.settings import GatewaySettings
from client.http.app import create_app
from client.triton.runner import Priority

MODEL = "helpline_classifier"
TEXT = "The caller says her stepfather hits her when he drinks and she is afraid to go home."


def test_single_and_demo_go_high_and_batch_goes_low(model_repository: Path) -> None:
    sizes = ModelBundle.load(model_repository, MODEL, "2").labels.sizes()
    runner = FakeRunner(sizes)
    settings = GatewaySettings(model_repository=model_repository, max_length=64)
    with TestClient(create_app(settings, runner)) as client:
        sent: dict[str, set[Priority]] = {}
        for name, path, body in (
            ("classify", "/classifier/classify", {"narrative": TEXT}),
            ("demo", "/classifier/demo", None),
            (
                "batch",
                "/classifier/classify/batch",
                {"items": [{"id": str(i), "narrative": TEXT * (i + 1)} for i in range(3)]},
            ),
        ):
            runner.priorities.clear()
            response = client.post(path, json=body)
            assert response.status_code == 200, response.text
            sent[name] = set(runner.priorities)
    assert sent == {"classify": {Priority.HIGH}, "demo": {Priority.HIGH}, "batch": {Priority.LOW}}
