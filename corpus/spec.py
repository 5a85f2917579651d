"""The shapes the template modules fill in: a sub-category's specification and a voice case."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

# Short codes keep the specification tables readable.
INTERVENTION_CODES: dict[str, str] = {
    "A": "Awareness/Information Provided",
    "C": "Counselling",
    "N": "No intervention needed",
    "R": "Referral",
    "S": "Signposting",
}
PRIORITY_CODES: dict[str, str] = {"l": "low", "m": "medium", "h": "high"}


class Case(NamedTuple):
    """A decisive sentence whose priority is fixed by one rule of the priority rubric.

    `rule` is a rule id of `corpus.rubric.RULES` (docs/priority-rubric.md); the row's
    priority is that rule's level, whatever the sub-category's usual priority.
    """

    rule: str
    text: str


@dataclass(frozen=True)
class SubSpec:
    """How to write cases of one sub-category and how they are usually handled.

    `templates` are the decisive sentences (one or two are used per case); `iv` and `pr`
    are relative weights over intervention / priority codes (`pr`: how often each rubric
    level occurs for this sub-category; the row states the level's deciding fact in a cue
    sentence); `avoid` names filler tags that would contradict the case (no "home" filler
    for a homeless child).

    `understated` are urgent cases told without alarm words (a high rule, never an alarm
    word); `alarming` are cases that use frightening words but put no child at risk now
    (a low rule). Rows drawn from them take the rule's priority.
    """

    sub: str
    weight: float
    templates: tuple[str, ...]
    iv: dict[str, float]
    pr: dict[str, float]
    ages: tuple[int, int] = (6, 17)
    gender: str | None = None
    avoid: frozenset[str] = frozenset()
    confusable: str | None = None
    referral: tuple[str, ...] = ()
    signpost: tuple[str, ...] = ()
    info: tuple[str, ...] = ()
    # Set when the templates speak of one parent as the person who calls.
    caller_parent: str | None = None
    understated: tuple[Case, ...] = ()
    alarming: tuple[Case, ...] = ()
