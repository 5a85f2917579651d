"""The demo model's cleaned label taxonomy.

The production checkpoint's vocabularies (see the shared reference) carry defects that a
serving stack must tolerate but a model we train ourselves should not learn:

* case-duplicates ("Legal Issues" / "Legal issues", "School Related Issues" /
  "School related issues") that the production sub -> main map even sends to different mains;
* near-duplicates ("Student/ Teacher Relationship" / "Relationships (Student/Teacher)",
  "Traditional Practice" / "Harmful Practice");
* an ambiguous "Other".

Here every kept sub-category maps to exactly one of the 7 production main categories, and the
folded legacy names are kept in `LEGACY_SUB_ALIASES` so label cleaning can map old data.
Main categories and interventions keep their exact production names.

Priorities: production stores the integers 1, 2, 3 and its documents disagree on whether 1 or
3 is the most severe, so severity there can only be configuration (`priority_severity.json`).
The demo model avoids the ambiguity with NAMED priorities "high", "medium", "low" and ships
the order explicitly: least -> most severe = ["low", "medium", "high"]. A production
checkpoint is served with either ["3", "2", "1"] (if 1 = highest) or ["1", "2", "3"] (if
3 = highest) as its configured order; `production_priority_to_demo` makes the same choice
explicit when legacy labels are cleaned. Nothing infers severity from the label strings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from helpline_model.layout import SEVERITY_FILE, SUB_TO_MAIN_FILE, Labels

MAIN_CATEGORIES: tuple[str, ...] = (
    "Advice and Counselling",
    "Child Maintenance & Custody",
    "Disability",
    "GBV",
    "Information",
    "Nutrition",
    "VANE",
)

INTERVENTIONS: tuple[str, ...] = (
    "Awareness/Information Provided",
    "Counselling",
    "No intervention needed",
    "Referral",
    "Signposting",
)

SEVERITY_ORDER: tuple[str, ...] = ("low", "medium", "high")
ESCALATION_THRESHOLD = 0.5

# Kept sub-categories -> main. Follows the production sub_to_main.json wherever it is
# consistent; each deviation is commented.
SUB_TO_MAIN: dict[str, str] = {
    # Advice and Counselling
    "Bullying": "Advice and Counselling",
    "Child in Conflict with the Law": "Advice and Counselling",
    "Discrimination": "Advice and Counselling",
    "Drug/Alcohol Abuse": "Advice and Counselling",
    "Family Relationship": "Advice and Counselling",
    "HIV/AIDS": "Advice and Counselling",
    "Homelessness": "Advice and Counselling",
    "Missing Child": "Advice and Counselling",
    "Peer Relationships": "Advice and Counselling",
    "Physical Health": "Advice and Counselling",
    "Psychosocial/Mental Health": "Advice and Counselling",
    "Relationships (Boy/Girl)": "Advice and Counselling",
    "Relationships (Parent/Child)": "Advice and Counselling",
    # Absorbs "Student/ Teacher Relationship"; both map to Advice and Counselling.
    "Relationships (Student/Teacher)": "Advice and Counselling",
    # Production maps "School Related Issues" to Information but its case-duplicate
    # "School related issues" to Advice and Counselling. Cases about fees, exams and
    # dropping out are advice cases, so the merged label goes to Advice and Counselling
    # (a deviation for the capitalised spelling).
    "School Related Issues": "Advice and Counselling",
    "Self Esteem": "Advice and Counselling",
    "Sexual & Reproductive Health": "Advice and Counselling",
    "Teen Pregnancy": "Advice and Counselling",
    # Child Maintenance & Custody
    "Adoption": "Child Maintenance & Custody",
    "Birth Registration": "Child Maintenance & Custody",
    "Custody": "Child Maintenance & Custody",
    "Foster Care": "Child Maintenance & Custody",
    "Maintenance": "Child Maintenance & Custody",
    "No Care Giver": "Child Maintenance & Custody",
    # Disability
    "Albinism": "Disability",
    "Hearing impairment": "Disability",
    "Hydrocephalus": "Disability",
    "Mental impairment": "Disability",
    "Multiple disabilities": "Disability",
    "Physical impairment": "Disability",
    "Speech impairment": "Disability",
    "Spinal bifida": "Disability",
    "Visual impairment": "Disability",
    # GBV
    "Emotional/Psychological Violence": "GBV",
    "Financial/Economic Violence": "GBV",
    "Forced Marriage Violence": "GBV",
    # Absorbs "Traditional Practice" (production: VANE). The two names describe the same
    # cases; "Harmful Practice" is the standard term and keeps its production main, so
    # the deviation is for the folded "Traditional Practice" only. FGM stays its own
    # VANE sub-category.
    "Harmful Practice": "GBV",
    "Physical Violence": "GBV",
    "Sexual Violence": "GBV",
    # Information
    "Child Abuse": "Information",
    "Child Rights": "Information",
    "Info on Helpline": "Information",
    # Production maps "Legal Issues" to Information and "Legal issues" to Advice and
    # Counselling. The merged label describes requests for legal information, so it stays
    # in Information (a deviation for the lower-case spelling).
    "Legal Issues": "Information",
    # Nutrition
    "Balanced Diet": "Nutrition",
    "Feeding & Food preparation": "Nutrition",
    "Malnutrition": "Nutrition",
    "Obesity": "Nutrition",
    "Stagnation": "Nutrition",
    "Underweight": "Nutrition",
    # VANE
    "Child Abduction": "VANE",
    "Child Labor": "VANE",
    "Child Marriage": "VANE",
    "Child Neglect": "VANE",
    "Child Trafficking": "VANE",
    "Emotional Abuse": "VANE",
    "Female Genital Mutilation": "VANE",
    "OCSEA": "VANE",
    "Physical Abuse": "VANE",
    "Sexual Abuse": "VANE",
    "Unlawful Confinement": "VANE",
}

# Legacy production sub-category -> clean label, for the folded duplicates.
LEGACY_SUB_ALIASES: dict[str, str] = {
    "Legal issues": "Legal Issues",
    "School related issues": "School Related Issues",
    "Student/ Teacher Relationship": "Relationships (Student/Teacher)",
    "Traditional Practice": "Harmful Practice",
}

# "Other" says nothing about the case and cannot be mapped to one main category, so rows
# carrying it are dropped rather than guessed.
DROPPED_SUB_LABELS: frozenset[str] = frozenset({"Other"})


@dataclass(frozen=True)
class DemoTaxonomy:
    main_categories: tuple[str, ...]
    # Read-only by convention; excluded from hashing because a dict is unhashable.
    sub_to_main: dict[str, str] = field(hash=False)
    interventions: tuple[str, ...]
    priorities: tuple[str, ...]
    severity_order: tuple[str, ...]

    @property
    def sub_categories(self) -> tuple[str, ...]:
        return tuple(sorted(self.sub_to_main))

    def subs_of(self, main: str) -> list[str]:
        return sorted(sub for sub, m in self.sub_to_main.items() if m == main)


DEMO_TAXONOMY = DemoTaxonomy(
    main_categories=MAIN_CATEGORIES,
    sub_to_main=SUB_TO_MAIN,
    interventions=INTERVENTIONS,
    priorities=tuple(sorted(SEVERITY_ORDER)),
    severity_order=SEVERITY_ORDER,
)


def demo_labels() -> Labels:
    """Head vocabularies in head-index order, built with `sorted()` like production."""
    t = DEMO_TAXONOMY
    return Labels(
        main=sorted(t.main_categories),
        sub=sorted(t.sub_to_main),
        intervention=sorted(t.interventions),
        priority=sorted(t.priorities),
    )


def write_model_extras(folder: Path) -> list[Path]:
    """Write the sub -> main map and the priority severity order into a checkpoint folder."""
    folder.mkdir(parents=True, exist_ok=True)
    sub_to_main = folder / SUB_TO_MAIN_FILE
    sub_to_main.write_text(json.dumps(dict(sorted(SUB_TO_MAIN.items())), indent=1))
    severity = folder / SEVERITY_FILE
    severity.write_text(
        json.dumps(
            {
                "least_to_most_severe": list(SEVERITY_ORDER),
                "escalation_threshold": ESCALATION_THRESHOLD,
            },
            indent=1,
        )
    )
    return [sub_to_main, severity]


def _normalise(label: str) -> str:
    return " ".join(label.split()).casefold()


_BY_NORMALISED: dict[str, str] = {
    **{_normalise(alias): clean for alias, clean in LEGACY_SUB_ALIASES.items()},
    **{_normalise(sub): sub for sub in SUB_TO_MAIN},
}


def clean_sub_label(raw: str) -> str | None:
    """Clean sub-category for a raw (possibly legacy) label; None when it must be dropped.

    Matching ignores case and repeated whitespace, which is how the production
    duplicates differ.
    """
    if _normalise(raw) in {_normalise(d) for d in DROPPED_SUB_LABELS}:
        return None
    return _BY_NORMALISED.get(_normalise(raw))


def production_priority_to_demo(raw: object, *, one_is_most_severe: bool) -> str | None:
    """Demo priority name for a production priority ("1", 2, "2.0"); None for "N/A" etc.

    The caller must say which reading of the integers applies: the production documents
    disagree, so this module refuses to guess.
    """
    try:
        value = float(str(raw).strip())
    except ValueError:
        return None
    if value not in (1.0, 2.0, 3.0):
        return None
    by_rank = ("high", "medium", "low") if one_is_most_severe else ("low", "medium", "high")
    return by_rank[int(value) - 1]
