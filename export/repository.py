"""Writes model versions into a Triton model repository.

A version folder holds everything needed to serve and decode that version:
  model.onnx            the graph (both backends read this name)
  model.py              the Python-backend runner (local / CI serving)
  *_categories.json ... the four label files, sub_to_main.json, priority_severity.json
  tokenizer.json ...    the fast tokenizer the gateway loads
  calibration.json      per-head temperatures and the escalation operating point (optional)
  metadata.json         source, hash, settings, precision, parity figures, date
Versions are numbered from the highest existing number (never by counting folder
entries), and written into a temporary folder that is renamed into place, so a polling
Triton never sees a half-written version.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from helpline_model.calibration import CALIBRATION_FILE
from helpline_model.layout import (
    DEFAULT_MODEL_NAME,
    DEFAULT_REPOSITORY,
    METADATA_FILE,
    PROJECT_ROOT,
    SEVERITY_FILE,
    SUB_TO_MAIN_FILE,
)

__all__ = ["DEFAULT_MODEL_NAME", "DEFAULT_REPOSITORY", "PROJECT_ROOT"]
PYTHON_MODEL_TEMPLATE = Path(__file__).with_name("triton_python_model.py")


def model_dir(repository: Path, model_name: str) -> Path:
    return repository / model_name


def versions(repository: Path, model_name: str) -> list[int]:
    folder = model_dir(repository, model_name)
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit())


def latest_version(repository: Path, model_name: str) -> int | None:
    found = versions(repository, model_name)
    return found[-1] if found else None


def ensure_model_configs(repository: Path, model_name: str) -> None:
    """Copy the committed configs into a new repository (e.g. a test's temporary one)."""
    target = model_dir(repository, model_name)
    source = model_dir(DEFAULT_REPOSITORY, DEFAULT_MODEL_NAME)
    if (target / "config.pbtxt").is_file():
        return
    target.mkdir(parents=True, exist_ok=True)
    for config in [source / "config.pbtxt", *sorted((source / "configs").glob("*.pbtxt"))]:
        dest = target / config.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        text = config.read_text()
        if model_name != DEFAULT_MODEL_NAME:
            text = text.replace(f'name: "{DEFAULT_MODEL_NAME}"', f'name: "{model_name}"')
        dest.write_text(text)


def write_version(
    repository: Path,
    model_name: str,
    onnx_path: Path,
    checkpoint_folder: Path,
    metadata: dict,
    version: int | None = None,
    *,
    severity: dict | None = None,
    calibration: dict | None = None,
) -> Path:
    """`severity`: the version's priority_severity.json content (helpline_model/severity.py); when
    None, the checkpoint's own file is copied if it has one. `calibration`: the version's
    calibration.json content (helpline_model/calibration.py); None: the checkpoint's own file,
    if any (without one the version is served uncalibrated)."""
    from helpline_model.checkpoint import copy_tokenizer_files
    from helpline_model.layout import LABEL_FILES

    ensure_model_configs(repository, model_name)
    if version is None:
        version = (latest_version(repository, model_name) or 0) + 1
    final = model_dir(repository, model_name) / str(version)
    if final.exists():
        raise FileExistsError(f"version {version} of {model_name} already exists: {final}")
    staging = final.with_name(f".{version}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        shutil.copy2(onnx_path, staging / "model.onnx")
        shutil.copy2(PYTHON_MODEL_TEMPLATE, staging / "model.py")
        copied = [*LABEL_FILES.values(), SUB_TO_MAIN_FILE]
        if severity is None:
            copied.append(SEVERITY_FILE)
        else:
            (staging / SEVERITY_FILE).write_text(json.dumps(severity, indent=1))
        if calibration is None:
            copied.append(CALIBRATION_FILE)
        else:
            (staging / CALIBRATION_FILE).write_text(json.dumps(calibration, indent=1))
        for name in copied:
            if (checkpoint_folder / name).is_file():
                shutil.copy2(checkpoint_folder / name, staging / name)
        copy_tokenizer_files(checkpoint_folder, staging)
        (staging / METADATA_FILE).write_text(json.dumps({**metadata, "version": version}, indent=2))
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final
