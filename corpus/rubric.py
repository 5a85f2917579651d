"""The priority rubric as a rule table: what the generator cites when it fixes a priority.

The words are in docs/priority-rubric.md; each rule id there is a key here, and the test
suite checks that the two agree. The level of a case follows the child's situation at the
time of the call, not the words used to tell it.
"""

from __future__ import annotations

from typing import NamedTuple


class Rule(NamedTuple):
    level: str  # "high", "medium" or "low"
    summary: str


RULES: dict[str, Rule] = {
    "H1": Rule("high", "violence or sexual abuse ongoing or imminent; child reachable by abuser"),
    "H2": Rule("high", "self-harm or suicide in progress, planned or with means at hand"),
    "H3": Rule("high", "medical emergency: severe acute malnutrition, untreated serious injury"),
    "H4": Rule("high", "abduction, trafficking, exploitation or child marriage under way"),
    "H5": Rule("high", "locked in, chained, tied up, abandoned or no safe place tonight"),
    "M1": Rule("medium", "harm happened, the abuser no longer has access, child needs support"),
    "M2": Rule("medium", "ongoing neglect, bullying, exclusion or labour, no immediate danger"),
    "M3": Rule("medium", "custody or maintenance dispute, moderate malnutrition, care gaps"),
    "L1": Rule("low", "information request: reporting, the law, services, fees"),
    "L2": Rule("low", "awareness talk, research or school question about abuse"),
    "L3": Rule("low", "past event; the child is now safe and supported"),
    "L4": Rule("low", "general parenting or everyday advice; no child at risk"),
}

LEVEL_CODE: dict[str, str] = {"high": "h", "medium": "m", "low": "l"}


def level_code(rule: str) -> str:
    """The priority code ("h", "m", "l") a rule decides."""
    return LEVEL_CODE[RULES[rule].level]
