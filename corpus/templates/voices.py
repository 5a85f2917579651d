"""Word lists for the voices real calls come in: ASR transcripts, code-switching, late
disclosure, and the alarm words an understated case must not use."""

# Words whose presence marks a text as alarming to a keyword reader. Understated cases and
# everything rendered around them (cues, action targets) use none of them; the
# alarming-words trap uses some of them in texts that put no child at risk now.
ALARM_WORDS: frozenset[str] = frozenset({
    "abduct", "abducted", "abduction", "abuse", "abused", "abuser", "abusing", "assault",
    "assaulted", "attack", "attacked", "attacks", "battered", "beat", "beaten", "beating", "danger",
    "dangerous", "dead", "death", "deaths", "defile", "defiled", "defilement", "die", "died",
    "dying", "emergency", "exploitation", "exploited", "harm", "hurt", "kidnap", "kidnapped",
    "kill", "killed", "killing", "killings", "kills", "murder", "murders", "mutilation", "rape",
    "raped", "rapes", "starvation", "starving", "suicidal", "suicide", "threat", "threaten",
    "threatened", "threatens", "threats", "torture", "trafficked", "trafficker", "trafficking",
    "urgent", "urgently", "violence", "violent",
})  # fmt: skip

# --- ASR-style transcripts: lowercase, no punctuation, fillers, repetitions, mishearings.

ASR_FILLERS: tuple[str, ...] = (
    "uh", "um", "eh", "ah", "mm", "you know", "like", "sort of", "i mean", "okay so", "aah",
)  # fmt: skip
# Words an ASR engine tuned on other English hears as something close; only ever swapped
# for words that are not alarm words.
ASR_MISHEARD: dict[str, tuple[str, ...]] = {
    "aunt": ("ant",),
    "born": ("bone",),
    "chief": ("chef",),
    "clinic": ("clinical", "cleaning"),
    "counsellor": ("councillor", "counselor"),
    "fees": ("fish", "peace"),
    "helpline": ("help line",),
    "hospital": ("hospitality", "hostel"),
    "mother": ("mutter", "mada"),
    "neighbour": ("neighbor", "nearby"),
    "pupil": ("people",),
    "school": ("skull", "schul"),
    "son": ("sun",),
    "their": ("there",),
    "to": ("two", "too"),
    "uncle": ("ankle",),
    "week": ("weak",),
    "weak": ("week",),
    "where": ("wear",),
    "boda": ("border",),
    "matatu": ("ma tatu", "matata"),
    "caller": ("collar",),
    "child": ("chide",),
    "stepfather": ("step further",),
    "teacher": ("teach her",),
    "for": ("four", "fo"),
    "know": ("no",),
    "right": ("write",),
    "our": ("hour",),
    "police": ("polis",),
    "children": ("chilren",),
}

# --- Swahili-English code-switching: short Swahili phrases inside English narration.

# (English phrase, Swahili replacements); matched on word boundaries, case-insensitively.
SWAHILI_SWAPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("my mother", ("mama yangu",)),
    ("my father", ("baba yangu",)),
    ("her mother", ("mama yake",)),
    ("his mother", ("mama yake",)),
    ("her father", ("baba yake",)),
    ("his father", ("baba yake",)),
    ("the child", ("mtoto",)),
    ("the children", ("watoto",)),
    ("the girl", ("msichana",)),
    ("the boy", ("kijana",)),
    ("grandmother", ("bibi", "nyanya")),
    ("uncle", ("mjomba",)),
    ("teacher", ("mwalimu",)),
    ("neighbour", ("jirani",)),
    ("school", ("shule",)),
    ("the house", ("nyumba",)),
    ("at home", ("nyumbani",)),
    ("no food", ("hakuna chakula",)),
    ("money", ("pesa",)),
    ("yesterday", ("jana",)),
    ("today", ("leo",)),
    ("tomorrow", ("kesho",)),
    ("but", ("lakini",)),
    ("please", ("tafadhali",)),
    ("thank you", ("asante",)),
    ("okay", ("sawa",)),
    ("the hospital", ("hospitali",)),
    ("the police", ("polisi",)),
    ("the chief", ("chifu",)),
    ("friend", ("rafiki",)),
    ("in the evening", ("jioni",)),
    ("in the morning", ("asubuhi",)),
    ("at night", ("usiku",)),
    ("the market", ("sokoni",)),
    ("the baby", ("mtoto mchanga",)),
    ("water", ("maji",)),
)
# Discourse markers put in front of a sentence.
SWAHILI_OPENERS: tuple[str, ...] = (
    "Sasa,", "Yaani,", "Unajua,", "Kusema kweli,", "Eeh,", "Basi,", "Hata hivyo,", "Ni kwamba",
)  # fmt: skip
# Short asides put after a sentence.
SWAHILI_ASIDES: tuple[str, ...] = (
    "Hali ni ngumu.",
    "Sijui nifanye nini.",
    "Ni hivyo tu.",
    "Mungu atusaidie.",
    "Pole pole.",
    "Si rahisi.",
    "Tunaomba msaada.",
    "Ndiyo hivyo.",
)
# Tokens a code-switched text is recognised by (tests use this).
SWAHILI_TOKENS: frozenset[str] = frozenset(
    word.strip(",.").lower()
    for phrase in (
        *(s for _, options in SWAHILI_SWAPS for s in options),
        *SWAHILI_OPENERS,
        *SWAHILI_ASIDES,
    )
    for word in phrase.split()
)

# --- Dialogue where the decisive fact comes late.

# The caller's first answer: hesitant, or about something else; label-neutral.
PRESENTING: tuple[str, ...] = (
    "I am not sure if this is the right place to call.",
    "It is about {name}. I do not know where to start.",
    "Maybe it is nothing. I just wanted to talk to someone.",
    "I called yesterday but the line was busy.",
    "It is a long story. Let me first tell you about the family.",
    "Everything is fine mostly. I just wanted some advice about {name}.",
    "I was not going to call, but my neighbour said I should.",
    "I only wanted to ask a small question.",
)
# The counsellor's prompt that lets the real reason come out.
LATE_PROBES: tuple[str, ...] = (
    "Is there something else about {name} that is worrying you?",
    "You said there was something more. What is it?",
    "Before we finish, is there anything else going on?",
    "Take your time. What made you call today?",
    "Is that all, or is there something you have not told me yet?",
)
LATE_BRIDGES: tuple[str, ...] = (
    "Actually, there is something else.",
    "Yes. The real reason I called is this.",
    "Okay. I did not want to say it at first.",
    "Eh, there is one more thing.",
    "I will just say it.",
)
