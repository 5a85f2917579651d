"""Hand-written hostile inputs: every one gets a structured 4xx and the gateway keeps
serving."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.integration
JSON = {"Content-Type": "application/json"}

CASES = {
    "invalid_utf8": (b'{"narrative": "abc \xff\xfe def"}', JSON),
    "nul_bytes_in_json_text": (b'{"narrative": "\\u0000\\u0000"}', JSON),
    "deeply_nested": (b'{"narrative": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", JSON),
    "deeply_nested_objects": (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, JSON),
    "not_json": (b"hello there", JSON),
    "xml": (b"<narrative>x</narrative>", {"Content-Type": "application/xml"}),
    "form": (b"narrative=abc", {"Content-Type": "application/x-www-form-urlencoded"}),
    "empty_body": (b"", JSON),
    "json_string": (b'"just a string"', JSON),
    "json_number": (b"12345", JSON),
    "huge_number": (b'{"narrative": 1' + b"0" * 5000 + b"}", JSON),
    "lone_surrogate": (b'{"narrative": "\\ud800 text"}', JSON),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_body_gets_structured_4xx(gateway, name: str) -> None:
    body, headers = CASES[name]
    response = httpx.post(
        f"{gateway.url}/classifier/classify", content=body, headers=headers, timeout=30
    )
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    payload = response.json()
    assert payload["status"] == "error" and payload["error"]["error_code"]
    ok = httpx.post(f"{gateway.url}/classifier/classify", json={"narrative": "A child called."})
    assert ok.status_code == 200


def test_nul_bytes_inside_text_are_classified(gateway) -> None:
    response = httpx.post(
        f"{gateway.url}/classifier/classify",
        json={"narrative": "The boy\u0000 said his father beats him."},
    )
    assert response.status_code == 200


def test_huge_string_just_under_the_char_limit_is_classified(gateway) -> None:
    text = ("The girl is afraid to go home. " * 1700)[:49_999]
    response = httpx.post(
        f"{gateway.url}/classifier/classify", json={"narrative": text}, timeout=60
    )
    assert response.status_code == 200
    body = response.json()
    assert body["coverage"]["tokens"] == body["coverage"]["tokens_classified"]
