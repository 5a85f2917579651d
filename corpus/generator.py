"""Seeded synthetic corpus of child-helpline case narratives for the demo model.

The production training data is not reachable, so the demo model trains on narratives that
this module generates from templates. What matters for a useful stand-in:

* the labels follow the cleaned demo taxonomy (`helpline_model.taxonomy`), with a plausible joint
  distribution (sexual abuse, trafficking and abduction are mostly high priority and
  referred; nutrition questions are mostly low priority and answered with information);
* the decisive content (what happened, how urgent it is, what the counsellor did) is what
  determines the labels, and it sits at the start, middle or end of label-neutral filler, so
  a chunked long-text classifier must find it wherever it is;
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
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from helpline_model.taxonomy import SUB_TO_MAIN

STYLES: tuple[str, ...] = ("note", "narrative", "dialogue")
POSITIONS: tuple[str, ...] = ("start", "middle", "end")
LENGTH_PROFILES: tuple[str, ...] = ("production", "short")
SPLITS: tuple[str, ...] = ("train", "validation", "test")

# Label noise rates. Small on purpose: the text must still decide the label for almost
# every row, but a model should not be able to reach 100% by memorising templates.
SUB_NOISE = 0.03
INTERVENTION_NOISE = 0.04
PRIORITY_NOISE = 0.04
# How often the narrative states the urgency explicitly; otherwise only the facts (and the
# sub-category's usual priority) carry it, as in real notes.
URGENCY_CUE_RATE = 0.75

# ---------------------------------------------------------------------------------------
# Slot pools. Templates use {slot} names; `_Slots` draws a value the first time a slot is
# used in a row and reuses it, so a child keeps one name and one age within a narrative.
# ---------------------------------------------------------------------------------------

GIRL_NAMES: tuple[str, ...] = (
    "Achieng", "Akinyi", "Amina", "Atieno", "Auma", "Chebet", "Faith", "Halima", "Imani",
    "Jepkoech", "Mercy", "Mwajuma", "Nafula", "Nakato", "Namubiru", "Nansubuga", "Neema",
    "Njeri", "Wanjiru", "Wambui", "Zawadi", "Rehema", "Esther", "Grace", "Aisha", "Khadija",
    "Nekesa", "Adongo", "Apio", "Babirye", "Naliaka", "Moraa", "Kwamboka", "Nyokabi", "Sharon",
    "Winnie", "Lilian", "Agnes", "Jane", "Fatuma",
)  # fmt: skip
BOY_NAMES: tuple[str, ...] = (
    "Amani", "Baraka", "Brian", "Daudi", "Faraji", "Hassan", "Juma", "Kamau", "Kato", "Kiprono",
    "Kipchoge", "Mugisha", "Musa", "Mwangi", "Odhiambo", "Omondi", "Onyango", "Otieno",
    "Ssemwanga", "Tumusiime", "Wafula", "Wekesa", "Kevin", "Dennis", "Collins", "Ibrahim",
    "Kibet", "Okello", "Opio", "Lubega", "Mutua", "Kioko", "Njoroge", "Ouma", "Emmanuel",
    "Joseph", "Peter", "Abdi", "Salim", "Isaac",
)  # fmt: skip
ADULT_NAMES: tuple[str, ...] = (
    "Mama Wanjiku", "Mzee Otieno", "Mrs Nakato", "Mr Mwangi", "Mama Neema", "Bi Mwanaisha",
    "Mr Okello", "Mrs Achieng", "Pastor Kiprono", "Mama Baraka", "Teacher Rose", "Mr Lubega",
)  # fmt: skip
COUNSELLOR_NAMES: tuple[str, ...] = (
    "Lucy", "Brenda", "Joyce", "Kennedy", "Samuel", "Ruth", "Mary", "Eric", "Diana", "Paul",
)  # fmt: skip
PLACES: tuple[str, ...] = (
    "Kibera", "Mathare", "Kawangware", "Mukuru", "Kisumu", "Eldoret", "Nakuru", "Mombasa",
    "Kilifi", "Malindi", "Garissa", "Lodwar", "Kitale", "Kakamega", "Bungoma", "Busia",
    "Machakos", "Kitui", "Homa Bay", "Migori", "Kajiado", "Narok", "Nyeri", "Meru", "Embu",
    "Thika", "Naivasha", "Voi", "Kampala", "Gulu", "Mbarara", "Jinja", "Mbale", "Lira",
    "Masaka", "Arua", "Arusha", "Mwanza", "Dodoma", "Tanga", "Morogoro", "Moshi",
)  # fmt: skip
TOWNS: tuple[str, ...] = (
    "Nairobi", "Mombasa", "Kisumu", "Nakuru", "Eldoret", "Kampala", "Dar es Salaam", "Arusha",
    "Thika", "Mwanza",
)  # fmt: skip

POOLS: dict[str, tuple[str, ...]] = {
    "place": PLACES,
    "place2": PLACES,
    "town": TOWNS,
    "adult_name": ADULT_NAMES,
    "counsellor_name": COUNSELLOR_NAMES,
    "day": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "day2": ("Tuesday", "Wednesday", "Friday", "Saturday"),
    "time_of_day": ("morning", "afternoon", "evening", "late in the evening", "around midday"),
    "parent": ("mother", "father"),
    "relative": ("aunt", "uncle", "grandmother", "grandfather", "older cousin"),
    "n_children": ("two", "three", "four", "five", "six", "seven"),
    "ordinal": ("firstborn", "second born", "third born", "last born"),
    "n_years": ("two", "three", "four", "five", "six"),
    "n_weeks": ("two", "three", "four", "five", "six"),
    "n_days": ("two", "three", "four", "five"),
    "minutes": ("ten", "fifteen", "twenty", "thirty", "forty"),
    "distance": ("two", "three", "four", "five", "six"),
    "amount": ("KSh 2,000", "KSh 3,500", "KSh 5,000", "UGX 50,000", "TSh 40,000"),
    "fees": ("KSh 4,500", "KSh 8,000", "KSh 12,000", "UGX 150,000", "TSh 90,000"),
    "job": (
        "a boda boda rider",
        "a casual labourer",
        "a market trader",
        "a security guard",
        "a mama mboga selling vegetables",
        "a mechanic",
        "a fisherman",
        "a tailor",
        "a matatu driver",
        "a hotel cook",
        "a small-scale farmer",
        "a mason",
    ),  # fmt: skip
    "crop": ("maize and beans", "kale and tomatoes", "cassava", "sweet potatoes", "bananas"),
    "livelihood": ("farming", "fishing", "small businesses", "livestock keeping", "casual work"),
    "area_type": ("rural", "peri-urban", "densely populated informal", "pastoralist", "coastal"),
    "house_type": (
        "two-roomed iron-sheet house",
        "rented single room",
        "mud-walled house",
        "small stone house",
        "rented house in a plot",
    ),  # fmt: skip
    "landmark": (
        "the chief's camp",
        "the main market",
        "a primary school",
        "the bus stage",
        "a borehole",
        "the Catholic church",
        "the mosque",
        "the health centre",
        "a posho mill",
    ),  # fmt: skip
    "school": (
        "a public primary school nearby",
        "the local primary school",
        "a day secondary school",
        "a mixed day school",
        "a community school",
        "the nearby junior school",
    ),  # fmt: skip
    "class_level": (
        "Grade 4",
        "Grade 5",
        "Grade 6",
        "Grade 7",
        "Class 6",
        "Class 7",
        "Form One",
        "Form Two",
        "Form Three",
        "Primary Five",
        "Senior Two",
    ),  # fmt: skip
    "subject": ("mathematics", "English", "Kiswahili", "science", "social studies", "art"),
    "hobby": ("football", "netball", "drawing", "singing in the choir", "athletics", "reading"),
    "language": ("Kiswahili", "English", "a mix of Kiswahili and English", "Luganda", "Dholuo"),
    "faith_place": ("a church", "a mosque", "a small fellowship"),
    "month": ("January", "March", "April", "June", "August", "October", "December"),
}

# Who calls, as (narrative description, how the caller refers to the child in speech).
CALLER_TYPES: dict[str, float] = {
    "child": 0.25,
    "parent": 0.25,
    "relative": 0.12,
    "neighbour": 0.15,
    "teacher": 0.12,
    "community": 0.11,
}

# ---------------------------------------------------------------------------------------
# Sub-category specifications.
# ---------------------------------------------------------------------------------------

# Short codes keep the specification tables readable.
INTERVENTION_CODES: dict[str, str] = {
    "A": "Awareness/Information Provided",
    "C": "Counselling",
    "N": "No intervention needed",
    "R": "Referral",
    "S": "Signposting",
}
PRIORITY_CODES: dict[str, str] = {"l": "low", "m": "medium", "h": "high"}


@dataclass(frozen=True)
class SubSpec:
    """How to write cases of one sub-category and how they are usually handled.

    `templates` are the decisive sentences (one or two are used per case); `iv` and `pr`
    are relative weights over intervention / priority codes; `avoid` names filler tags that
    would contradict the case (no "home" filler for a homeless child).
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


