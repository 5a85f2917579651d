"""Templates for one main category: decisive sentences, usual handling, voice cases."""

from corpus.spec import Case, SubSpec

MAIN = "Child Maintenance & Custody"

# Action-sentence targets for this main's sub-categories that name none of their own.
REFERRAL: tuple[str, ...] = (
    "the sub-county children's officer", "a legal aid clinic",
    "the Department of Children's Services",
)  # fmt: skip
SIGNPOST: tuple[str, ...] = (
    "the children's office in {town}", "the chief's office", "a legal aid clinic",
)  # fmt: skip
INFO: tuple[str, ...] = ("the procedure and the documents required",)

SPECS: tuple[SubSpec, ...] = (
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
        alarming=(
            Case(
                "L1",
                "The caller read about babies being trafficked through fake adoptions and "
                "asks for the legal adoption procedure so that the adoption of {name} is "
                "done properly.",
            ),
        ),
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
        alarming=(
            Case(
                "L1",
                "The caller heard at a baraza that children without birth certificates are "
                "easy targets for trafficking and abduction, and asks how to register "
                "{name}'s birth.",
            ),
        ),
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
        alarming=(
            Case(
                "L3",
                "{name}'s father, who used to beat the mother, was jailed two years ago; "
                "{name} lives safely with {his} mother, who asks how to put the custody "
                "papers in order.",
            ),
        ),
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
        understated=(
            Case(
                "H5",
                "{name} and two younger siblings have been on their own since {his} mother "
                "left on {day}; the food ran out yesterday and no adult has come.",
            ),
            Case(
                "H5",
                "{name}'s grandmother was taken to hospital this morning, and {name} and the "
                "baby are alone in the house with no adult coming tonight.",
            ),
            Case(
                "H5",
                "A neighbour found {name} sleeping outside the locked house; {his} father "
                "left for {town} last week and has switched off his phone.",
            ),
        ),
    ),
)  # fmt: skip
