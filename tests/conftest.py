"""Shared fixtures: tiny production-format checkpoints, a model repository exported from
them, and a real `tritonserver` on free loopback ports."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from export.launcher import LocalTriton, TritonOptions
from export.pipeline import export_checkpoint
from export.repository import DEFAULT_MODEL_NAME
from export.tiny import make_tiny_checkpoint, production_labels, production_sub_to_main

MODEL = DEFAULT_MODEL_NAME


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_checkpoint(folder: Path, seed: int) -> Path:
    return make_tiny_checkpoint(
        folder,
        production_labels(),
        seed=seed,
        sub_to_main=production_sub_to_main(),
        severity_order=["1", "2", "3"],
    )


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt-v1"), seed=0)


@pytest.fixture(scope="session")
def tiny_checkpoint_v2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt-v2"), seed=1)


@pytest.fixture(scope="session")
def model_repository(
    tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path, tiny_checkpoint_v2: Path
) -> Path:
    """Version 1 (fp32) from one checkpoint, version 2 (fused fp32) from another."""
    repo = tmp_path_factory.mktemp("model_repository")
    export_checkpoint(str(tiny_checkpoint), repo, MODEL, "fp32")
    export_checkpoint(str(tiny_checkpoint_v2), repo, MODEL, "fp32-opt")
    return repo


def start_triton(repository: Path, log_file: Path) -> LocalTriton:
    options = TritonOptions(
        repository=repository,
        http_port=free_port(),
        grpc_port=free_port(),
        metrics_port=free_port(),
        log_file=log_file,
    )
    triton = LocalTriton(options).start()
    try:
        triton.wait_ready(120)
    except Exception:
        triton.stop()
        raise
    return triton


@pytest.fixture(scope="session")
def triton(
    model_repository: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalTriton]:
    server = start_triton(model_repository, tmp_path_factory.mktemp("logs") / "triton.log")
    yield server
    server.stop()