# Per-main defaults for the action sentence's targets, used when a spec gives none.
MAIN_REFERRAL: dict[str, tuple[str, ...]] = {
    "Advice and Counselling": (
        "the school counsellor", "the sub-county children's officer",
        "a youth-friendly clinic", "a partner psychosocial support organisation",
    ),
    "Child Maintenance & Custody": (
        "the sub-county children's officer", "a legal aid clinic",
        "the Department of Children's Services",
    ),
    "Disability": (
        "the county disability services office", "the assessment centre in {town}",
        "a partner organisation supporting children with disabilities",
    ),
    "GBV": (
        "the police gender desk", "the gender-based violence recovery centre",
        "the sub-county children's officer", "a safe house run by a partner organisation",
    ),
    "Information": ("the sub-county children's officer", "a legal aid clinic"),
    "Nutrition": (
        "the nutrition clinic at the county hospital", "a community health volunteer",
        "the outpatient therapeutic programme at the health centre",
    ),
    "VANE": (
        "the police", "the sub-county children's officer",
        "the police gender and children's desk", "a rescue centre",
        "the area chief and the children's officer",
    ),
}  # fmt: skip
MAIN_SIGNPOST: dict[str, tuple[str, ...]] = {
    "Advice and Counselling": (
        "the nearest youth centre", "the guidance and counselling department at school",
        "the local health centre",
    ),
    "Child Maintenance & Custody": (
        "the children's office in {town}", "the chief's office", "a legal aid clinic",
    ),
    "Disability": (
        "the nearest hospital with a therapy unit",
        "the Educational Assessment and Resource Centre", "the county referral hospital",
    ),
    "GBV": (
        "the gender desk at the nearest police station",
        "the GBV recovery centre at the county hospital", "a legal aid clinic",
    ),
    "Information": ("the children's office", "a legal aid clinic", "the chief's office"),
    "Nutrition": ("the nearest maternal and child health clinic", "the local health centre"),
    "VANE": (
        "the nearest police station", "the children's office",
        "the hospital for a medical examination",
    ),
}  # fmt: skip
MAIN_INFO: dict[str, tuple[str, ...]] = {
    "Advice and Counselling": ("where young people can find support", "coping strategies"),
    "Child Maintenance & Custody": ("the procedure and the documents required",),
    "Disability": ("the services available for children with disabilities",),
    "GBV": ("the rights of survivors and how to report violence",),
    "Information": ("the relevant law and how the helpline can help",),
    "Nutrition": ("healthy feeding practices and the main food groups",),
    "VANE": ("child protection and how to report abuse",),
}

ADVICE_SPECS: tuple[SubSpec, ...] = (
    SubSpec(
        "Bullying", 2.5,
        (
            "{name} is being bullied by older pupils at school; they take {his} lunch and "
            "call {him} names every day.",
            "Classmates keep pushing {name} around and mocking {him}, and {he} no longer "
            "wants to go to school.",
            "A group of pupils threatens {name} on the way home and has posted insulting "
            "messages about {him} on a class WhatsApp group.",
            "Other children exclude {name} from games and laugh at {his} accent because the "
            "family moved from {place2}, and the teasing has gone on for weeks.",
            "{name} says a bigger boy in {his} class hits {him} at break time and takes the "
            "pocket money {his} {parent} gives {him}.",
        ),
        {"C": 5, "R": 1.5, "S": 1, "A": 2, "N": 0.5}, {"l": 3.5, "m": 5, "h": 1.5},
        referral=("the head teacher", "the school counsellor"),
        info=("how to report bullying at school", "how to respond to bullying safely"),
    ),
    SubSpec(
        "Child in Conflict with the Law", 1.5,
        (
            "{name} was arrested by police in {place} on suspicion of stealing a phone and is "
            "being held at the police station.",
            "{name} has been charged with assault after a fight at the market, and the family "
            "does not know what will happen in court.",
            "Police picked up {name} during a night patrol and {he} has been held in a cell "
            "with adults for {n_days} days.",
            "{name} was caught breaking into a kiosk with older youths and is due to appear "
            "at the children's court next week.",
        ),
        {"R": 5, "S": 2, "C": 1.5, "A": 1.5}, {"m": 5, "h": 3.5, "l": 1.5},
        ages=(12, 17),
        referral=("the probation officer", "a legal aid clinic", "the children's officer"),
        info=("the rights of a child in police custody", "how the children's court works"),
    ),
    SubSpec(
        "Discrimination", 1.2,
        (
            "{name} is treated differently at home because {he} is a {boy_girl}; the other "
            "children are sent to school while {he} is kept at home.",
            "Teachers seat {name} apart from the other pupils because {his} family came from "
            "a refugee settlement, and {he} feels singled out.",
            "People in the village refuse to let {name} play with their children because of "
            "the family's tribe, and {he} feels rejected.",
            "{name} is sent home from school more often than other pupils, and the caller "
            "believes it is because of the family's religion.",
        ),
        {"C": 4, "A": 2.5, "R": 1.5, "S": 1.5, "N": 0.5}, {"l": 4, "m": 5, "h": 1},
        info=("the right of every child to equal treatment",),
    ),
    SubSpec(
        "Drug/Alcohol Abuse", 2.0,
        (
            "{name} has started smoking bhang with friends near the bus stage and sometimes "
            "comes home drunk.",
            "The caller found {name} sniffing glue, and {he} now sleeps through the day and "
            "has stopped attending classes.",
            "{name} drinks chang'aa with older boys in the evenings and steals money at home "
            "to buy it.",
            "{name} admits to chewing miraa and taking pills bought from a friend, and says "
            "{he} cannot stop.",
        ),
        {"C": 3.5, "R": 3.5, "S": 1.5, "A": 1.5}, {"m": 5.5, "h": 2.5, "l": 2},
        ages=(11, 17),
        referral=("a rehabilitation centre", "the youth-friendly clinic in {town}"),
        signpost=("the nearest rehabilitation centre", "a support group for young people"),
        info=("the effects of drugs and alcohol on young people",),
    ),
    SubSpec(
        "Family Relationship", 3.0,
        (
            "{name}'s parents quarrel all the time and the home is tense; {he} says {he} "
            "cannot concentrate and wants someone to talk to.",
            "Since {his} father remarried, {name} feels left out at home and there are "
            "constant disagreements with the stepmother over chores.",
            "The family has split after a dispute over land between {name}'s father and "
            "his brothers, and {name} is caught in the middle.",
            "{name} feels that nobody in the family listens to {him} since a new baby "
            "arrived, and {he} keeps arguing with {his} siblings.",
        ),
        {"C": 6, "A": 1.5, "S": 1, "R": 1, "N": 0.5}, {"l": 4.5, "m": 4.5, "h": 1},
        info=("ways to resolve conflict at home",),
    ),
    SubSpec(
        "HIV/AIDS", 1.5,
        (
            "{name} was recently told {he} is HIV positive and is struggling to take {his} "
            "ARVs at school without classmates noticing.",
            "The caller wants to know where {name} can be tested for HIV after {his} mother "
            "tested positive.",
            "{name} has stopped taking {his} antiretroviral medicine because {he} is tired of "
            "it, and the clinic says {his} viral load has gone up.",
            "{name} asks whether HIV can be passed on by sharing a cup or a toilet, because a "
            "cousin who lives with them is positive.",
        ),
        {"C": 3.5, "A": 3, "S": 2, "R": 1.5}, {"l": 3.5, "m": 5, "h": 1.5},
        referral=("the comprehensive care clinic", "a youth-friendly clinic"),
        signpost=("the comprehensive care clinic at the health centre",
                  "the nearest HIV testing centre"),
        info=("HIV testing, treatment and adherence", "how HIV is and is not transmitted"),
    ),
    SubSpec(
        "Homelessness", 1.5,
        (
            "{name} has been sleeping on the streets of {town} for three weeks after "
            "leaving home.",
            "{name} and {his} mother were evicted from their room because they could not pay "
            "rent and now sleep on a church veranda.",
            "The caller found {name} spending nights at the bus park and collecting scrap "
            "metal to buy food.",
            "{name} has nowhere to stay since {his} guardian moved away, and {he} sleeps in "
            "an unfinished building.",
        ),
        {"R": 5.5, "S": 2, "C": 1.5, "A": 1}, {"h": 4.5, "m": 4.5, "l": 1},
        ages=(8, 17), avoid=frozenset({"home", "school"}),
        referral=("a rescue centre", "the sub-county children's officer",
                  "a street children's programme"),
        signpost=("a drop-in centre for street children", "the children's office"),
    ),
    SubSpec(
        "Missing Child", 1.5,
        (
            "{name} left for school on {day} morning and has not come home; the family has "
            "searched the whole neighbourhood.",
            "{name} went to fetch water {n_days} days ago and has not been seen since.",
            "{name} disappeared at the market in {place}, and the family has no information "
            "on where {he} is.",
            "{name} has been missing since {day}; {his} phone is off and {his} friends do not "
            "know where {he} went.",
        ),
        {"R": 7, "S": 1.5, "C": 1, "A": 0.5}, {"h": 7, "m": 2.5, "l": 0.5},
        confusable="Child Abduction",
        referral=("the police", "the police and the children's officer"),
        signpost=("the nearest police station to make a missing person report",),
    ),
    SubSpec(
        "Peer Relationships", 1.5,
        (
            "{name} fell out with {his} best friend, and the rest of the group now ignores "
            "{him}.",
            "{name} feels pressure from friends to skip classes and hang around the "
            "shopping centre with them.",
            "{name} finds it hard to make friends at the new school and spends break time "
            "alone.",
            "{name} wants advice on how to handle a friend who keeps borrowing things and "
            "never returns them.",
        ),
        {"C": 7, "A": 1.5, "N": 1, "S": 0.5}, {"l": 6.5, "m": 3, "h": 0.5},
        info=("how to build healthy friendships",),
    ),
    SubSpec(
        "Physical Health", 1.5,
        (
            "{name} has had a fever and a cough for over a week and the family has not been "
            "able to see a doctor.",
            "{name} complains of frequent stomach pains and headaches, and the caller wants "
            "to know which clinic can help.",
            "{name} injured {his} leg playing football, and it is still swollen after several "
            "days.",
            "{name} has a skin rash that keeps coming back, and the caller asks what could "
            "be causing it.",
        ),
        {"S": 4, "R": 2.5, "A": 2.5, "C": 1}, {"l": 3, "m": 5, "h": 2},
        referral=("the county hospital", "the health centre"),
        signpost=("the nearest health centre", "the outpatient clinic at the county hospital"),
        info=("common childhood illnesses and when to seek care",),
    ),
    SubSpec(
        "Psychosocial/Mental Health", 3.0,
        (
            "{name} has become very withdrawn, cries often and says {he} feels hopeless since "
            "the exams.",
            "{name} says {he} sometimes thinks about ending {his} life and does not know who "
            "to talk to.",
            "{name} cannot sleep, has nightmares and panics in crowded places since the road "
            "accident {he} witnessed.",
            "{name} has lost interest in everything, stays alone in the house and has stopped "
            "eating with the family.",
        ),
        {"C": 5.5, "R": 3.5, "S": 1}, {"h": 3.5, "m": 4.5, "l": 2},
        referral=("a psychologist at the county hospital", "the mental health unit in {town}"),
        signpost=("the mental health clinic at the county hospital",),
    ),
    SubSpec(
        "Relationships (Boy/Girl)", 1.5,
        (
            "{name} broke up with {his} {partner} and cannot stop thinking about it, and "
            "{his} schoolwork is suffering.",
            "{name} wants to know how to tell a {partner_candidate} at school that {he} likes "
            "them.",
            "{name}'s {partner} checks {his} phone and gets angry when {he} talks to other "
            "friends, and {he} wonders whether this is normal.",
            "{name} is being pushed by {his} {partner} to start a sexual relationship and "
            "wants advice on how to say no.",
        ),
        {"C": 6.5, "A": 2.5, "N": 0.5, "S": 0.5}, {"l": 6, "m": 3.5, "h": 0.5},
        ages=(13, 17),
        info=("healthy relationships and consent",),
    ),
    SubSpec(
        "Relationships (Parent/Child)", 2.5,
        (
            "{name} says {his} {parent} never listens, and they argue about everything, "
            "especially friends and phone use.",
            "{name}'s {parent} says {name} has become rude and stays out late, and the two no "
            "longer talk.",
            "{name} feels that {his} {parent} compares {him} unfavourably with {his} siblings, "
            "and they have stopped talking.",
            "{name} wants advice on how to tell {his} {parent} about poor exam results without "
            "a fight.",
        ),
        {"C": 6.5, "A": 1.5, "S": 1, "N": 0.5, "R": 0.5}, {"l": 5, "m": 4.5, "h": 0.5},
        info=("positive communication between parents and children",),
    ),
    SubSpec(
        "Relationships (Student/Teacher)", 1.2,
        (
            "{name} says {his} class teacher picks on {him} and called {him} stupid in front "
            "of the whole class.",
            "{name} says a teacher refuses to mark {his} work since {he} questioned a grade.",
            "{name} feels the {subject} teacher dislikes {him} and wants advice on how to "
            "talk to the teacher.",
            "{name} has developed a crush on a young teacher and is unsure how to behave in "
            "class.",
        ),
        {"C": 5.5, "A": 1.5, "R": 1.5, "S": 1.5}, {"l": 4.5, "m": 4.5, "h": 1},
        ages=(10, 17),
        referral=("the head teacher", "the school board"),
        signpost=("the guidance and counselling teacher",),
    ),
    SubSpec(
        "School Related Issues", 2.5,
        (
            "{name} was sent home from school because the family cannot pay fees of {fees}.",
            "{name} is worried about the national exams and has fallen behind after missing "
            "a whole term.",
            "{name} dropped out of school to help at home and now wants to go back.",
            "{name} was suspended from school, and the family does not understand why or how "
            "to get {him} readmitted.",
        ),
        {"A": 3, "C": 3, "S": 2, "R": 1.5, "N": 0.5}, {"l": 4.5, "m": 4.5, "h": 1},
        avoid=frozenset({"school"}),
        referral=("the sub-county education officer", "a bursary programme"),
        signpost=("the area education office", "the constituency bursary office"),
        info=("bursaries and the right to basic education",),
    ),
    SubSpec(
        "Self Esteem", 1.5,
        (
            "{name} feels ugly and worthless and says nobody at school likes {him}.",
            "{name} does not believe {he} can succeed and avoids speaking in class because "
            "{he} is afraid of being laughed at.",
            "{name} compares {himself} to others on social media and feels {he} is never good "
            "enough.",
            "{name} says {he} has no confidence and gives up whenever something is hard.",
        ),
        {"C": 7.5, "A": 1.5, "N": 0.5, "S": 0.5}, {"l": 6.5, "m": 3, "h": 0.5},
        ages=(10, 17),
    ),
    SubSpec(
        "Sexual & Reproductive Health", 1.5,
        (
            "{name} wants to know about the changes in {his} body during puberty and is too "
            "shy to ask at home.",
            "{name} asks how pregnancy happens, about contraception, and where young people "
            "can get accurate information.",
            "{name} has questions about sexually transmitted infections after a health talk "
            "at school.",
            "{name} asks whether it is normal that {his} body is developing later than {his} "
            "classmates'.",
        ),
        {"A": 5, "C": 2.5, "S": 2, "N": 0.5}, {"l": 6, "m": 3.5, "h": 0.5},
        ages=(11, 17),
        signpost=("a youth-friendly clinic",),
        info=("puberty and reproductive health", "contraception and STI prevention"),
    ),
    SubSpec(
        "Teen Pregnancy", 2.0,
        (
            "{name} is three months pregnant and has not told {his} parents.",
            "{name} discovered {he} is pregnant, and the school has asked {him} to stay at "
            "home.",
            "{name} is pregnant by a classmate and is afraid {he} will be chased from home.",
            "{name} is expecting a baby in {month} and wants to know whether {he} can "
            "continue with school.",
        ),
        {"C": 3.5, "R": 3.5, "S": 2, "A": 1}, {"m": 5, "h": 3.5, "l": 1.5},
        ages=(15, 17), gender="f",
        referral=("the antenatal clinic", "the sub-county children's officer"),
        signpost=("the antenatal clinic at the health centre",),
        info=("antenatal care and the school re-entry policy",),
    ),
)  # fmt: skip

