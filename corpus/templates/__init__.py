"""The corpus's templates, as data: one module per main category, plus the shared parts.

* `advice`, `custody`, `disability`, `gbv`, `information`, `nutrition`, `vane`: each main
  category's sub-category specifications (`SPECS`, decisive sentences, usual handling,
  understated and alarming-word cases) and its default action targets;
* `slots`: the values template slots are filled with (names, places, ages' school levels);
* `calls`: label-neutral filler, openings, the counsellor's action and urgency cues;
* `voices`: ASR fillers and mishearings, Swahili phrases, late-disclosure turns, alarm words.

No code here beyond gathering the tables: `corpus.generator` renders them.
"""

from __future__ import annotations

from corpus.spec import SubSpec
from corpus.templates import advice, custody, disability, gbv, information, nutrition, vane

MAIN_MODULES = (advice, custody, disability, gbv, information, nutrition, vane)

SUB_SPECS: tuple[SubSpec, ...] = tuple(spec for module in MAIN_MODULES for spec in module.SPECS)
SPEC_BY_SUB: dict[str, SubSpec] = {spec.sub: spec for spec in SUB_SPECS}
MAIN_REFERRAL: dict[str, tuple[str, ...]] = {m.MAIN: m.REFERRAL for m in MAIN_MODULES}
MAIN_SIGNPOST: dict[str, tuple[str, ...]] = {m.MAIN: m.SIGNPOST for m in MAIN_MODULES}
MAIN_INFO: dict[str, tuple[str, ...]] = {m.MAIN: m.INFO for m in MAIN_MODULES}
