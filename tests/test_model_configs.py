"""Every Triton model config in the repository parses against Triton's own `ModelConfig`
schema (the protobuf tritonclient ships), so a misspelt field or a wrong nesting fails here,
not when a production server refuses to load the model."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

ROOT = Path(__file__).resolve().parents[1]
# Always present; the list below must find at least these.
KNOWN_CONFIGS = (
    "model_repository/helpline_classifier/config.pbtxt",
    "model_repository/helpline_classifier/configs/local.pbtxt",
)


def repository_configs() -> list[str]:
    """Tracked and new (not ignored) .pbtxt files anywhere in the repository: the model
    repository's configs, configs/, deploy/... Ignored copies (generated versions,
    artifacts/) are not the committed configs."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", "*.pbtxt"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return sorted(set(listed.stdout.split()))


def test_the_known_configs_are_found() -> None:
    assert set(KNOWN_CONFIGS) <= set(repository_configs())


@pytest.mark.parametrize("config", repository_configs())
def test_config_parses_against_tritons_model_config(config: str) -> None:
    parsed = text_format.Parse((ROOT / config).read_text(), model_config_pb2.ModelConfig())
    assert parsed.name, "a model config names its model"
    assert parsed.backend or parsed.platform, "a model config names its backend"


def test_a_misspelt_field_is_refused() -> None:
    """The check above can fail: Triton's schema refuses what Triton would refuse."""
    text = (ROOT / KNOWN_CONFIGS[0]).read_text().replace("max_batch_size", "max_batch", 1)
    with pytest.raises(text_format.ParseError, match="max_batch"):
        text_format.Parse(text, model_config_pb2.ModelConfig())