CUSTODY_SPECS: tuple[SubSpec, ...] = (
    SubSpec(
        "Adoption", 1.2,
        (
            "The caller wants to know the legal process for adopting {name}, a child the "
            "family has cared for since birth.",
            "A couple in {place} wants to adopt {name}, a baby abandoned at the hospital, and "
            "asks which office handles adoption.",
            "{name}'s aunt asks how she can formally adopt {name} after raising {him} for "
            "several years.",
            "The caller asks whether an informal adoption of {name} needs court papers before "
            "{he} can get a passport.",
        ),
        {"A": 4.5, "S": 3.5, "R": 1.5, "N": 0.5}, {"l": 7.5, "m": 2.5},
        ages=(0, 12),
        signpost=("the children's office in {town}", "an accredited adoption society"),
        info=("the adoption procedure and the role of the court",),
    ),
    SubSpec(
        "Birth Registration", 1.5,
        (
            "{name} does not have a birth certificate, and the school says {he} cannot sit "
            "the exams without one.",
            "The caller asks how to get a late birth certificate for {name}, who was born at "
            "home.",
            "{name}'s birth was never registered because the father refused to be named, and "
            "the mother asks what to do.",
            "The caller wants to know which documents the registrar needs to issue a birth "
            "certificate for {name}.",
        ),
        {"A": 4.5, "S": 4, "R": 1, "N": 0.5}, {"l": 7, "m": 3},
        ages=(0, 15),
        signpost=("the civil registration office in {town}", "the sub-county registrar"),
        info=("late birth registration and the documents required",),
    ),
    SubSpec(
        "Custody", 2.5,
        (
            "{name}'s parents have separated and both want {name} to live with them; the "
            "father took {him} without the mother's consent.",
            "The caller asks how to get legal custody of {name} after the parents divorced.",
            "The father refuses to return {name} after a holiday visit, against the agreement "
            "made at the chief's office.",
            "{name}'s mother and paternal grandmother are in a dispute over who should raise "
            "{name}, and {he} has been moved between homes.",
        ),
        {"R": 3.5, "S": 3, "A": 2, "C": 1.5}, {"m": 5.5, "l": 3, "h": 1.5},
        ages=(1, 15),
        info=("how custody is decided in the children's court",),
    ),
    SubSpec(
        "Foster Care", 1.2,
        (
            "The caller has been fostering {name} for a year and asks how to formalise the "
            "arrangement with the children's office.",
            "{name} lives with a foster family arranged by the church and says {he} is unhappy "
            "there and wants to move.",
            "A family in {place} wants to become foster carers and asks about the "
            "requirements.",
            "{name} was placed with a foster family by the children's officer, and the foster "
            "mother needs support with school fees.",
        ),
        {"A": 3.5, "S": 3, "R": 2.5, "C": 1}, {"l": 5.5, "m": 4, "h": 0.5},
        info=("the requirements for foster care",),
    ),
    SubSpec(
        "Maintenance", 3.5,
        (
            "{name}'s father stopped sending money for {his} upkeep after he remarried, and "
            "the mother cannot pay fees or buy food.",
            "The father of {name} refuses to pay child support and denies that {name} is his "
            "child.",
            "{name}'s mother asks how to get a court order so that the father contributes to "
            "school fees and medical costs.",
            "The father of {name} sends only {amount} a month, which is not enough, and he has "
            "stopped answering calls.",
        ),
        {"R": 3.5, "S": 3.5, "A": 2, "C": 1}, {"m": 5.5, "l": 3.5, "h": 1},
        ages=(3, 17), caller_parent="mother",
        info=("parental responsibility and how to apply for maintenance",),
    ),
    SubSpec(
        "No Care Giver", 2.0,
        (
            "{name} has been living alone with {his} younger siblings since {his} mother died "
            "and their father left.",
            "{name}'s only guardian, {his} grandmother, passed away last month, and no "
            "relative has come forward to take care of {him}.",
            "{name} and {his} siblings were left on their own when their mother went to work "
            "in {town} and never came back.",
            "{name} is an orphan who moves from house to house in the village because nobody "
            "is responsible for {him}.",
        ),
        {"R": 6, "S": 2, "C": 1, "A": 1}, {"h": 4.5, "m": 4.5, "l": 1},
        ages=(3, 16), avoid=frozenset({"home"}),
        referral=("the sub-county children's officer", "a children's home"),
    ),
)  # fmt: skip

DISABILITY_IV: dict[str, float] = {"S": 3.5, "R": 3, "A": 2.5, "C": 1}
DISABILITY_PR: dict[str, float] = {"l": 4.5, "m": 4.5, "h": 1}

