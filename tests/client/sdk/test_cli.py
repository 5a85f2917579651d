"""The CLI against the real gateway: in-process through `main(argv)`, and once as a
subprocess. Narratives carry a canary that must never reach stdout or stderr."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from conftest import free_port

from client.sdk.cli import main

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
CANARY = f"canary{uuid.uuid4().hex}"
SHORT = f"A 12-year-old girl said {CANARY} beats her when her mother is away."
LONG = (
    "The caller explained that the family moved to the village last year and the children "
    "walk a long way to school every morning. "
) * 40 + f"Yesterday {CANARY} beat the boy badly and his arm is broken."


def assert_no_narrative(*texts: str) -> None:
    for text in texts:
        assert CANARY not in text


def read_results(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def write_csv(path: Path, records: list[dict]) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=["id", "narrative"])
        writer.writeheader()
        writer.writerows(records)
    return path


def test_classify_prints_the_result(gateway, capsys) -> None:
    assert main(["--url", gateway.url, "classify", SHORT]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["main_category"] and result["chunk_predictions"] is None
    assert_no_narrative(out, err)


def test_classify_options_after_the_command_and_stdin(gateway, capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(LONG))
    assert main(["classify", "--url", gateway.url, "--timeout", "10", "--chunks", "-"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["chunks_processed"] >= 2 and result["chunk_predictions"]
    assert_no_narrative(out, err)


def test_classify_error_exits_1(gateway, capsys) -> None:
    assert main(["--url", gateway.url, "classify", " "]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    error = json.loads(err)["error"]
    assert (error["status"], error["error_code"], error["field"]) == (
        400,
        "INVALID_INPUT",
        "narrative",
    )


def test_unreachable_gateway_exits_1(capsys) -> None:
    assert main(["--url", f"http://127.0.0.1:{free_port()}", "classify", SHORT]) == 1
    out, err = capsys.readouterr()
    assert json.loads(err)["error"]["error_code"] == "CONNECTION_ERROR"
    assert_no_narrative(out, err)


def test_classify_file_with_the_gateway_unreachable(tmp_path: Path, capsys) -> None:
    source = write_jsonl(tmp_path / "cases.jsonl", [{"narrative": SHORT}] * 3)
    out = tmp_path / "results.jsonl"
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["--url", url, "classify-file", str(source), "--out", str(out)]) == 1
    results = read_results(out)
    assert [r["error"]["error_code"] for r in results] == ["CONNECTION_ERROR"] * 3
    assert_no_narrative(*capsys.readouterr())


def test_info_and_health_with_url_from_environment(gateway, capsys, monkeypatch) -> None:
    monkeypatch.setenv("TRIAGE_URL", gateway.url)
    monkeypatch.setenv("TRIAGE_API_KEY", "not-checked-yet")
    assert main(["info"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "ready"
    assert main(["health"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "ok"


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_classify_file_with_a_bad_row(gateway, tmp_path: Path, capsys, fmt: str) -> None:
    records = [
        {"id": "c1", "narrative": SHORT},
        {"id": "c2", "narrative": LONG},
        {"id": "c3", "narrative": ""},
        {"id": "c4", "narrative": SHORT},
        {"id": "c5", "narrative": LONG},
    ]
    write = write_jsonl if fmt == "jsonl" else write_csv
    source = write(tmp_path / f"cases.{fmt}", records)
    out = tmp_path / "results.jsonl"
    argv = ["--url", gateway.url, "classify-file", str(source), "--out", str(out)]
    assert main([*argv, "--batch-size", "2", "--concurrency", "2"]) == 1

    results = read_results(out)
    assert [r["id"] for r in results] == ["c1", "c2", "c3", "c4", "c5"]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4]
    assert [r["status"] for r in results] == ["ok", "ok", "error", "ok", "ok"]
    assert results[2]["error"]["error_code"] == "INVALID_INPUT"
    assert "result" not in results[2]
    assert results[1]["result"]["chunks_processed"] >= 2
    # The bad row's batch fell back to one call per row: its neighbour still has a result.
    assert results[3]["result"]["main_category"] == results[0]["result"]["main_category"]
    assert_no_narrative(*capsys.readouterr())


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_classify_file_all_good(gateway, tmp_path: Path, capsys, fmt: str) -> None:
    records = [{"id": f"r{i}", "narrative": SHORT if i % 2 else LONG} for i in range(7)]
    if fmt == "jsonl":
        records[3] = {"narrative": SHORT}  # id is optional
        source = write_jsonl(tmp_path / "cases.jsonl", records)
    else:
        source = write_csv(tmp_path / "cases.csv", records)
    out = tmp_path / "results.jsonl"
    argv = ["classify-file", str(source), "--out", str(out), "--url", gateway.url, "--chunks"]
    assert main(argv) == 0

    results = read_results(out)
    assert len(results) == 7 and all(r["status"] == "ok" for r in results)
    assert results[3]["id"] == (None if fmt == "jsonl" else "r3")
    assert all(r["result"]["chunk_predictions"] for r in results)
    out_text, err = capsys.readouterr()
    assert "7 rows: 7 ok, 0 failed" in err
    assert_no_narrative(out_text, err)


# The documented header of a `.csv` results file (README, SDK and CLI), spelled out here so a
# change to the columns is a visible change to this test.
CSV_HEADER = [
    "id",
    "main_category",
    "sub_category",
    "intervention",
    "priority",
    "main_category_confidence",
    "sub_category_confidence",
    "intervention_confidence",
    "priority_confidence",
    "escalated",
    "needs_review",
    "error",
]
LABELS = ("main_category", "sub_category", "intervention", "priority")


def test_classify_file_csv_output(gateway, tmp_path: Path, capsys) -> None:
    awkward_id = 'case, "seven"\nsecond line'
    records = [
        {"id": "c1", "narrative": SHORT},
        {"id": awkward_id, "narrative": LONG},
        {"id": "c3", "narrative": " "},
        {"narrative": SHORT},
    ]
    source = write_jsonl(tmp_path / "cases.jsonl", records)
    as_jsonl, as_csv = tmp_path / "results.jsonl", tmp_path / "results.CSV"
    for out in (as_jsonl, as_csv):
        argv = ["--url", gateway.url, "classify-file", str(source), "--out", str(out)]
        assert main([*argv, "--batch-size", "2", "--no-progress"]) == 1

    expected = read_results(as_jsonl)
    text = as_csv.read_text(encoding="utf-8")
    assert_no_narrative(text, *capsys.readouterr())
    with as_csv.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        rows = list(reader)
    assert reader.fieldnames == CSV_HEADER
    assert [row["id"] for row in rows] == ["c1", awkward_id, "c3", ""]
    assert len(rows) == len(records) == len(expected)
    for row, record in zip(rows, expected, strict=True):
        if record["status"] != "ok":
            assert row["error"] == record["error"]["error_code"] == "INVALID_INPUT"
            assert all(row[label] == "" for label in LABELS)
            continue
        result = record["result"]
        assert row["error"] == ""
        for label in LABELS:
            assert row[label] == result[label]
            confidence = float(row[f"{label}_confidence"])
            assert confidence == pytest.approx(result["confidence_scores"][label], abs=1e-4)
        assert row["escalated"] == str(result["escalation"]["escalated"]).lower()
        assert row["needs_review"] == str(result["needs_review"]).lower()


@pytest.mark.parametrize("name", ["results.txt", "results", "results.csv.tmp"])
def test_unknown_output_extension_is_refused_first(tmp_path: Path, capsys, name: str) -> None:
    # The input does not exist and no gateway listens: the output name must be the first check.
    url = f"http://127.0.0.1:{free_port()}"
    out = tmp_path / name
    argv = ["--url", url, "classify-file", str(tmp_path / "missing.jsonl"), "--out", str(out)]
    assert main(argv) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert f"error: {out}:" in err and ".csv" in err


def test_batch_over_the_gateway_limit_falls_back_to_single_calls(gateway, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "many.jsonl", [{"narrative": SHORT}] * 66)
    out = tmp_path / "results.jsonl"
    argv = ["--url", gateway.url, "classify-file", str(source), "--out", str(out)]
    assert main([*argv, "--batch-size", "66", "--no-progress"]) == 0
    results = read_results(out)
    assert len(results) == 66 and all(r["status"] == "ok" for r in results)


BAD_INPUTS = {
    "missing": None,
    "not_json.jsonl": '{"narrative": "ok"}\n{"narrative": ',
    "not_object.jsonl": '["narrative"]\n',
    "no_narrative.jsonl": '{"text": "hello"}\n',
    "number_narrative.jsonl": '{"narrative": 5}\n',
    "no_column.csv": "id,text\n1,hello\n",
    "empty.csv": "",
    "unknown.txt": "narrative\nhello\n",
    "latin1.jsonl": b'{"narrative": "caf\xe9"}\n',
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_file_exits_2(gateway, tmp_path: Path, capsys, name: str) -> None:
    source = tmp_path / name
    content = BAD_INPUTS[name]
    if isinstance(content, bytes):
        source.write_bytes(content)
    elif content is not None:
        source.write_text(content)
    out = tmp_path / "results.jsonl"
    assert main(["--url", gateway.url, "classify-file", str(source), "--out", str(out)]) == 2
    assert not out.exists()
    assert "error:" in capsys.readouterr().err


def test_output_must_not_overwrite_input(gateway, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "cases.jsonl", [{"narrative": SHORT}])
    argv = ["--url", gateway.url, "classify-file", str(source), "--out", str(source)]
    assert main(argv) == 2
    assert read_results(source) == [{"narrative": SHORT}]


@pytest.mark.parametrize(
    "argv",
    [[], ["classify"], ["frobnicate"], ["classify-file", "in.jsonl"], ["--timeout", "0", "info"]],
)
def test_usage_errors_exit_2(argv: list[str], capsys) -> None:
    assert main(argv) == 2
    capsys.readouterr()


def test_batch_size_must_be_positive(tmp_path: Path, capsys) -> None:
    source = write_jsonl(tmp_path / "cases.jsonl", [{"narrative": SHORT}])
    argv = ["classify-file", str(source), "--out", str(tmp_path / "o.jsonl"), "--batch-size", "0"]
    assert main(argv) == 2
    capsys.readouterr()


def test_subprocess_classify_file(gateway, tmp_path: Path) -> None:
    source = write_jsonl(
        tmp_path / "cases.jsonl",
        [
            {"id": "a", "narrative": SHORT},
            {"id": "b", "narrative": " "},
            {"id": 3, "narrative": LONG},
        ],
    )
    out = tmp_path / "results.jsonl"
    completed = subprocess.run(
        [sys.executable, "-m", "client.sdk.cli", "classify-file", str(source), "--out", str(out)],
        cwd=REPO,
        env={"TRIAGE_URL": gateway.url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 1, completed.stderr
    results = read_results(out)
    assert [(r["id"], r["status"]) for r in results] == [("a", "ok"), ("b", "error"), ("3", "ok")]
    assert "3 rows: 2 ok, 1 failed" in completed.stderr
    assert_no_narrative(completed.stdout, completed.stderr)

    help_text = subprocess.run(
        [sys.executable, "-m", "client.sdk.cli", "--help"], cwd=REPO, capture_output=True, text=True
    )
    assert help_text.returncode == 0 and "classify-file" in help_text.stdout
