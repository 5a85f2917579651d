"""The real gateway in front of the real tritonserver, over HTTP: every endpoint, every
error, and the same answer as PyTorch + the documented aggregation."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch

from client.core.aggregation import aggregate_logits, load_severity, load_sub_to_main
from client.core.buckets import DEFAULT_BUCKETS
from client.core.chunking import chunk_tokens, default_overlap
from client.core.settings import GatewaySettings
from client.core.tokenization import NarrativeTokenizer
from client.http.app import create_app
from client.http.openapi import NoModel
from client.http.schemas import READABLE_PATTERN
from helpline_model.checkpoint import load_checkpoint
from helpline_model.layout import HEADS

pytestmark = pytest.mark.integration

SHORT = "A 12-year-old girl reported that her stepfather beats her when her mother is away."
SENTENCE = (
    "The caller explained that the family moved to the village last year and the children "
    "walk a long way to school every morning. "
)
LONG = SENTENCE * 40 + "Yesterday the boy was beaten badly by his uncle and has a broken arm."


def post(gateway, path: str, body: object, **kwargs) -> httpx.Response:
    return httpx.post(f"{gateway.url}{path}", json=body, timeout=60, **kwargs)


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error"
    assert set(body["error"]) == {"error_code", "message", "detail", "field", "timestamp"}
    assert body["request_id"]
    if code:
        assert body["error"]["error_code"] == code
    return body


def expected_result(checkpoint: Path, text: str):
    """What the gateway must answer, computed here from PyTorch and the documented rules."""
    model = load_checkpoint(checkpoint)
    tokenizer = NarrativeTokenizer(checkpoint)
    tokens = tokenizer.encode(text)
    chunks = chunk_tokens(
        tokens, text, 512, default_overlap(512), tokenizer.cls_id, tokenizer.sep_id
    )
    logits = {h: [] for h in HEADS}
    with torch.inference_mode():
        for chunk in chunks:
            ids = torch.from_numpy(np.asarray(chunk.input_ids, dtype=np.int64))[None]
            outs = model.model(ids, torch.ones_like(ids))
            for head, out in zip(HEADS, outs, strict=True):
                logits[head].append(out.numpy()[0])
    return aggregate_logits(
        {h: np.stack(v) for h, v in logits.items()},
        [c.token_count for c in chunks],
        model.labels,
        sub_to_main=load_sub_to_main(checkpoint),
        severity=load_severity(checkpoint),
    ), chunks


@pytest.mark.parametrize("text", [SHORT, LONG], ids=["one-chunk", "many-chunks"])
def test_classify_matches_pytorch_and_aggregation(gateway, tiny_checkpoint_v2: Path, text: str):
    response = post(gateway, "/classifier/classify", {"narrative": text, "include_chunks": True})
    assert response.status_code == 200, response.text
    body = response.json()
    expected, chunks = expected_result(tiny_checkpoint_v2, text)
    assert body["chunks_processed"] == len(chunks)
    assert body["main_category"] == expected.label("main")
    assert body["sub_category"] == expected.label("sub")
    assert body["intervention"] == expected.label("intervention")
    assert body["priority"] == expected.label("priority")
    for head in HEADS:
        assert body["predictions"][head]["confidence"] == pytest.approx(
            expected.confidence(head), abs=1e-4
        )
    assert body["confidence_scores"]["main_category"] == body["predictions"]["main"]["confidence"]
    assert body["coverage"]["tokens"] == body["coverage"]["tokens_classified"]
    assert [c["index"] for c in body["chunk_predictions"]] == list(range(len(chunks)))
    assert body["model_info"]["version"] == "2"
    info = body["model_info"]
    assert info["max_length"] == 512  # the chunk limit, not this narrative's length
    assert info["longest_chunk"] == max(c.length for c in chunks) <= info["bucket"]
    assert body["escalation"]["enabled"] is True
    assert set(body["timings"]) == {"tokenize_ms", "inference_ms", "aggregate_ms", "total_ms"}
    assert response.headers["X-Request-ID"] == body["request_id"]


def test_long_narrative_is_split_and_uses_a_bucket(gateway) -> None:
    body = post(gateway, "/classifier/classify", {"narrative": LONG}).json()
    assert body["chunks_processed"] >= 2
    assert body["chunk_predictions"] is None
    assert body["model_info"]["bucket"] in DEFAULT_BUCKETS


def test_sub_category_is_consistent_with_main(gateway, tiny_checkpoint_v2: Path) -> None:
    sub_to_main = json.loads((tiny_checkpoint_v2 / "sub_to_main.json").read_text())
    for text in (SHORT, LONG, "Caller asked about school fees."):
        body = post(gateway, "/classifier/classify", {"narrative": text}).json()
        assert sub_to_main[body["sub_category"]] == body["main_category"]
        if body["sub_category_2"] is not None:
            assert sub_to_main[body["sub_category_2"]] == body["main_category"]


def test_older_field_name_and_request_id(gateway) -> None:
    response = post(
        gateway,
        "/classifier/classify",
        {"text_transcript": SHORT},
        headers={"X-Request-ID": "case-42"},
    )
    assert response.status_code == 200
    assert response.json()["request_id"] == "case-42"


def test_batch(gateway) -> None:
    items = [{"narrative": SHORT, "id": "a"}, {"narrative": LONG, "id": "b"}]
    response = post(gateway, "/classifier/classify/batch", {"items": items})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 2 and [r["id"] for r in body["results"]] == ["a", "b"]
    single = post(gateway, "/classifier/classify", {"narrative": LONG}).json()
    assert body["results"][1]["result"]["main_category"] == single["main_category"]


def test_info_demo_health_live_ready_metrics(gateway) -> None:
    info = httpx.get(f"{gateway.url}/classifier/info").json()
    assert info["status"] == "ready"
    assert info["label_counts"] == {"main": 7, "sub": 65, "intervention": 5, "priority": 3}
    assert info["severity_order"] == ["1", "2", "3"]
    assert info["chunking"]["max_length"] == 512
    assert info["chunking"]["overlap"] == 150
    assert info["chunking"]["policy"] == "balanced"
    assert info["endpoints"][0]["live"] is True

    demo = post(gateway, "/classifier/demo", None)
    assert demo.status_code == 200 and demo.json()["chunk_predictions"]

    health = httpx.get(f"{gateway.url}/health/models").json()
    assert health["models"]["helpline_classifier"]["state"] == "ready"
    assert httpx.get(f"{gateway.url}/livez").status_code == 200
    assert httpx.get(f"{gateway.url}/readyz").status_code == 200

    metrics = httpx.get(f"{gateway.url}/metrics").text
    assert 'triage_requests_total{endpoint="/classifier/classify",status="200"}' in metrics
    assert "triage_stage_seconds_bucket" in metrics


def test_openapi_document_is_committed_and_current(gateway) -> None:
    committed = json.loads(
        (Path(__file__).resolve().parents[3] / "client" / "http" / "openapi.json").read_text()
    )
    served = httpx.get(f"{gateway.url}/openapi.json").json()
    assert served == committed, "regenerate with `python -m client.http.openapi`"


def test_openapi_document_states_this_gateways_limits() -> None:
    settings = GatewaySettings(max_narrative_chars=123, max_batch_items=7, stream_max_chars=99)
    components = create_app(settings, NoModel()).openapi()["components"]["schemas"]
    narrative = components["ClassifyRequest"]["properties"]["narrative"]
    assert (narrative["maxLength"], narrative["pattern"]) == (123, READABLE_PATTERN)
    assert components["BatchItem"]["properties"]["narrative"]["maxLength"] == 123
    assert components["BatchRequest"]["properties"]["items"]["maxItems"] == 7
    assert components["SegmentRequest"]["properties"]["text"]["maxLength"] == 99


def test_405_allows_every_method_of_the_path(gateway) -> None:
    response = httpx.request("PUT", f"{gateway.url}/classifier/sessions/any-id")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    # GET and DELETE of one path are two routes; Starlette alone named only the first.
    assert {"GET", "DELETE"} <= set(response.headers["allow"].split(", "))
    response = httpx.get(f"{gateway.url}/classifier/classify")
    assert_error(response, 405)
    assert response.headers["allow"] == "POST"


ERROR_CASES = [
    ("empty", {"narrative": ""}, 400, "INVALID_INPUT"),
    ("whitespace", {"narrative": " \n\t "}, 400, "INVALID_INPUT"),
    ("missing", {}, 422, "VALIDATION_ERROR"),
    ("wrong_type", {"narrative": 12}, 422, "VALIDATION_ERROR"),
    ("null", {"narrative": None}, 422, "VALIDATION_ERROR"),
    ("both_null", {"narrative": None, "text_transcript": None}, 422, "VALIDATION_ERROR"),
    ("null_alias", {"narrative": "a", "text_transcript": None}, 422, "VALIDATION_ERROR"),
    ("list_body", ["narrative"], 422, "VALIDATION_ERROR"),
    ("both_fields", {"narrative": "a", "text_transcript": "b"}, 422, "VALIDATION_ERROR"),
    ("unknown_field", {"narrative": "a", "extra": 1}, 422, "VALIDATION_ERROR"),
    ("too_many_chars", {"narrative": "word " * 12_000}, 413, "PAYLOAD_TOO_LARGE"),
    ("no_tokens", {"narrative": "\u200b\u200b"}, 400, "INVALID_INPUT"),
    # The documented pattern: at least one ASCII letter or digit.
    ("no_letter_or_digit", {"narrative": "\u00bf\u00a1? \u2014 \u2026"}, 400, "INVALID_INPUT"),
]


@pytest.mark.parametrize("case,body,status,code", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_bad_input_gets_structured_4xx(gateway, case, body, status, code) -> None:
    assert_error(post(gateway, "/classifier/classify", body), status, code)
    assert post(gateway, "/classifier/classify", {"narrative": SHORT}).status_code == 200


def test_invalid_json_and_content_type(gateway) -> None:
    url = f"{gateway.url}/classifier/classify"
    assert_error(
        httpx.post(url, content=b'{"narrative": ', headers={"Content-Type": "application/json"}),
        400,
        "INVALID_JSON",
    )
    response = httpx.post(url, content=b"narrative=hello", headers={"Content-Type": "text/plain"})
    assert response.status_code in (400, 415, 422)
    assert_error(response, response.status_code)


def test_body_over_limit_is_refused_before_reading(gateway) -> None:
    body = b'{"narrative": "' + b"a" * 1_100_000 + b'"}'
    response = httpx.post(
        f"{gateway.url}/classifier/classify",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


def test_batch_over_count_limit(gateway) -> None:
    items = [{"narrative": "x"}] * 65
    assert_error(post(gateway, "/classifier/classify/batch", {"items": items}), 413)
    assert_error(post(gateway, "/classifier/classify/batch", {"items": []}), 422)


def test_deadline_header(gateway) -> None:
    response = post(
        gateway,
        "/classifier/classify",
        {"narrative": LONG},
        headers={"X-Request-Timeout": "0.0001"},
    )
    assert_error(response, 504, "DEADLINE_EXCEEDED")
    assert_error(
        post(
            gateway,
            "/classifier/classify",
            {"narrative": SHORT},
            headers={"X-Request-Timeout": "abc"},
        ),
        400,
    )
    assert (
        post(
            gateway,
            "/classifier/classify",
            {"narrative": SHORT},
            headers={"X-Request-Timeout": "5"},
        ).status_code
        == 200
    )


def test_unknown_path_and_method(gateway) -> None:
    assert_error(httpx.get(f"{gateway.url}/nope"), 404, "NOT_FOUND")
    assert_error(httpx.get(f"{gateway.url}/classifier/classify"), 405, "METHOD_NOT_ALLOWED")