DISABILITY_SPECS: tuple[SubSpec, ...] = (
    SubSpec(
        "Albinism", 1.0,
        (
            "{name} has albinism, and the family asks where to get sunscreen and regular eye "
            "checks.",
            "{name}, who has albinism, is teased at school, and the family fears for {his} "
            "safety after threats in the village.",
            "{name} has albinism, sees poorly and burns easily in the sun, and the caller "
            "wants to know what support is available.",
            "{name}'s parents ask how to protect {his} skin and whether {he} can join a "
            "programme for children with albinism.",
        ),
        DISABILITY_IV, DISABILITY_PR,
        ages=(1, 17),
        info=("skin and eye care for children with albinism",),
    ),
    SubSpec(
        "Hearing impairment", 1.2,
        (
            "{name} cannot hear well and does not respond when called, and the caller asks "
            "where {he} can be assessed.",
            "{name} is deaf, and the family wants a school that teaches in sign language.",
            "{name}'s hearing aid broke and the family cannot afford a new one.",
            "Teachers say {name} does not follow lessons, and a health worker suspects "
            "hearing loss.",
        ),
        DISABILITY_IV, DISABILITY_PR,
        ages=(2, 17),
    ),
    SubSpec(
        "Hydrocephalus", 1.0,
        (
            "{name} was born with hydrocephalus and {his} head keeps growing, and the mother "
            "asks where {he} can get a shunt.",
            "{name} has hydrocephalus and had surgery last year, and the caller asks about "
            "follow-up care.",
            "The caller's baby {name} has a swollen head that the doctors diagnosed as "
            "hydrocephalus, and the family cannot afford treatment.",
        ),
        DISABILITY_IV, {"l": 3, "m": 5, "h": 2},
        ages=(0, 6),
        referral=("the neurosurgery clinic at the referral hospital",),
    ),
    SubSpec(
        "Mental impairment", 1.2,
        (
            "{name} has an intellectual disability and learns very slowly, and the school "
            "asks the family to take {him} to a special unit.",
            "{name}, who has an intellectual disability, is kept away from other children "
            "because neighbours mock {him}.",
            "The caller asks where {name} can be assessed for a learning disability.",
            "{name} has a developmental delay and still needs help with simple daily tasks "
            "that other children of {his} age manage.",
        ),
        DISABILITY_IV, DISABILITY_PR,
        ages=(3, 17),
    ),
    SubSpec(
        "Multiple disabilities", 1.0,
        (
            "{name} has cerebral palsy, cannot walk and has difficulty speaking, and the "
            "mother needs help with a wheelchair and therapy.",
            "{name} is deaf and also has a physical disability, and the family asks about a "
            "special school.",
            "{name} has several disabilities from birth, including poor sight and difficulty "
            "moving, and needs care throughout the day.",
        ),
        DISABILITY_IV, DISABILITY_PR,
        ages=(1, 17),
    ),
    SubSpec(
        "Physical impairment", 1.2,
        (
            "{name} lost a leg in an accident and needs an artificial limb to go back to "
            "school.",
            "{name} walks with crutches, and the school has no ramps, so {he} struggles to "
            "reach the classroom.",
            "{name} was born with a club foot, and the family asks where {he} can get "
            "corrective treatment.",
            "{name} needs a wheelchair because {his} legs were weakened by polio.",
        ),
        DISABILITY_IV, DISABILITY_PR,
        ages=(1, 17),
        referral=("the orthopaedic workshop at the county hospital",),
    ),
    SubSpec(
        "Speech impairment", 1.0,
        (
            "{name} stutters badly, and other children laugh whenever {he} speaks.",
            "{name} has not started talking, and the caller asks where to get speech therapy.",
            "{name} was born with a cleft palate, and {his} speech is hard to understand.",
        ),
        DISABILITY_IV, DISABILITY_PR,
        ages=(3, 14),
        signpost=("the speech therapy unit at the county hospital",),
    ),
    SubSpec(
        "Spinal bifida", 1.0,
        (
            "{name} was born with spina bifida and has weak legs, and the family needs help "
            "with therapy.",
            "The caller's newborn has a swelling on the back diagnosed as spina bifida, and "
            "the family is looking for a surgeon.",
            "{name} has spina bifida and needs catheters and regular check-ups that the "
            "family cannot afford.",
        ),
        DISABILITY_IV, {"l": 3, "m": 5, "h": 2},
        ages=(0, 10),
    ),
    SubSpec(
        "Visual impairment", 1.2,
        (
            "{name} cannot see the blackboard and holds books close to {his} face, and the "
            "teacher suspects poor eyesight.",
            "{name} is blind, and the family wants a school for the visually impaired.",
            "{name} needs spectacles, but the family cannot afford them.",
            "{name} has been losing {his} sight over the past year, and the family does not "
            "know where to take {him}.",
        ),
        DISABILITY_IV, DISABILITY_PR,
        ages=(3, 17),
        signpost=("the eye clinic at the county hospital",),
    ),
)  # fmt: skip

GBV_SPECS: tuple[SubSpec, ...] = (
    SubSpec(
        "Emotional/Psychological Violence", 1.5,
        (
            "{name}'s mother is constantly threatened and humiliated by her husband, and "
            "{name} lives in fear at home.",
            "{name}'s father insults {him} daily, saying girls are useless and should not "
            "study, and {name} has become anxious.",
            "{name}'s stepfather threatens to throw {his} mother and the children out "
            "whenever they disagree with him.",
            "{name}'s {partner} threatens to harm {him} if {he} ends the relationship and "
            "controls who {he} talks to.",
        ),
        {"C": 4.5, "R": 3, "S": 1.5, "A": 1}, {"m": 5.5, "h": 2.5, "l": 2},
        confusable="Emotional Abuse",
    ),
    SubSpec(
        "Financial/Economic Violence", 1.5,
        (
            "{name}'s father sold the family land and keeps all the money, leaving {his} "
            "mother and the children without food or school fees.",
            "After {name}'s father died, his brothers took the family's property and chased "
            "{name}'s mother away.",
            "{name}'s mother is not allowed to work, and her husband refuses to give money "
            "for the children's needs.",
            "{name}'s father takes all the money {his} mother earns at the market and leaves "
            "the children without necessities.",
        ),
        {"R": 4, "S": 3, "C": 2, "A": 1}, {"m": 6, "l": 2.5, "h": 1.5},
        referral=("a legal aid clinic", "the police gender desk"),
    ),
    SubSpec(
        "Forced Marriage Violence", 1.5,
        (
            "{name} was beaten by {his} father for refusing to marry an older man chosen by "
            "the family.",
            "{name} ran away after {his} family threatened {him} for refusing an arranged "
            "marriage, and {he} is hiding at a friend's house.",
            "{name} was forced into a marriage last month, and the husband beats {him} "
            "whenever {he} tries to go back home.",
        ),
        {"R": 7.5, "S": 1, "C": 1, "A": 0.5}, {"h": 7.5, "m": 2, "l": 0.5},
        ages=(13, 17), gender="f", confusable="Child Marriage",
    ),
    SubSpec(
        "Harmful Practice", 1.2,
        (
            "{name}'s family wants to take {him} for traditional scarification, and {he} does "
            "not want it.",
            "{name} was accused of witchcraft by relatives after a death in the family and "
            "is being isolated and threatened.",
            "Elders in {place} insist that {name}'s widowed mother be inherited by her late "
            "husband's brother, and the children will be taken away if she refuses.",
            "{name}'s community plans to remove {his} lower teeth as part of a traditional "
            "practice, and {he} is afraid.",
        ),
        {"R": 5.5, "A": 2, "C": 1.5, "S": 1}, {"h": 4.5, "m": 4.5, "l": 1},
        confusable="Female Genital Mutilation",
    ),
    SubSpec(
        "Physical Violence", 2.5,
        (
            "{name}'s father beats {his} mother when he comes home drunk, and {name} was hurt "
            "trying to stop him.",
            "{name} was slapped and kicked by {his} {partner} after an argument.",
            "{name} sees {his} mother being beaten every week, and the children run to the "
            "neighbours at night.",
            "{name}'s mother was attacked by her husband with a panga, and {name} witnessed "
            "it and is afraid to go home.",
        ),
        {"R": 5.5, "C": 2, "S": 2, "A": 0.5}, {"h": 5.5, "m": 4, "l": 0.5},
        confusable="Physical Abuse",
    ),
    SubSpec(
        "Sexual Violence", 2.5,
        (
            "{name} was sexually assaulted by a group of young men on {his} way home from the "
            "market.",
            "{name} was raped by a stranger at a party on {day} night and has not yet been to "
            "hospital.",
            "{name}'s {partner} forced {him} to have sex against {his} will.",
            "A man in {place} sexually assaulted {name} when {he} went to fetch firewood.",
        ),
        {"R": 8.5, "C": 1, "S": 0.5}, {"h": 8.5, "m": 1.5},
        ages=(12, 17), confusable="Sexual Abuse",
        referral=("the gender-based violence recovery centre", "the police gender desk"),
        signpost=("the GBV recovery centre at the county hospital",),
    ),
)  # fmt: skip

