"""The priority severity order a model version ships (`priority_severity.json`).

The production checkpoint stores priorities as the integers 1, 2, 3 and documents their
meaning both ways, so which one is most severe is the operator's decision: given at export
(`helpline-export export --severity-order 1,2,3`, least to most severe) or shipped by the
checkpoint itself. Without either, the version is served with escalation off. The file
format is the one the gateway reads (`client.core.aggregation.Severity.from_json`).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from helpline_model.layout import SEVERITY_FILE

log = logging.getLogger(__name__)

ORDER_KEY = "least_to_most_severe"
THRESHOLD_KEY = "escalation_threshold"
DISABLED = "disabled (no severity order)"


class SeverityOrderError(ValueError):
    """A severity order that does not name each priority label exactly once."""


def parse_severity_order(text: str) -> list[str]:
    """'1,2,3' -> ['1', '2', '3'] (least to most severe); empty entries are an error."""
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not part for part in parts):
        raise SeverityOrderError(
            f"--severity-order {text!r}: give the priority labels least to most severe, "
            "comma-separated, e.g. 1,2,3"
        )
    return parts


def check_severity_order(order: Sequence[str], priority_labels: Sequence[str]) -> None:
    """Each priority label exactly once: unknown, repeated or missing labels are refused."""
    labels = [str(label) for label in priority_labels]
    order = [str(level) for level in order]
    problems = []
    if unknown := [level for level in dict.fromkeys(order) if level not in labels]:
        problems.append(f"unknown {unknown}")
    if repeated := [level for level, count in Counter(order).items() if count > 1]:
        problems.append(f"repeated {repeated}")
    if missing := [label for label in labels if label not in order]:
        problems.append(f"missing {missing}")
    if problems:
        raise SeverityOrderError(
            f"severity order {order} does not match the checkpoint's priority labels "
            f"{labels}: {'; '.join(problems)}"
        )


def _shipped(folder: Path, priority_labels: Sequence[str]) -> dict | None:
    path = folder / SEVERITY_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get(ORDER_KEY), list):
        raise SeverityOrderError(f"{path}: needs a list under {ORDER_KEY!r}")
    check_severity_order(data[ORDER_KEY], priority_labels)
    return data


def version_severity(
    checkpoint_folder: Path, priority_labels: Sequence[str], order: Sequence[str] | None
) -> dict | None:
    """What the exported version ships: the given order (the checkpoint's escalation
    threshold kept, if it has one), else the checkpoint's own file, else None (escalation
    off). Checked against the priority labels before anything is exported."""
    shipped = _shipped(checkpoint_folder, priority_labels)
    if order is None:
        return shipped
    check_severity_order(order, priority_labels)
    severity: dict = {ORDER_KEY: [str(level) for level in order]}
    if shipped is not None:
        if [str(level) for level in shipped[ORDER_KEY]] != severity[ORDER_KEY]:
            log.warning(
                "--severity-order %s replaces the checkpoint's order %s",
                severity[ORDER_KEY],
                shipped[ORDER_KEY],
            )
        if THRESHOLD_KEY in shipped:
            severity[THRESHOLD_KEY] = shipped[THRESHOLD_KEY]
    return severity


def describe(severity: dict | None) -> str:
    """One line for operators: the order and most severe level, or that escalation is off."""
    if severity is None:
        return DISABLED
    return f"enabled (least to most severe: {' < '.join(map(str, severity[ORDER_KEY]))})"
