"""Seeded synthetic corpus of child-helpline case narratives for the demo model.

The production training data is not reachable, so the demo model trains on narratives that
this module renders from the templates in `corpus.templates` (data only; this module is the
code). What matters for a useful stand-in:

* the labels follow the cleaned demo taxonomy (`helpline_model.taxonomy`), with a plausible joint
  distribution (sexual abuse, trafficking and abduction are mostly high priority and
  referred; nutrition questions are mostly low priority and answered with information);
* priorities follow the written rubric (docs/priority-rubric.md, `corpus.rubric.RULES`): the
  child's situation at the time of the call decides, not the words used to tell it;
* the decisive content (what happened, how urgent it is, what the counsellor did) is what
  determines the labels, and it sits at the start, middle or end of label-neutral filler, so
  a chunked long-text classifier must find it wherever it is;
* the voices real calls come in (`style`): counsellor notes, written narratives, dialogues,
  ASR transcripts, Swahili-English code-switching, and dialogues where the decisive fact
  comes late; and two traps (`trap`): urgent cases told without alarm words, and calm cases
  full of frightening words;
* the lengths resemble production (mean about 340 words, tail to about 1,300, many texts
  longer than 512 wordpieces), or are short for fast CPU training;
* a small amount of label noise, like human annotation: a sub-category swapped with its
  near-synonym in the other main category, or an intervention / priority redrawn.

Everything is deterministic for a given seed: one `random.Random` drives every choice.
Texts are factual and non-graphic, in the register of a counsellor's case notes.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from corpus.rubric import level_code
from corpus.spec import INTERVENTION_CODES, PRIORITY_CODES, Case, SubSpec
from corpus.templates import MAIN_INFO, MAIN_REFERRAL, MAIN_SIGNPOST, SUB_SPECS
from corpus.templates.calls import (
    ACTIONS_DIALOGUE,
    ACTIONS_NARRATIVE,
    ACTIONS_NOTE,
    CALLER_REPLIES,
    CALLER_SMALL_TALK,
    CLOSING_NARRATIVE,
    COUNSELLOR_ACK,
    COUNSELLOR_OPENINGS,
    COUNSELLOR_PROMPTS,
    CUES_DIALOGUE,
    CUES_NARRATIVE,
    CUES_NOTE,
    DIALOGUE_CLOSINGS,
    DIALOGUE_FILLER,
    INTRO_DIALOGUE,
    INTRO_NARRATIVE,
    NARRATIVE_FILLER,
    NOTE_PREFIXES,
    REPORTED,
    SYNONYMS,
)
from corpus.templates.slots import BOY_NAMES, CALLER_TYPES, GIRL_NAMES, POOLS
from corpus.templates.voices import (
    ALARM_WORDS,
    ASR_FILLERS,
    ASR_MISHEARD,
    LATE_BRIDGES,
    LATE_PROBES,
    PRESENTING,
    SWAHILI_ASIDES,
    SWAHILI_OPENERS,
    SWAHILI_SWAPS,
)
from helpline_model.taxonomy import SUB_TO_MAIN

# How a case is told. note / narrative: a counsellor's written record; dialogue: a
# transcript with speaker labels; asr: a speech-recognition transcript of the call (one
# line, lowercase, no punctuation, fillers, repetitions, misheard words); code_switch: a
# narrative or dialogue with Swahili phrases mixed in; late_disclosure: a dialogue in which
# the caller first talks around the matter and the decisive fact comes near the end.
STYLES: tuple[str, ...] = (
    "note",
    "narrative",
    "dialogue",
    "asr",
    "code_switch",
    "late_disclosure",
)
# What the content does to a keyword reader, independent of the style. none: the usual
# templates; understated: an urgent case (a high rubric rule) told without alarm words;
# alarming_words: frightening words in a case that puts no child at risk now (a low rule).
TRAPS: tuple[str, ...] = ("none", "understated", "alarming_words")
POSITIONS: tuple[str, ...] = ("start", "middle", "end")
LENGTH_PROFILES: tuple[str, ...] = ("production", "short")
SPLITS: tuple[str, ...] = ("train", "validation", "test")

# Label noise rates. Small on purpose: the text must still decide the label for almost
# every row, but a model should not be able to reach 100% by memorising templates.
# Trap rows carry no priority noise: their priority is the point of the row.
SUB_NOISE = 0.03
INTERVENTION_NOISE = 0.04
PRIORITY_NOISE = 0.04
# How often the narrative states the urgency explicitly (the rubric level's deciding fact);
# otherwise only the facts (and the sub-category's usual priority) carry it, as in real
# notes. Understated rows never carry a cue: a cue would be the alarm they must not sound.
URGENCY_CUE_RATE = 0.75
ALARMING_CUE_RATE = 0.3
# Of the rows of a sub-category that has such cases, the share drawn from its understated
# (resp. alarming-words) cases.
UNDERSTATED_RATE = 0.3
ALARMING_RATE = 0.25
# How the counsellor answers a trap row: an urgent case is acted on today (rubric: high
# means someone must act today); a calm one is answered with information or support.
TRAP_IV: dict[str, dict[str, float]] = {
    "understated": {"R": 8.5, "S": 0.8, "C": 0.7},
    "alarming_words": {"A": 6, "C": 1.5, "S": 1.5, "N": 1},
}
# ASR: per-word rates of a misheard word (for words with a known confusion), a filler
# before the word and a repeated word.
ASR_MISHEAR_RATE = 0.3
ASR_FILLER_RATE = 0.05
ASR_REPEAT_RATE = 0.03
# Code-switching: per-occurrence rate of a Swahili swap, and of an aside after a sentence.
SWAHILI_SWAP_RATE = 0.5
SWAHILI_ASIDE_RATE = 0.2
# A speaker's label at the start of a dialogue turn.
_SPEAKER = re.compile(r"^(Counsellor|Caller): ")
# Alarm words as a pattern: a target for the counsellor's action that would sound one is
# not used for an understated row.
_ALARM = re.compile(r"\b(" + "|".join(sorted(ALARM_WORDS)) + r")\b", re.IGNORECASE)
_SWAPS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(
    # Whole words only, and not inside a compound ("school-going" stays English).
    (re.compile(r"(?<![\w-])" + re.escape(english) + r"(?![\w-])", re.IGNORECASE), options)
    for english, options in SWAHILI_SWAPS
)


@dataclass(frozen=True)
class LengthProfile:
    """Style mix and a log-normal target length (words) for narratives and dialogues."""

    styles: dict[str, float]
    median_words: float
    sigma: float
    min_words: int
    max_words: int
    # Dialogue filler repeats quickly, and real transcripts in the source data are
    # shorter than the longest narratives.
    max_dialogue_words: int
    two_decisive_rate: float


PROFILES: dict[str, LengthProfile] = {
    # Production: mean about 340 words, tail to about 1,300; many texts above 512 tokens.
    "production": LengthProfile(
        styles={
            "note": 0.08,
            "narrative": 0.46,
            "dialogue": 0.18,
            "asr": 0.10,
            "code_switch": 0.10,
            "late_disclosure": 0.08,
        },
        median_words=320,
        sigma=0.55,
        min_words=60,
        max_words=1300,
        max_dialogue_words=900,
        two_decisive_rate=0.45,
    ),
    # Short: mostly under 120 words, for fast CPU training and smoke runs.
    "short": LengthProfile(
        styles={
            "note": 0.28,
            "narrative": 0.26,
            "dialogue": 0.12,
            "asr": 0.12,
            "code_switch": 0.12,
            "late_disclosure": 0.10,
        },
        median_words=70,
        sigma=0.35,
        min_words=30,
        max_words=220,
        max_dialogue_words=220,
        two_decisive_rate=0.25,
    ),
}

# ---------------------------------------------------------------------------------------
# Rendering.
# ---------------------------------------------------------------------------------------


class _Slots(dict):
    """Slot values for one case: fixed ones set up front, the rest drawn on first use."""

    def __init__(self, rng: random.Random, fixed: dict[str, str]) -> None:
        super().__init__(fixed)
        self._rng = rng

    def __missing__(self, key: str) -> str:
        if key not in POOLS:
            raise KeyError(f"unknown template slot {{{key}}}")
        value = self._rng.choice(POOLS[key])
        self[key] = value
        return value

    def fill(self, template: str) -> str:
        text = template.format_map(self)
        return text[:1].upper() + text[1:]


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _article(number: int) -> str:
    # "an 8-year-old", "an 11-year-old": the article follows the spoken number.
    return "an" if number in (8, 11, 18) else "a"


def _age_slots(age: int, months: int, girl: bool) -> dict[str, str]:
    noun = "girl" if girl else "boy"
    if age == 0:
        return {
            "age": f"{months} months",
            "age_text": f"{months} months old",
            "child": f"{_article(months)} {months}-month-old baby {noun}",
        }
    slots = {
        "age": str(age),
        "age_text": f"{age} years old" if age > 1 else "one year old",
        "child": f"{_article(age)} {age}-year-old {noun}",
    }
    # School filler must match the age (primary grades, then secondary forms).
    if age >= 14:
        slots["class_level"] = ("Form One", "Form Two", "Form Three", "Form Four")[
            min(age, 17) - 14
        ]
        slots["school"] = "a day secondary school"
    elif age >= 6:
        slots["class_level"] = f"Grade {age - 5}"
        slots["school"] = "the local primary school"
    return slots


def _case_slots(
    rng: random.Random, spec: SubSpec, caller_type: str, main: str
) -> tuple[_Slots, int]:
    girl = spec.gender == "f" if spec.gender else rng.random() < 0.55
    age = rng.randint(*spec.ages)
    fixed = {
        "name": rng.choice(GIRL_NAMES if girl else BOY_NAMES),
        "he": "she" if girl else "he",
        "He": "She" if girl else "He",
        "him": "her" if girl else "him",
        "his": "her" if girl else "his",
        "His": "Her" if girl else "His",
        "himself": "herself" if girl else "himself",
        "boy_girl": "girl" if girl else "boy",
        "partner": "boyfriend" if girl else "girlfriend",
        "partner_candidate": "boy" if girl else "girl",
        # The child a child caller calls about is the named child.
        "sibling": "sister" if girl else "brother",
        "greeting_time": rng.choice(("morning", "afternoon", "evening")),
        **_age_slots(age, rng.randint(4, 11), girl),
    }
    caller_female = rng.random() < 0.6
    if caller_type == "parent":
        caller_parent = spec.caller_parent or rng.choice(("mother", "mother", "father"))
        caller_female = caller_parent == "mother"
        fixed["caller_parent"] = caller_parent
        # Templates that mention a parent mean the other one when a parent calls.
        fixed["parent"] = "father" if caller_female else "mother"
        fixed["caller_short"] = caller_parent
    elif caller_type == "relative":
        relative = rng.choice(POOLS["relative"])
        fixed["relative"] = relative
        caller_female = relative in ("aunt", "grandmother") or (
            relative == "older cousin" and caller_female
        )
        fixed["caller_short"] = relative
    else:
        fixed["caller_short"] = {
            "child": "child",
            "neighbour": "neighbour",
            "teacher": "teacher",
            "community": "CHV",
        }[caller_type]
    fixed["he_c"] = "she" if caller_female else "he"
    fixed["his_c"] = "her" if caller_female else "his"
    slots = _Slots(rng, fixed)
    # Action targets may themselves contain slots ("the children's office in {town}").
    slots["referral"] = slots.fill(rng.choice(spec.referral or MAIN_REFERRAL[main]))
    slots["signpost"] = slots.fill(rng.choice(spec.signpost or MAIN_SIGNPOST[main]))
    slots["info"] = slots.fill(rng.choice(spec.info or MAIN_INFO[main]))
    for key in ("referral", "signpost", "info"):
        slots[key] = slots[key][:1].lower() + slots[key][1:]
    return slots, age


def _caller_type(rng: random.Random, age: int) -> str:
    weights = dict(CALLER_TYPES)
    if age < 6:
        # Infants do not phone in, and have no teacher.
        weights.pop("child")
        weights.pop("teacher")
    return _weighted(rng, weights)


_CALLER_VERBS: dict[str, str] = {
    "asks": "I want to ask",
    "asked": "I wanted to ask",
    "wants": "I want",
    "wanted": "I wanted",
    "found": "I found",
    "has": "I have",
    "is": "I am",
    "was": "I was",
    "believes": "I believe",
    "says": "I can say",
}


def _as_speech(sentence: str) -> str:
    """Rewrite a third-person sentence about "the caller" into the caller's own words."""
    words = sentence.split(" ")
    out: list[str] = []
    i = 0
    while i < len(words):
        pair = " ".join(words[i : i + 2]).lower()
        if pair == "the caller's":
            out.append("My" if i == 0 else "my")
            i += 2
            continue
        if pair == "the caller" and i + 2 < len(words) and words[i + 2] in _CALLER_VERBS:
            out.append(_CALLER_VERBS[words[i + 2]])
            i += 3
            continue
        out.append(words[i])
        i += 1
    return " ".join(out)