INFORMATION_SPECS: tuple[SubSpec, ...] = (
    SubSpec(
        "Child Abuse", 1.5,
        (
            "The caller wants to know what counts as child abuse and how to recognise the "
            "signs.",
            "The caller asks how to report suspected child abuse and what happens after a "
            "report is made.",
            "The caller asks whether caning a child at home counts as child abuse under the "
            "law.",
            "The caller wants information on protecting children from abuse to share with a "
            "women's group in {place}.",
        ),
        {"A": 8, "S": 1, "N": 1}, {"l": 8.5, "m": 1.5},
        info=("the forms of child abuse and how to report it",),
    ),
    SubSpec(
        "Child Rights", 1.5,
        (
            "{name} asks what rights children have and whether {his} parents may stop {him} "
            "from going to school.",
            "The caller wants information on children's rights for a talk at a school "
            "assembly.",
            "{name} asks whether a child has the right to be heard in decisions about where "
            "{he} lives.",
            "The caller asks at what age a child may legally work and what the law says "
            "about it.",
        ),
        {"A": 8, "N": 1, "S": 1}, {"l": 8.5, "m": 1.5},
        ages=(9, 17),
        info=("children's rights under the Children Act",),
    ),
    SubSpec(
        "Info on Helpline", 2.0,
        (
            "The caller wanted to know what the 116 helpline does and whether calls are free.",
            "The caller was checking whether the line works and asked who answers the calls.",
            "The caller asked whether people can call the helpline anonymously and whether "
            "calls are kept confidential.",
            "The caller asked for posters about the helpline to put up at the church and at "
            "the market in {place}.",
        ),
        {"N": 4.5, "A": 5, "S": 0.5}, {"l": 9.5, "m": 0.5},
        info=("the helpline's services, which are free and confidential",),
    ),
    SubSpec(
        "Legal Issues", 1.5,
        (
            "The caller asks how a child can get a lawyer to represent {him} in court.",
            "The caller asks what the law says about the age of criminal responsibility.",
            "The caller wants to know whether a minor can sign a contract to work or rent a "
            "house.",
            "The caller asks how to obtain a protection order and which court handles "
            "children's cases.",
        ),
        {"A": 5, "S": 3, "R": 1.5, "N": 0.5}, {"l": 6, "m": 3.5, "h": 0.5},
        signpost=("a legal aid clinic", "the children's court registry"),
        info=("the relevant law and legal aid services",),
    ),
)  # fmt: skip

NUTRITION_SPECS: tuple[SubSpec, ...] = (
    SubSpec(
        "Balanced Diet", 1.5,
        (
            "The caller asks what foods {name} should eat every day to grow well and stay "
            "healthy.",
            "{name}'s mother wants to know how to prepare balanced meals on a small budget "
            "with beans, greens and ugali.",
            "The caller asks which fruits and vegetables are best for a school-going child.",
            "{name} eats only chips and soda, and the caller asks how to get {him} to eat "
            "vegetables.",
        ),
        {"A": 6.5, "C": 2, "S": 1, "N": 0.5}, {"l": 8.5, "m": 1.5},
        ages=(2, 14),
        info=("a balanced diet and the main food groups",),
    ),
    SubSpec(
        "Feeding & Food preparation", 1.2,
        (
            "The caller asks when to start giving {name} solid food alongside breast milk.",
            "{name}'s mother wants to know how to prepare porridge enriched with groundnuts "
            "for a baby.",
            "The caller asks how to store expressed breast milk and prepare baby food "
            "safely.",
            "{name} refuses to eat, and the caller wants tips on feeding a toddler.",
        ),
        {"A": 6.5, "C": 2.5, "S": 1}, {"l": 8.5, "m": 1.5},
        ages=(0, 3), avoid=frozenset({"school"}),
        info=("complementary feeding and safe food preparation",),
    ),
    SubSpec(
        "Malnutrition", 1.5,
        (
            "{name} has swollen feet and thin hair and is very weak, and a health worker said "
            "{he} is severely malnourished.",
            "{name} has been sick with diarrhoea and is wasting, and the family has had "
            "little food since the harvest failed.",
            "{name} was discharged from a feeding programme but is losing weight again and "
            "looks very weak.",
        ),
        {"R": 5, "S": 3, "A": 1.5, "C": 0.5}, {"h": 4.5, "m": 4.5, "l": 1},
        ages=(0, 8), confusable="Underweight",
    ),
    SubSpec(
        "Obesity", 1.0,
        (
            "{name} is very overweight for {his} age and gets tired when walking short "
            "distances.",
            "The caller is concerned that {name} has gained a lot of weight and eats sweets "
            "and fried food every day.",
            "The doctor told the family that {name} is obese and advised a change of diet "
            "and more exercise.",
        ),
        {"A": 5, "C": 3, "S": 2}, {"l": 7, "m": 3},
        ages=(4, 16),
        info=("healthy eating and physical activity for children",),
    ),
    SubSpec(
        "Stagnation", 1.0,
        (
            "{name} has not gained weight or height for several months according to the "
            "clinic card.",
            "{name} is much shorter than other children of the same age and seems to have "
            "stopped growing.",
            "At the child welfare clinic, {name}'s growth chart has been flat for three "
            "visits in a row.",
        ),
        {"S": 4, "A": 3.5, "R": 2, "C": 0.5}, {"l": 4.5, "m": 5, "h": 0.5},
        ages=(0, 5), avoid=frozenset({"school"}),
    ),
    SubSpec(
        "Underweight", 1.2,
        (
            "{name} weighs much less than other children of {his} age, and the nurse said "
            "{he} is underweight.",
            "{name} is thin and eats only once a day because there is not enough food at "
            "home.",
            "{name} lost weight after an illness, and the caller asks how to help {him} gain "
            "it back.",
        ),
        {"A": 4, "S": 3, "C": 1.5, "R": 1.5}, {"l": 5, "m": 4.5, "h": 0.5},
        ages=(1, 12), confusable="Malnutrition",
    ),
)  # fmt: skip

VANE_SPECS: tuple[SubSpec, ...] = (
    SubSpec(
        "Child Abduction", 1.2,
        (
            "{name} was taken from outside {his} home by a man on a motorbike, and witnesses "
            "saw {him} being forced onto it.",
            "{name}'s father, who does not have custody, took {him} from school without "
            "permission and has switched off his phone.",
            "Strangers lured {name} into a car near the market, and the family has received "
            "a call demanding money.",
            "A relative took {name} to another county without the parents' knowledge and "
            "refuses to bring {him} back.",
        ),
        {"R": 9, "S": 0.5, "C": 0.5}, {"h": 9, "m": 1},
        ages=(1, 16), confusable="Missing Child",
    ),
    SubSpec(
        "Child Labor", 3.0,
        (
            "{name} breaks stones at a quarry every day instead of going to school.",
            "{name} works as a house help in {town} from early morning to late at night "
            "without pay.",
            "{name} herds cattle for a neighbour all day and has not been to school this "
            "term.",
            "{name} sells groundnuts at the bus stage until late at night to support the "
            "family.",
        ),
        {"R": 5.5, "S": 2, "A": 1.5, "C": 1}, {"m": 5.5, "h": 3.5, "l": 1},
        ages=(7, 16), avoid=frozenset({"school"}),
        referral=("the labour officer and the children's officer", "the children's officer"),
    ),
    SubSpec(
        "Child Marriage", 2.5,
        (
            "{name} was married off to a man of about forty in exchange for cattle and has "
            "dropped out of school.",
            "{name}'s parents have received a dowry and plan to marry {him} to an older man "
            "after the harvest.",
            "{name} is being prepared for marriage by {his} family, and the ceremony is set "
            "for next month.",
        ),
        {"R": 8.5, "S": 0.5, "C": 0.5, "A": 0.5}, {"h": 8, "m": 2},
        ages=(12, 17), gender="f", avoid=frozenset({"school"}),
        confusable="Forced Marriage Violence",
    ),
    SubSpec(
        "Child Neglect", 4.0,
        (
            "{name} and {his} siblings are often left alone for days without food while the "
            "parents go drinking.",
            "{name} has a wound that has not been treated for weeks, and the parents refuse "
            "to take {him} to hospital.",
            "{name} is always dirty and hungry and falls asleep in class, and the teacher "
            "says nobody at home looks after {him}.",
            "{name}'s guardians spend the money meant for {his} needs, and {he} has gone "
            "without food and school for months.",
        ),
        {"R": 6, "C": 1.5, "S": 1.5, "A": 1}, {"h": 4.5, "m": 4.5, "l": 1},
        ages=(1, 15),
    ),
    SubSpec(
        "Child Trafficking", 1.5,
        (
            "A woman from the village promised {name} a job in {town}, but {he} is now made "
            "to work without pay and is not allowed to leave.",
            "A man has been recruiting girls in {place} with promises of jobs abroad, and "
            "{name} left with him last week.",
            "{name} was taken across the border with other children and was found working "
            "in a hotel.",
            "A broker took {name} to {town} to work as a maid, and the family has not been "
            "allowed to speak to {him} since.",
        ),
        {"R": 9, "S": 0.5, "C": 0.5}, {"h": 9, "m": 1},
        ages=(10, 17),
        referral=("the police anti-trafficking unit", "the police and the children's officer"),
    ),
    SubSpec(
        "Emotional Abuse", 2.5,
        (
            "{name}'s stepmother constantly tells {him} that {he} is useless and not part of "
            "the family.",
            "{name} is shouted at, threatened and insulted by {his} {parent} every day and "
            "says {he} feels unwanted.",
            "{name}'s guardians blame {him} for every problem at home and threaten to send "
            "{him} away.",
            "{name} is regularly humiliated in front of visitors and compared with {his} "
            "siblings.",
        ),
        {"C": 4.5, "R": 3, "S": 1.5, "A": 1}, {"m": 5.5, "h": 2.5, "l": 2},
        confusable="Emotional/Psychological Violence",
    ),
    SubSpec(
        "Female Genital Mutilation", 1.5,
        (
            "{name} is due to undergo FGM during the school holidays, and {he} has asked for "
            "help.",
            "The community in {place} is preparing a cutting ceremony for a group of girls, "
            "including {name}.",
            "{name} was cut last month and has had health problems since, and the family "
            "hid it from the school.",
            "{name} ran to the head teacher because {his} grandmother has arranged for {him} "
            "to be circumcised.",
        ),
        {"R": 8.5, "A": 0.5, "C": 0.5, "S": 0.5}, {"h": 8.5, "m": 1.5},
        ages=(8, 16), gender="f", confusable="Harmful Practice",
    ),
    SubSpec(
        "OCSEA", 1.5,
        (
            "A man {name} met on Facebook keeps asking {him} for intimate photos and threatens "
            "to share the ones {he} already sent.",
            "Intimate pictures of {name} were shared in a WhatsApp group by someone {he} had "
            "been chatting with online.",
            "An adult {name} met while gaming online sends {him} sexual messages and wants to "
            "meet in person.",
            "Someone is demanding money from {name} after secretly recording a private video "
            "call.",
        ),
        {"R": 7.5, "C": 1.5, "A": 0.5, "S": 0.5}, {"h": 7.5, "m": 2.5},
        ages=(11, 17),
        referral=("the police cybercrime unit", "the police gender and children's desk"),
    ),
    SubSpec(
        "Physical Abuse", 4.0,
        (
            "{name} is beaten with a stick by {his} {parent} and has marks on {his} arms and "
            "back.",
            "{name}'s guardian burnt {his} hand as punishment for losing money.",
            "{name} came to school with a swollen eye and said {his} stepfather had hit {him}.",
            "A teacher caned {name} so hard that {he} could not sit properly for days.",
        ),
        {"R": 6.5, "C": 2, "S": 1, "A": 0.5}, {"h": 6, "m": 3.5, "l": 0.5},
        ages=(3, 16), confusable="Physical Violence",
    ),
    SubSpec(
        "Sexual Abuse", 4.0,
        (
            "{name} told {his} teacher that {his} stepfather has been sexually abusing {him} "
            "when {his} mother is away.",
            "A neighbour has been touching {name} inappropriately and giving {him} money to "
            "keep quiet.",
            "{name} was defiled by an uncle who lives in the same compound, and the family "
            "wants to settle the matter privately.",
            "A teacher has been keeping {name} behind after classes and has sexually abused "
            "{him}.",
        ),
        {"R": 9, "C": 0.7, "S": 0.3}, {"h": 9, "m": 1},
        ages=(4, 16), confusable="Sexual Violence",
        referral=("the police gender and children's desk",
                  "the gender-based violence recovery centre and the police"),
    ),
    SubSpec(
        "Unlawful Confinement", 1.2,
        (
            "{name} has been locked in a room at home for several days by {his} guardian as "
            "punishment.",
            "{name}, who has a disability, is kept locked inside the house all day and is "
            "never allowed out.",
            "{name}'s father keeps the gate padlocked and does not allow {him} out of the "
            "compound, and {he} has missed school for months.",
            "{name} is being held in a store behind a shop by {his} employer and is not "
            "allowed to leave.",
        ),
        {"R": 8.5, "S": 1, "C": 0.5}, {"h": 8, "m": 2},
        ages=(3, 16),
    ),
)  # fmt: skip

