"""The production compose file parses and keeps its promises (it cannot run here: no Docker
engine, no GPU)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# What the compose files read from the environment (or .env).
COMPOSE_VARIABLES = (
    "TRIAGE_API_KEYS",
    "TRIAGE_LOG_HASH_KEY",
    "GATEWAY_PUBLISH_ADDRESS",
    "GRAFANA_ADMIN_PASSWORD",
)
# Grafana's admin password is required too (`:?`); every check here sets it, so that the
# outcome depends on the variable under test only.
GRAFANA_PASSWORD = {"GRAFANA_ADMIN_PASSWORD": "placeholder-for-config-check"}


def compose_config(
    binary: str, compose_file: Path, env_file: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    """`docker-compose config -q` with exactly `env` for the variables the file reads: an
    empty --env-file, so that a developer's own .env cannot decide the outcome."""
    env_file.write_text("")
    environment = {k: v for k, v in os.environ.items() if k not in COMPOSE_VARIABLES}
    return subprocess.run(
        [binary, "-f", str(compose_file), "--env-file", str(env_file), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**environment, **GRAFANA_PASSWORD, **env},
    )


def compose_binary() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("CI must validate docker-compose.yml: .ci/run installs docker-compose")
        pytest.skip("docker-compose not installed (Debian package docker-compose)")
    return binary


def test_compose_file_is_valid_for_docker_compose(tmp_path: Path) -> None:
    result = compose_config(
        compose_binary(), ROOT / "docker-compose.yml", tmp_path / "env", TRIAGE_API_KEYS="k"
    )
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_api_keys(tmp_path: Path) -> None:
    for env in ({}, {"TRIAGE_API_KEYS": ""}):
        result = compose_config(
            compose_binary(), ROOT / "docker-compose.yml", tmp_path / "e", **env
        )
        assert result.returncode != 0, env
        assert "set TRIAGE_API_KEYS" in result.stderr, result.stderr


def test_gateway_requires_keys_and_is_published_on_loopback_by_default() -> None:
    gateway = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["gateway"]
    assert_requires_api_keys(gateway["environment"])
    assert gateway["ports"] == ["${GATEWAY_PUBLISH_ADDRESS:-127.0.0.1}:8123:8123"]


def assert_requires_api_keys(environment: dict[str, str]) -> None:
    """`${VAR:?message}`: compose stops with the message when the keys are unset or empty."""
    assert re.fullmatch(r"\$\{TRIAGE_API_KEYS:\?[^}]+\}", environment["TRIAGE_API_KEYS"])


def test_compose_triton_on_gpu_internal_only_with_mounts_and_health() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    triton = compose["services"]["triton"]
    assert "tritonserver" in triton["image"]
    devices = triton["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    assert "./model_repository:/models:ro" in triton["volumes"]
    assert any(v.startswith("trt_cache:/trt_cache") for v in triton["volumes"])
    assert "/v2/health/ready" in " ".join(triton["healthcheck"]["test"])
    assert "ports" not in triton, "Triton must not be published beyond the internal network"
    assert compose["networks"]["internal"]["internal"] is True
    gateway = compose["services"]["gateway"]
    assert gateway["depends_on"]["triton"]["condition"] == "service_healthy"
    assert gateway["environment"]["TRIAGE_TRITON_URLS"] == "triton:8001"


def test_gateway_image_copies_every_project_package_the_gateway_imports() -> None:
    """The image copies folders one by one: a package the gateway starts to import (after a
    move) but the Dockerfile does not copy would fail only when the image starts."""
    project = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, client.http.serve; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=True,
    ).stdout.split()
    needed = {name.split(".")[0] for name in imported} & project
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (ROOT / "Dockerfile.gateway").read_text(), re.M))
    assert needed == copied, f"Dockerfile.gateway copies {sorted(copied)}, needs {sorted(needed)}"