# ---------------------------------------------------------------------------------------
# Building one case.
# ---------------------------------------------------------------------------------------


@dataclass
class _Draft:
    """A case as a list of units (sentences or dialogue turns); some carry the decision."""

    units: list[str] = field(default_factory=list)
    decisive: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class _Content:
    """What one row says: its decisive sentences' pool and labels, before it is rendered."""

    templates: tuple[str, ...]
    iv: str
    pr: str
    cue: bool
    trap: str


def _filler_tags_to_avoid(spec: SubSpec, age: int) -> frozenset[str]:
    avoid = set(spec.avoid)
    if age < 6:
        avoid.add("school")
    if age < 4:
        avoid.add("child")
    return frozenset(avoid)


def _filler_stream(rng: random.Random, pool: Sequence[object]) -> Iterable[object]:
    """Endless filler: each item once in random order, then again in a new order."""
    while True:
        items = list(pool)
        rng.shuffle(items)
        yield from items


def _insert_at(rng: random.Random, n_filler: int, wanted: str) -> int:
    if wanted == "start":
        return min(n_filler, rng.randint(0, 1))
    if wanted == "end":
        return max(0, n_filler - rng.randint(0, 1))
    spread = max(0, n_filler // 6)
    return n_filler // 2 + rng.randint(-spread, spread)


def _n_words(units: Iterable[str]) -> int:
    return sum(len(unit.split()) for unit in units)


_NAMES: frozenset[str] = frozenset(GIRL_NAMES + BOY_NAMES)


def _vary(rng: random.Random, sentence: str, reported: bool) -> str:
    for phrase, alternatives in SYNONYMS.items():
        if phrase in sentence and rng.random() < 0.5:
            sentence = sentence.replace(phrase, rng.choice(alternatives))
    if reported and rng.random() < 0.3 and not sentence.startswith("The caller"):
        first = sentence.split(" ", 1)[0].split("'", 1)[0]
        if first not in _NAMES:
            sentence = sentence[:1].lower() + sentence[1:]
        sentence = rng.choice(REPORTED) + sentence
    return sentence


def _decisive_sentences(
    rng: random.Random,
    templates: Sequence[str],
    slots: _Slots,
    two_rate: float,
    reported: bool = True,
) -> list[str]:
    count = 2 if len(templates) > 1 and rng.random() < two_rate else 1
    return [_vary(rng, slots.fill(t), reported) for t in rng.sample(list(templates), count)]


def _note(rng: random.Random, content: _Content, slots: _Slots) -> _Draft:
    draft = _Draft()
    if rng.random() < 0.5:
        draft.units.append(slots.fill(rng.choice(NOTE_PREFIXES)))
    draft.decisive.add(len(draft.units))
    draft.units.append(_vary(rng, slots.fill(rng.choice(content.templates)), reported=True))
    if content.cue and rng.random() < 0.6:
        draft.units.append(rng.choice(CUES_NOTE[content.pr]))
    actions = ACTIONS_NOTE[content.iv] if rng.random() < 0.6 else ACTIONS_NARRATIVE[content.iv]
    draft.units.append(slots.fill(rng.choice(actions)))
    return draft


@dataclass(frozen=True)
class _Frame:
    """Everything a long-form builder needs besides the content."""

    slots: _Slots
    caller_type: str
    target: int
    avoid: frozenset[str]
    profile: LengthProfile


def _narrative(rng: random.Random, content: _Content, frame: _Frame) -> _Draft:
    slots = frame.slots
    intro = slots.fill(rng.choice(INTRO_NARRATIVE[frame.caller_type]))
    decisive = _decisive_sentences(rng, content.templates, slots, frame.profile.two_decisive_rate)
    block = list(decisive)
    if content.cue:
        block.append(rng.choice(CUES_NARRATIVE[content.pr]))
    block.append(slots.fill(rng.choice(ACTIONS_NARRATIVE[content.iv])))
    closing = [slots.fill(rng.choice(CLOSING_NARRATIVE))] if rng.random() < 0.6 else []

    pool = [text for tag, text in NARRATIVE_FILLER if tag not in frame.avoid]
    filler: list[str] = []
    used = _n_words([intro, *block, *closing])
    for template in _filler_stream(rng, pool):
        if used >= frame.target:
            break
        sentence = slots.fill(str(template))
        filler.append(sentence)
        used += len(sentence.split())

    at = _insert_at(rng, len(filler), rng.choice(POSITIONS))
    draft = _Draft(units=[intro, *filler[:at]])
    draft.decisive = set(range(len(draft.units), len(draft.units) + len(decisive)))
    draft.units += block + filler[at:] + closing
    return draft


def _turns(slots: _Slots) -> tuple[Callable[[str], str], Callable[[str], str]]:
    def counsellor(text: str) -> str:
        return "Counsellor: " + slots.fill(text)

    def caller(text: str) -> str:
        return "Caller: " + slots.fill(text)

    return counsellor, caller


def _filler_exchanges(rng: random.Random, frame: _Frame, used: int) -> list[tuple[str, str]]:
    """Label-neutral question-and-answer pairs until the dialogue reaches its length."""
    counsellor, caller = _turns(frame.slots)
    # Exchanges are kept whole so that a question is always followed by its answer.
    pool: list[tuple[str, str]] = [
        (counsellor(q), caller(a)) for tag, q, a in DIALOGUE_FILLER if tag not in frame.avoid
    ]
    pool += [(counsellor(rng.choice(COUNSELLOR_ACK)), caller(s)) for s in CALLER_SMALL_TALK]
    exchanges: list[tuple[str, str]] = []
    for exchange in _filler_stream(rng, pool):
        if used >= min(frame.target, frame.profile.max_dialogue_words):
            break
        exchanges.append(exchange)  # type: ignore[arg-type]
        used += _n_words(exchange)  # type: ignore[arg-type]
    return exchanges


def _dialogue(rng: random.Random, content: _Content, frame: _Frame) -> _Draft:
    slots = frame.slots
    counsellor, caller = _turns(slots)
    opening = [
        counsellor(rng.choice(COUNSELLOR_OPENINGS)),
        caller(rng.choice(INTRO_DIALOGUE[frame.caller_type])),
    ]
    decisive = _decisive_sentences(
        rng, content.templates, slots, frame.profile.two_decisive_rate, reported=False
    )
    block = [
        counsellor(rng.choice(COUNSELLOR_PROMPTS)),
        "Caller: " + " ".join(_as_speech(s) for s in decisive),
    ]
    if content.cue:
        question, answer = CUES_DIALOGUE[content.pr]
        block += [counsellor(question), caller(answer)]
    block.append(counsellor(rng.choice(ACTIONS_DIALOGUE[content.iv])))
    block.append(caller(rng.choice(CALLER_REPLIES)))
    end_counsellor, end_caller = rng.choice(DIALOGUE_CLOSINGS)
    closing = [counsellor(end_counsellor), caller(end_caller)]

    exchanges = _filler_exchanges(rng, frame, _n_words(opening + block + closing))
    at = _insert_at(rng, len(exchanges), rng.choice(POSITIONS))
    draft = _Draft(units=list(opening))
    for exchange in exchanges[:at]:
        draft.units += exchange
    draft.decisive = {len(draft.units) + 1}
    draft.units += block
    for exchange in exchanges[at:]:
        draft.units += exchange
    draft.units += closing
    return draft


def _late_disclosure(rng: random.Random, content: _Content, frame: _Frame) -> _Draft:
    """A dialogue whose caller opens with something else; the decisive fact comes last."""
    slots = frame.slots
    counsellor, caller = _turns(slots)
    opening = [
        counsellor(rng.choice(COUNSELLOR_OPENINGS)),
        caller(rng.choice(INTRO_DIALOGUE[frame.caller_type])),
        counsellor(rng.choice(COUNSELLOR_PROMPTS)),
        caller(rng.choice(PRESENTING)),
    ]
    decisive = _decisive_sentences(
        rng, content.templates, slots, frame.profile.two_decisive_rate, reported=False
    )
    reveal = [
        counsellor(rng.choice(LATE_PROBES)),
        "Caller: " + rng.choice(LATE_BRIDGES) + " " + " ".join(_as_speech(s) for s in decisive),
    ]
    # The call ends soon after the disclosure: the counsellor acts on it.
    after: list[str] = []
    if content.cue and rng.random() < 0.5:
        question, answer = CUES_DIALOGUE[content.pr]
        after += [counsellor(question), caller(answer)]
    after.append(counsellor(rng.choice(ACTIONS_DIALOGUE[content.iv])))

    # All the filler comes before the disclosure: the caller talks around it first.
    exchanges = _filler_exchanges(rng, frame, _n_words(opening + reveal + after))
    draft = _Draft(units=list(opening))
    for exchange in exchanges:
        draft.units += exchange
    draft.decisive = {len(draft.units) + 1}
    draft.units += reveal + after
    return draft


def _asr_unit(rng: random.Random, unit: str) -> str:
    """One turn as a speech recogniser writes it: no speaker, case or punctuation."""
    text = _SPEAKER.sub("", unit).lower().replace("-", " ").replace("/", " ")
    text = re.sub(r"[^a-z0-9\s]", "", text)
    words: list[str] = []
    for word in text.split():
        if word in ASR_MISHEARD and rng.random() < ASR_MISHEAR_RATE:
            word = rng.choice(ASR_MISHEARD[word])
        if rng.random() < ASR_FILLER_RATE:
            words.append(rng.choice(ASR_FILLERS))
        words.append(word)
        if rng.random() < ASR_REPEAT_RATE:
            words.append(word)
    return " ".join(words)


def _asr(rng: random.Random, draft: _Draft) -> _Draft:
    units = [_asr_unit(rng, unit) for unit in draft.units]
    # A transcript starts the way speech does; at least one filler in every transcript.
    units[0] = rng.choice(ASR_FILLERS) + " " + units[0]
    return _Draft(units=units, decisive=draft.decisive)


def _swap(rng: random.Random, match: re.Match[str], options: tuple[str, ...]) -> str:
    if rng.random() >= SWAHILI_SWAP_RATE:
        return match.group(0)
    word = rng.choice(options)
    return word[:1].upper() + word[1:] if match.group(0)[:1].isupper() else word


def _switch_unit(rng: random.Random, unit: str) -> str:
    label = _SPEAKER.match(unit)
    prefix = label.group(0) if label else ""
    body = unit[len(prefix) :]
    for pattern, options in _SWAPS:
        body = pattern.sub(lambda m, o=options: _swap(rng, m, o), body)
    aside = prefix != "Counsellor: " and body.endswith((".", "?"))
    if aside and rng.random() < SWAHILI_ASIDE_RATE:
        body += " " + rng.choice(SWAHILI_ASIDES)
    return prefix + body


def _open_in_swahili(rng: random.Random, unit: str) -> str:
    label = _SPEAKER.match(unit)
    prefix = label.group(0) if label else ""
    body = unit[len(prefix) :]
    first = body.split(" ", 1)[0].split("'", 1)[0]
    if first not in _NAMES and first != "I":
        body = body[:1].lower() + body[1:]
    return prefix + rng.choice(SWAHILI_OPENERS) + " " + body


def _code_switch(rng: random.Random, draft: _Draft) -> _Draft:
    units = [_switch_unit(rng, unit) for unit in draft.units]
    # Caller turns in a dialogue (any sentence in a narrative); one opener at least, so
    # every code-switched text has Swahili in it.
    speakers = [i for i, unit in enumerate(units) if not unit.startswith("Counsellor: ")]
    for i in rng.sample(speakers, min(len(speakers), rng.randint(1, 2))):
        units[i] = _open_in_swahili(rng, units[i])
    return _Draft(units=units, decisive=draft.decisive)


def _position(draft: _Draft) -> str:
    """Where the decisive sentences sit, by the word offset of their centre."""
    offsets = []
    start = 0
    for unit in draft.units:
        offsets.append(start)
        start += len(unit.split())
    first, last = min(draft.decisive), max(draft.decisive)
    end_of_last = offsets[last] + len(draft.units[last].split())
    centre = (offsets[first] + end_of_last) / 2 / max(start, 1)
    if centre < 1 / 3:
        return "start"
    if centre > 2 / 3:
        return "end"
    return "middle"


def _join(draft: _Draft, layout: str, rng: random.Random) -> str:
    if layout == "lines":
        return "\n".join(draft.units)
    if layout == "flat" or _n_words(draft.units) < 150:
        return " ".join(draft.units)
    # Long narratives come in paragraphs of a few sentences, like written case reports.
    paragraphs: list[str] = []
    i = 0
    while i < len(draft.units):
        size = rng.randint(3, 7)
        paragraphs.append(" ".join(draft.units[i : i + size]))
        i += size
    return "\n\n".join(paragraphs)


def _render(rng: random.Random, style: str, content: _Content, frame: _Frame) -> tuple[_Draft, str]:
    """The draft of one case in `style`, and how its units are laid out."""
    if style == "note":
        return _note(rng, content, frame.slots), "flat"
    if style == "narrative":
        return _narrative(rng, content, frame), "paragraphs"
    if style == "dialogue":
        return _dialogue(rng, content, frame), "lines"
    if style == "late_disclosure":
        return _late_disclosure(rng, content, frame), "lines"
    if style == "asr":
        # A recogniser transcribes the call itself, not a counsellor's note of it.
        return _asr(rng, _dialogue(rng, content, frame)), "flat"
    if style == "code_switch":
        if rng.random() < 0.5:
            return _code_switch(rng, _narrative(rng, content, frame)), "paragraphs"
        return _code_switch(rng, _dialogue(rng, content, frame)), "lines"
    raise ValueError(f"unknown style {style!r}")


# ---------------------------------------------------------------------------------------
# Public API.
# ---------------------------------------------------------------------------------------


def _target_words(rng: random.Random, profile: LengthProfile) -> int:
    words = rng.lognormvariate(0.0, profile.sigma) * profile.median_words
    return int(min(profile.max_words, max(profile.min_words, words)))


def _trap(rng: random.Random, spec: SubSpec) -> tuple[str, tuple[Case, ...]]:
    """Whether this row is drawn from the sub-category's understated or alarming cases."""
    draw = rng.random()
    if spec.understated and draw < UNDERSTATED_RATE:
        return "understated", spec.understated
    if spec.alarming and draw >= 1 - ALARMING_RATE:
        return "alarming_words", spec.alarming
    return "none", ()


def _content(rng: random.Random, spec: SubSpec) -> _Content:
    trap, cases = _trap(rng, spec)
    if trap == "none":
        # The usual templates: the level is drawn from the sub-category's prior and, in
        # most rows, stated by a cue sentence (the rubric's time test, `calls.CUES_*`).
        return _Content(
            spec.templates,
            _weighted(rng, spec.iv),
            _weighted(rng, spec.pr),
            rng.random() < URGENCY_CUE_RATE,
            trap,
        )
    case = rng.choice(cases)
    # The case's rubric rule decides the priority (docs/priority-rubric.md).
    return _Content(
        (case.text,),
        _weighted(rng, TRAP_IV[trap]),
        level_code(case.rule),
        trap == "alarming_words" and rng.random() < ALARMING_CUE_RATE,
        trap,
    )


def _quiet(rng: random.Random, slots: _Slots, options: Sequence[str]) -> str:
    calm = [option for option in options if not _ALARM.search(option)]
    text = slots.fill(rng.choice(calm or ["the sub-county children's officer"]))
    return text[:1].lower() + text[1:]


def _quiet_targets(rng: random.Random, slots: _Slots, spec: SubSpec, main: str) -> None:
    """Action targets without alarm words ("violence recovery centre") for understated rows."""
    slots["referral"] = _quiet(rng, slots, spec.referral or MAIN_REFERRAL[main])
    slots["signpost"] = _quiet(rng, slots, spec.signpost or MAIN_SIGNPOST[main])
    slots["info"] = _quiet(rng, slots, spec.info or MAIN_INFO[main])


def _make_row(
    rng: random.Random, spec: SubSpec, profile: LengthProfile, row_id: str
) -> dict[str, object]:
    main = SUB_TO_MAIN[spec.sub]
    age_probe = rng.randint(*spec.ages)
    caller_type = _caller_type(rng, age_probe)
    slots, age = _case_slots(rng, spec, caller_type, main)
    if age < 6 and caller_type in ("child", "teacher"):
        caller_type = "parent"
        slots, age = _case_slots(rng, spec, caller_type, main)
    content = _content(rng, spec)
    if content.trap == "understated":
        _quiet_targets(rng, slots, spec, main)
    style = _weighted(rng, profile.styles)
    target = _target_words(rng, profile)
    frame = _Frame(slots, caller_type, target, _filler_tags_to_avoid(spec, age), profile)
    draft, layout = _render(rng, style, content, frame)
    narrative = _join(draft, layout, rng)

    # Annotation noise: a near-synonym sub-category (its main follows, so labels stay
    # consistent with sub_to_main), or an intervention / priority redrawn from the prior.
    sub, iv, pr = spec.sub, content.iv, content.pr
    if spec.confusable and rng.random() < SUB_NOISE:
        sub = spec.confusable
    if rng.random() < INTERVENTION_NOISE:
        iv = _weighted(rng, spec.iv)
    if content.trap == "none" and rng.random() < PRIORITY_NOISE:
        pr = _weighted(rng, spec.pr)
    return {
        "id": row_id,
        "narrative": narrative,
        "main_category": SUB_TO_MAIN[sub],
        "sub_category": sub,
        "intervention": INTERVENTION_CODES[iv],
        "priority": PRIORITY_CODES[pr],
        "style": style,
        "trap": content.trap,
        "n_words": len(narrative.split()),
        "decisive_position": _position(draft),
    }


def _allocate(n: int, weights: Sequence[float]) -> list[int]:
    """Rows per sub-category: proportional to weight (largest remainder), at least one
    each when n allows, so that every label is covered deterministically."""
    floor = 1 if n >= len(weights) else 0
    rest = n - floor * len(weights)
    total = sum(weights)
    exact = [rest * w / total for w in weights]
    counts = [floor + int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (int(exact[i]) - exact[i], i))
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    return counts


def generate(n: int, seed: int, length_profile: str = "production") -> list[dict]:
    """`n` labelled narratives, identical for identical arguments."""
    if length_profile not in PROFILES:
        raise ValueError(f"length_profile must be one of {sorted(PROFILES)}")
    if n < 0:
        raise ValueError("n must be >= 0")
    profile = PROFILES[length_profile]
    rng = random.Random(seed)
    counts = _allocate(n, [spec.weight for spec in SUB_SPECS])
    plan = [spec for spec, count in zip(SUB_SPECS, counts, strict=True) for _ in range(count)]
    rng.shuffle(plan)

    rows: list[dict] = []
    seen: set[str] = set()
    for i, spec in enumerate(plan):
        row_id = f"syn-{seed}-{i:06d}"
        # Very short notes can coincide; a duplicate text would leak across splits.
        for _ in range(20):
            row = _make_row(rng, spec, profile, row_id)
            if row["narrative"] not in seen:
                break
        seen.add(str(row["narrative"]))
        rows.append(row)
    return rows


def split(
    rows: Sequence[dict], seed: int, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
) -> dict[str, list[dict]]:
    """Train / validation / test, stratified by sub-category.

    Validation (for model selection and early stopping) and test (reported once) are
    separate sets. Each sub-category with at least three rows has one or more rows in each.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError("fractions must be three non-negative numbers summing to 1")
    rng = random.Random(seed)
    groups: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        groups[row["sub_category"]].append(index)
    assigned: dict[str, list[int]] = {name: [] for name in SPLITS}
    for sub in sorted(groups):
        indices = groups[sub]
        rng.shuffle(indices)
        n_val = round(len(indices) * fractions[1])
        n_test = round(len(indices) * fractions[2])
        if len(indices) >= 3:
            n_val = max(n_val, 1) if fractions[1] > 0 else 0
            n_test = max(n_test, 1) if fractions[2] > 0 else 0
        assigned["validation"] += indices[:n_val]
        assigned["test"] += indices[n_val : n_val + n_test]
        assigned["train"] += indices[n_val + n_test :]
    return {name: [rows[i] for i in sorted(assigned[name])] for name in SPLITS}


def write_jsonl(rows: Iterable[dict], path: Path | str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: Path | str) -> list[dict]:
    with Path(path).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _percentiles(values: Sequence[int], points: Sequence[int]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    result = {}
    for p in points:
        rank = (len(ordered) - 1) * p / 100
        low = int(rank)
        high = min(low + 1, len(ordered) - 1)
        result[f"p{p}"] = round(ordered[low] + (ordered[high] - ordered[low]) * (rank - low), 1)
    return result


def stats(rows: Sequence[dict]) -> dict[str, object]:
    """Label counts and length distribution (in whitespace-separated words)."""
    words = [int(row["n_words"]) for row in rows]
    fields = ("main_category", "sub_category", "intervention", "priority", "style", "trap")
    return {
        "rows": len(rows),
        "counts": {
            name: dict(sorted(Counter(row[name] for row in rows).items()))
            for name in (*fields, "decisive_position")
        },
        "words": {
            "mean": round(sum(words) / len(words), 1) if words else 0.0,
            "min": min(words, default=0),
            "max": max(words, default=0),
            **_percentiles(words, (5, 25, 50, 75, 90, 95, 99)),
            # About 1.2 wordpieces per word: above this a text needs more than one
            # 512-token chunk.
            "share_over_420_words": round(sum(w > 420 for w in words) / len(words), 3)
            if words
            else 0.0,
        },
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--length-profile", choices=sorted(PROFILES), default="production")
    parser.add_argument("--out", type=Path, default=Path("data/corpus"))
    args = parser.parse_args(argv)

    rows = generate(args.n, args.seed, args.length_profile)
    parts = split(rows, args.seed)
    for name, part in parts.items():
        write_jsonl(part, args.out / f"{name}.jsonl")
    summary = {
        "n": args.n,
        "seed": args.seed,
        "length_profile": args.length_profile,
        "all": stats(rows),
        **{name: stats(part) for name, part in parts.items()},
    }
    (args.out / "stats.json").write_text(json.dumps(summary, indent=1))
    sizes = ", ".join(f"{name} {len(part)}" for name, part in parts.items())
    print(f"wrote {args.out}: {sizes}; mean {summary['all']['words']['mean']} words")


if __name__ == "__main__":
    main()