SUB_SPECS: tuple[SubSpec, ...] = (
    ADVICE_SPECS
    + CUSTODY_SPECS
    + DISABILITY_SPECS
    + GBV_SPECS
    + INFORMATION_SPECS
    + NUTRITION_SPECS
    + VANE_SPECS
)
SPEC_BY_SUB: dict[str, SubSpec] = {spec.sub: spec for spec in SUB_SPECS}

# ---------------------------------------------------------------------------------------
# Label-neutral filler. Tags let a case exclude filler that would contradict it.
# ---------------------------------------------------------------------------------------

NARRATIVE_FILLER: tuple[tuple[str, str], ...] = (
    ("call", "The call came in on {day} {time_of_day}."),
    ("call", "The line was unclear at times, and the counsellor asked the caller to repeat "
             "some details."),
    ("call", "The caller was using a neighbour's phone and had little airtime left."),
    ("call", "The call dropped once, and the caller called back a few minutes later."),
    ("call", "The caller spoke in {language}, and the counsellor answered in the same "
             "language."),
    ("call", "The counsellor explained that the call was confidential and asked for consent "
             "to take notes."),
    ("call", "The counsellor confirmed a phone number on which the caller could be reached "
             "later."),
    ("call", "The caller took some time before explaining the reason for the call."),
    ("call", "There was noise in the background because the caller was standing near a busy "
             "road."),
    ("call", "The counsellor asked for the child's age and location, and the caller gave "
             "them."),
    ("call", "The caller said {he_c} had heard about the helpline on a local radio station."),
    ("call", "The caller had got the number from a poster at the chief's office."),
    ("call", "The caller apologised for calling late and said {he_c} had been busy all day."),
    ("call", "The counsellor spelled the child's name back to the caller to make sure it was "
             "recorded correctly."),
    ("call", "At one point the caller had to pause the call to attend to a customer."),
    ("call", "The caller asked whether the call would cost anything, and the counsellor said "
             "it would not."),
    ("call", "The caller asked the counsellor to speak slowly because the network kept "
             "breaking."),
    ("call", "The counsellor asked whether it was safe to talk, and the caller said it was."),
    ("place", "The caller was calling from {place}, not far from {landmark}."),
    ("place", "{place} is a {area_type} area, and most families there depend on "
              "{livelihood}."),
    ("place", "The nearest health centre is in {town}, about {minutes} minutes away by "
              "matatu."),
    ("place", "It has been raining heavily in {place}, and some of the roads are hard to "
              "use."),
    ("place", "The caller mentioned that market day in {place} is on {day2}."),
    ("place", "Mobile network in the area is weak, and the caller had to stand outside to get "
              "a signal."),
    ("place", "The area has a borehole that most households share, and the queue is long in "
              "the mornings."),
    ("place", "Boda boda riders are the main means of transport in the village."),
    ("place", "The chief holds a public meeting, a baraza, at {landmark} once a month."),
    ("place", "Electricity reached that part of {place} only last year."),
    ("place", "The nearest police post is a short walk from {landmark}."),
    ("place", "The caller described {place} as a busy area with many rental plots."),
    ("place", "Many young people in the area travel to {town} to look for work."),
    ("place", "There is a church and a small market near the family's home."),
    ("home", "The family lives in a {house_type} near {landmark}."),
    ("home", "{name}'s {parent} works as {job}, and the household depends on that income."),
    ("home", "The family moved to {place} from {place2} about {n_years} years ago."),
    ("home", "The household keeps a few chickens and grows {crop} on a small plot behind "
             "the house."),
    ("home", "Relatives from {place2} usually visit during the December holidays."),
    ("home", "The family attends {faith_place} in {place} every week."),
    ("home", "{name} is the {ordinal} of {n_children} children in the family."),
    ("home", "{name}'s older cousin finished secondary school last year and is looking for "
             "work in {town}."),
    ("home", "The family fetches water from a borehole about a kilometre from the house."),
    ("home", "The house has a small radio, and the family listens to the news in the "
             "evenings."),
    ("home", "{name}'s grandmother lives in {place2} and calls the family on Sundays."),
    ("home", "The family has lived in the same plot for several years and knows the "
             "neighbours well."),
    ("home", "On weekends {name} helps with light chores such as sweeping the compound."),
    ("home", "{name} shares a room with {his} siblings."),
    ("home", "The family uses a charcoal jiko for cooking."),
    ("home", "The caller said the neighbours in the plot are friendly and often greet each "
             "other in the evenings."),
    ("school", "{name} is in {class_level} at {school}."),
    ("school", "{His} favourite subject is {subject}, and {he} enjoys {hobby} after classes."),
    ("school", "The school is about {distance} kilometres from home, and {name} walks there "
               "every morning."),
    ("school", "{name}'s class has more than fifty pupils and one class teacher."),
    ("school", "The school term began {n_weeks} weeks ago."),
    ("school", "{name} usually does homework in the evening by a solar lamp."),
    ("school", "{name} takes part in {hobby} at school on Friday afternoons."),
    ("school", "The school has a small library that {name} sometimes visits."),
    ("child", "{name} is described as a quiet and polite child."),
    ("child", "{name} likes listening to music and playing with the younger children in the "
              "neighbourhood."),
    ("child", "The caller said {name} is a cheerful child who gets along with others."),
    ("child", "{name} enjoys {hobby} and wants to become a teacher one day."),
    ("child", "{name} speaks Kiswahili and a little English."),
    ("child", "{name} likes drawing and often draws pictures of animals."),
    ("child", "{name} wants to be a doctor when {he} grows up."),
    ("child", "{name} has a close friend in the neighbourhood whom {he} plays with most "
              "afternoons."),
    ("child", "{name} goes to Sunday school most weeks."),
    ("child", "{name} is good at helping the younger children with their games."),
    ("child", "{name} likes watching football on a neighbour's television."),
    ("child", "{name} is known in the neighbourhood for being helpful and respectful."),
    ("child", "{name} enjoys telling stories to the younger children."),
    ("child", "{name} has a good singing voice and sings at family gatherings."),
    ("call", "The counsellor thanked the caller for taking the step to call."),
    ("call", "The caller asked how long the call could take, and the counsellor said there "
             "was no hurry."),
    ("call", "The caller had tried to call the previous day but could not get through."),
    ("call", "The caller said {he_c} would prefer to be called back in the evening."),
    ("call", "The counsellor repeated the main points back to the caller to check that they "
             "had been understood."),
    ("place", "The roads in {place} are mostly murram and become muddy when it rains."),
    ("place", "Most people in the village know each other, and news travels fast."),
    ("place", "The caller said {place} is quiet during the day because most adults are at "
              "work."),
    ("place", "A new road is being built through {place}, and there is a lot of dust."),
    ("place", "The local market sells mostly {crop} and second-hand clothes."),
    ("home", "The family has a small kitchen garden where they grow {crop}."),
    ("home", "{name}'s {parent} leaves for work early in the morning and returns in the "
             "evening."),
    ("home", "The house is in a compound shared with three other families."),
    ("home", "{name}'s uncle lives in {town} and sometimes visits during the holidays."),
    ("home", "On Sundays the family usually visits relatives who live nearby."),
    ("school", "{name} usually walks to school with children from the neighbourhood."),
    ("school", "The school has a football pitch where {name} spends the break."),
)  # fmt: skip

CLOSING_NARRATIVE: tuple[str, ...] = (
    "The caller thanked the counsellor at the end of the call.",
    "The counsellor encouraged the caller to call back if anything changes.",
    "The call lasted about {minutes} minutes.",
    "The counsellor recorded the case details in the system.",
    "The caller thanked the counsellor and the call ended.",
)

# Dialogue filler: (tag, counsellor turn, caller turn).
DIALOGUE_FILLER: tuple[tuple[str, str, str], ...] = (
    ("place", "Where are you calling from?", "I am calling from {place}, near {landmark}."),
    ("call", "May I know your name?", "My name is {adult_name}."),
    ("call", "How old is {name}?", "{He} is {age_text}."),
    ("home", "Who does {name} live with?", "{He} lives with {his} parents and {his} siblings "
             "in a {house_type}."),
    ("school", "Does {name} go to school?", "Yes, {he} is in {class_level} at {school}."),
    ("home", "What does the family do for a living?", "{name}'s {parent} works as {job}."),
    ("place", "How far is the nearest health centre?", "It is in {town}, maybe {minutes} "
              "minutes by matatu."),
    ("call", "Is it safe for you to talk now?", "Yes, I am alone now, I can talk."),
    ("call", "How did you hear about this helpline?", "I heard about it on the radio."),
    ("call", "Can I get a number to call you back on?", "Yes, you can use this same number."),
    ("home", "How many children are in the family?", "They are {n_children} children, "
             "{name} is the {ordinal}."),
    ("place", "Is that in the town or in the village?", "It is a {area_type} area, most "
              "people there do {livelihood}."),
    ("child", "What is {name} like as a child?", "{He} is quiet, {he} likes {hobby}."),
    ("school", "What does {name} like at school?", "{His} favourite subject is {subject}."),
    ("call", "Which language are you comfortable with?", "Kiswahili is fine, and a little "
             "English."),
    ("home", "How long have you lived there?", "About {n_years} years, we came from "
             "{place2}."),
    ("place", "Is there a chief's office near you?", "Yes, the chief's camp is not far, "
              "near {landmark}."),
    ("call", "Are you still there? The line is breaking.", "Yes, I am here, can you hear me "
             "now?"),
    ("call", "I can hear you now. Please go on.", "Okay, thank you."),
    ("child", "Does {name} have friends nearby?", "Yes, {he} plays with the neighbours' "
              "children."),
    ("home", "Does the family have relatives nearby?", "Most of them are in {place2}, they "
              "visit in December."),
    ("place", "How do people get around there?", "Mostly boda boda, the matatu stage is a "
              "bit far."),
    ("call", "Is this your own phone?", "No, I borrowed it from a neighbour."),
    ("child", "What does {name} enjoy doing?", "{He} likes drawing and {hobby}."),
    ("home", "Who else lives in the house?", "Just the family, and sometimes a cousin comes "
             "to stay."),
    ("call", "Thank you for waiting. Shall we continue?", "Yes, we can continue."),
)  # fmt: skip

CALLER_SMALL_TALK: tuple[str, ...] = (
    "Sorry, the network here is not good.",
    "Let me move outside, there is a lot of noise here.",
    "I have been wanting to call for some days.",
    "I did not know who else to talk to.",
    "I got this number from a poster at the chief's office.",
    "Sorry, I had to greet someone who was passing.",
    "I hope I am not disturbing you.",
    "It is raining a lot here these days.",
)
CALLER_REPLIES: tuple[str, ...] = (
    "Okay, thank you.",
    "Alright, I will do that.",
    "Thank you, that helps.",
    "Okay. Thank you so much.",
    "Sawa, thank you.",
)
COUNSELLOR_ACK: tuple[str, ...] = (
    "I understand. Please go on.",
    "Take your time.",
    "Thank you for telling me.",
    "Okay, I am listening.",
    "I hear you.",
    "Mm-hm. And then?",
)

# ---------------------------------------------------------------------------------------
# Decisive extras: the counsellor's action (intervention) and the urgency (priority).
# ---------------------------------------------------------------------------------------

ACTIONS_NARRATIVE: dict[str, tuple[str, ...]] = {
    "R": (
        "The counsellor referred the case to {referral} for follow-up.",
        "A referral was made to {referral}, and the caller agreed to be contacted.",
        "The counsellor escalated the case to {referral} and asked them to act on it.",
        "The counsellor contacted {referral}, who agreed to take up the case.",
    ),
    "S": (
        "The counsellor directed the caller to {signpost}.",
        "The caller was advised to go to {signpost} for help.",
        "The counsellor gave the caller the location and contacts of {signpost}.",
        "The counsellor explained that {signpost} can help and told the caller how to get there.",
    ),
    "C": (
        "The counsellor offered counselling and emotional support and helped the caller "
        "think through the next steps.",
        "Counselling was provided, and by the end of the call the caller said {he_c} felt calmer.",
        "The counsellor listened, reassured the caller and discussed ways of coping with the "
        "situation.",
        "The counsellor gave supportive counselling and agreed with the caller on what to do next.",
    ),
    "A": (
        "The counsellor provided information on {info}.",
        "The caller was given information about {info}.",
        "The counsellor explained {info} and answered the caller's questions.",
    ),
    "N": (
        "No intervention was needed because the matter had already been resolved.",
        "The caller only wanted to share an update, so no action was required.",
        "No further action was taken; the caller was satisfied with the conversation.",
    ),
}
ACTIONS_DIALOGUE: dict[str, tuple[str, ...]] = {
    "R": (
        "I am going to refer this case to {referral}. They will contact you and follow up.",
        "I will link you with {referral} today, and we will follow up to make sure {name} "
        "gets help.",
    ),
    "S": (
        "Please go to {signpost}. They can help you with this.",
        "The best place for this is {signpost}. Please go there as soon as you can.",
    ),
    "C": (
        "What you are feeling is understandable. Let us talk through what you can do next.",
        "Let us take it step by step. You are not alone in this, and you can call us again.",
    ),
    "A": (
        "Let me give you some information on {info}.",
        "Here is what you need to know about {info}.",
    ),
    "N": (
        "It sounds like this has already been handled, so there is nothing more we need to do now.",
        "Thank you for checking with us. No further action is needed for now.",
    ),
}
ACTIONS_NOTE: dict[str, tuple[str, ...]] = {
    "R": ("Referred to {referral}.", "Case referred to {referral} for action."),
    "S": ("Signposted to {signpost}.", "Caller advised to visit {signpost}."),
    "C": ("Counselling offered.", "Caller counselled and supported."),
    "A": ("Information given on {info}.", "Caller informed about {info}."),
    "N": ("No intervention needed.", "No action required."),
}

CUES_NARRATIVE: dict[str, tuple[str, ...]] = {
    "h": (
        "The counsellor assessed the situation as an emergency because the child remains at risk.",
        "The caller stressed that this is still happening and that the child is not safe.",
        "The child is in danger and needs help today.",
        "The counsellor flagged the case as urgent because the risk to the child is ongoing.",
    ),
    "m": (
        "The matter needs follow-up, but the child is not in immediate danger.",
        "The problem has gone on for some weeks, and the caller asked for follow-up within "
        "the week.",
        "The counsellor judged that the case needs attention soon, though it is not an emergency.",
    ),
    "l": (
        "There is no immediate risk to the child.",
        "The caller said the matter is not urgent.",
        "The counsellor noted that this is a general concern with no danger to the child.",
    ),
}
CUES_DIALOGUE: dict[str, tuple[str, str]] = {
    "h": ("Is {name} safe right now?", "No, it is still happening. Please help us quickly."),
    "m": ("Is {name} in danger right now?", "Not today, but it has been going on for weeks."),
    "l": ("Is this urgent?", "No, it is not urgent. I just wanted some advice."),
}
CUES_NOTE: dict[str, tuple[str, ...]] = {
    "h": ("Urgent.", "High risk, ongoing."),
    "m": ("Not an emergency, follow-up needed.",),
    "l": ("No immediate risk.", "Not urgent."),
}

# Who calls and how the call opens, per caller type.
INTRO_NARRATIVE: dict[str, tuple[str, ...]] = {
    "child": (
        "{name}, {child} from {place}, called the helpline.",
        "A child called from {place} and introduced {himself} as {name}, {age_text}.",
    ),
    "parent": (
        "{name}'s {caller_parent} called the helpline from {place} about {name}, {child}.",
        "A parent from {place} called about {his_c} child {name}, who is {age_text}.",
    ),
    "relative": (
        "{name}'s {relative} called from {place} about {name}, {child}.",
        "A relative of {name}, {child}, called the helpline from {place}.",
    ),
    "neighbour": (
        "A neighbour in {place} called about {name}, {child} living in the same plot.",
        "A caller from {place} phoned about {his_c} neighbour's child, {name}, who is {age_text}.",
    ),
    "teacher": (
        "A teacher from {place} called about a pupil, {name}, {child}.",
        "{name}'s class teacher called the helpline from {place}.",
    ),
    "community": (
        "A community health volunteer in {place} called about {name}, {child}.",
        "A village elder from {place} called the helpline about {name}, {child}.",
        "A pastor in {place} called about {name}, {child} from the congregation.",
    ),
}
INTRO_DIALOGUE: dict[str, tuple[str, ...]] = {
    "child": (
        "Hello. I am calling about my friend {name}. {He} is {age_text}.",
        "Hi. It is about my {sibling} {name}, {he} is {age_text}.",
    ),
    "parent": (
        "Hello, I am {name}'s {caller_parent}. {name} is {age_text}.",
        "Good {greeting_time}. I am calling about my child {name}.",
    ),
    "relative": (
        "Hello, I am {name}'s {relative}. I am calling about {name}.",
        "Good {greeting_time}. I stay with my relative's child, {name}.",
    ),
    "neighbour": (
        "Hello, I am a neighbour. There is a child called {name} in our plot, {he} is {age_text}.",
        "Good {greeting_time}. I want to talk about my neighbour's child, {name}.",
    ),
    "teacher": (
        "Good {greeting_time}, I am a teacher. I am calling about one of my pupils, {name}.",
        "Hello, I teach at a school in {place}. It is about a pupil called {name}.",
    ),
    "community": (
        "Hello, I am a community health volunteer in {place}. I am calling about {name}.",
        "Good {greeting_time}, I am a church elder. I want to talk about a child, {name}.",
    ),
}
COUNSELLOR_OPENINGS: tuple[str, ...] = (
    "Hello, this is the child helpline 116. My name is {counsellor_name}. How can I help you?",
    "Child helpline, good {greeting_time}. You are speaking to {counsellor_name}. How may I help?",
    "Hello, you have reached 116. I am {counsellor_name}. What would you like to talk about?",
)
COUNSELLOR_PROMPTS: tuple[str, ...] = (
    "What is worrying you today?",
    "Please tell me what is happening.",
    "What would you like to tell me about {name}?",
    "How can we help {name}?",
)
DIALOGUE_CLOSINGS: tuple[tuple[str, str], ...] = (
    ("Thank you for calling. You can call 116 again at any time.", "Thank you, goodbye."),
    ("Is there anything else I can help you with?", "No, that is all. Thank you very much."),
    ("Thank you for reaching out. Take care.", "Asante sana. Bye."),
)
NOTE_PREFIXES: tuple[str, ...] = (
    "C/O {name} ({age} yrs), {place}.",
    "Caller ({caller_short}) from {place}.",
    "{place}: {name}, {age} yrs.",
    "Call from {place} re {name}.",
)

# ---------------------------------------------------------------------------------------
# Length profiles.
# ---------------------------------------------------------------------------------------


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
        styles={"note": 0.10, "narrative": 0.60, "dialogue": 0.30},
        median_words=320,
        sigma=0.55,
        min_words=60,
        max_words=1300,
        max_dialogue_words=900,
        two_decisive_rate=0.45,
    ),
    # Short: mostly under 120 words, for fast CPU training and smoke runs.
    "short": LengthProfile(
        styles={"note": 0.35, "narrative": 0.40, "dialogue": 0.25},
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
        "sibling": rng.choice(("sister", "brother")),
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


# Phrase-level synonyms for the decisive sentences: more surface variety per template, so
# a model has to learn the situation rather than one fixed wording. Every alternative fits
# the same grammatical slot as the phrase it replaces.
SYNONYMS: dict[str, tuple[str, ...]] = {
    " every day": (" daily", " all the time"),
    " is afraid": (" is scared", " is frightened"),
    " wants to know": (" would like to know", " is asking"),
    " asks whether": (" wants to know whether", " enquires whether"),
    " asks how": (" wants to know how", " would like to know how"),
    " asks where": (" wants to know where", " enquires where"),
    " asks what": (" wants to know what",),
    " asks which": (" wants to know which",),
    " refuses to": (" will not",),
    " cannot afford": (" has no money for", " does not have money for"),
    " the family": (" the household",),
    " is worried": (" is anxious", " is concerned"),
    " beaten": (" hit", " battered"),
    " a health worker": (" a nurse", " a community health volunteer"),
    " school fees": (" fees",),
    " constantly": (" always", " repeatedly"),
    " for weeks": (" for several weeks", " for a long time"),
    " last month": (" a few weeks ago",),
    " next month": (" in a few weeks",),
    " wants advice on": (" is asking for advice on", " would like guidance on"),
    " says ": (" reports that ", " explains that "),
    " very ": (" extremely ", " really "),
    " is being ": (" is currently being ",),
}
# Reported-speech openings for narrative sentences (not for the caller's own words).
REPORTED: tuple[str, ...] = (
    "The caller reported that ",
    "According to the caller, ",
    "The caller explained that ",
    "It was reported that ",
)
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
    rng: random.Random, spec: SubSpec, slots: _Slots, two_rate: float, reported: bool = True
) -> list[str]:
    count = 2 if len(spec.templates) > 1 and rng.random() < two_rate else 1
    return [_vary(rng, slots.fill(t), reported) for t in rng.sample(spec.templates, count)]


def _note(rng: random.Random, spec: SubSpec, slots: _Slots, iv: str, pr: str, cue: bool) -> _Draft:
    draft = _Draft()
    if rng.random() < 0.5:
        draft.units.append(slots.fill(rng.choice(NOTE_PREFIXES)))
    draft.decisive.add(len(draft.units))
    draft.units.append(_vary(rng, slots.fill(rng.choice(spec.templates)), reported=True))
    if cue and rng.random() < 0.6:
        draft.units.append(rng.choice(CUES_NOTE[pr]))
    actions = ACTIONS_NOTE[iv] if rng.random() < 0.6 else ACTIONS_NARRATIVE[iv]
    draft.units.append(slots.fill(rng.choice(actions)))
    return draft


def _narrative(
    rng: random.Random,
    spec: SubSpec,
    slots: _Slots,
    iv: str,
    pr: str,
    cue: bool,
    caller_type: str,
    target: int,
    avoid: frozenset[str],
    profile: LengthProfile,
) -> _Draft:
    intro = slots.fill(rng.choice(INTRO_NARRATIVE[caller_type]))
    decisive = _decisive_sentences(rng, spec, slots, profile.two_decisive_rate)
    block = list(decisive)
    if cue:
        block.append(rng.choice(CUES_NARRATIVE[pr]))
    block.append(slots.fill(rng.choice(ACTIONS_NARRATIVE[iv])))
    closing = [slots.fill(rng.choice(CLOSING_NARRATIVE))] if rng.random() < 0.6 else []

    pool = [text for tag, text in NARRATIVE_FILLER if tag not in avoid]
    filler: list[str] = []
    used = _n_words([intro, *block, *closing])
    for template in _filler_stream(rng, pool):
        if used >= target:
            break
        sentence = slots.fill(str(template))
        filler.append(sentence)
        used += len(sentence.split())

    at = _insert_at(rng, len(filler), rng.choice(POSITIONS))
    draft = _Draft(units=[intro, *filler[:at]])
    draft.decisive = set(range(len(draft.units), len(draft.units) + len(decisive)))
    draft.units += block + filler[at:] + closing
    return draft


def _dialogue(
    rng: random.Random,
    spec: SubSpec,
    slots: _Slots,
    iv: str,
    pr: str,
    cue: bool,
    caller_type: str,
    target: int,
    avoid: frozenset[str],
    profile: LengthProfile,
) -> _Draft:
    def counsellor(text: str) -> str:
        return "Counsellor: " + slots.fill(text)

    def caller(text: str) -> str:
        return "Caller: " + slots.fill(text)

    opening = [
        counsellor(rng.choice(COUNSELLOR_OPENINGS)),
        caller(rng.choice(INTRO_DIALOGUE[caller_type])),
    ]
    decisive = _decisive_sentences(rng, spec, slots, profile.two_decisive_rate, reported=False)
    block = [
        counsellor(rng.choice(COUNSELLOR_PROMPTS)),
        "Caller: " + " ".join(_as_speech(s) for s in decisive),
    ]
    if cue:
        question, answer = CUES_DIALOGUE[pr]
        block += [counsellor(question), caller(answer)]
    block.append(counsellor(rng.choice(ACTIONS_DIALOGUE[iv])))
    block.append(caller(rng.choice(CALLER_REPLIES)))
    end_counsellor, end_caller = rng.choice(DIALOGUE_CLOSINGS)
    closing = [counsellor(end_counsellor), caller(end_caller)]

    # Exchanges are kept whole so that a question is always followed by its answer.
    pool: list[tuple[str, ...]] = [
        (counsellor(q), caller(a)) for tag, q, a in DIALOGUE_FILLER if tag not in avoid
    ]
    pool += [(counsellor(rng.choice(COUNSELLOR_ACK)), caller(s)) for s in CALLER_SMALL_TALK]
    exchanges: list[tuple[str, ...]] = []
    used = _n_words(opening + block + closing)
    for exchange in _filler_stream(rng, pool):
        if used >= min(target, profile.max_dialogue_words):
            break
        exchanges.append(exchange)  # type: ignore[arg-type]
        used += _n_words(exchange)  # type: ignore[arg-type]

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


def _join(draft: _Draft, style: str, rng: random.Random) -> str:
    if style == "dialogue":
        return "\n".join(draft.units)
    if style == "note" or _n_words(draft.units) < 150:
        return " ".join(draft.units)
    # Long narratives come in paragraphs of a few sentences, like written case reports.
    paragraphs: list[str] = []
    i = 0
    while i < len(draft.units):
        size = rng.randint(3, 7)
        paragraphs.append(" ".join(draft.units[i : i + size]))
        i += size
    return "\n\n".join(paragraphs)


# ---------------------------------------------------------------------------------------
# Public API.
# ---------------------------------------------------------------------------------------


def _target_words(rng: random.Random, profile: LengthProfile) -> int:
    words = rng.lognormvariate(0.0, profile.sigma) * profile.median_words
    return int(min(profile.max_words, max(profile.min_words, words)))


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
    iv = _weighted(rng, spec.iv)
    pr = _weighted(rng, spec.pr)
    cue = rng.random() < URGENCY_CUE_RATE
    style = _weighted(rng, profile.styles)
    avoid = _filler_tags_to_avoid(spec, age)
    if style == "note":
        draft = _note(rng, spec, slots, iv, pr, cue)
    else:
        build = _narrative if style == "narrative" else _dialogue
        target = _target_words(rng, profile)
        draft = build(rng, spec, slots, iv, pr, cue, caller_type, target, avoid, profile)
    narrative = _join(draft, style, rng)

    # Annotation noise: a near-synonym sub-category (its main follows, so labels stay
    # consistent with sub_to_main), or an intervention / priority redrawn from the prior.
    sub = spec.sub
    if spec.confusable and rng.random() < SUB_NOISE:
        sub = spec.confusable
    if rng.random() < INTERVENTION_NOISE:
        iv = _weighted(rng, spec.iv)
    if rng.random() < PRIORITY_NOISE:
        pr = _weighted(rng, spec.pr)
    return {
        "id": row_id,
        "narrative": narrative,
        "main_category": SUB_TO_MAIN[sub],
        "sub_category": sub,
        "intervention": INTERVENTION_CODES[iv],
        "priority": PRIORITY_CODES[pr],
        "style": style,
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
    fields = ("main_category", "sub_category", "intervention", "priority", "style")
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
