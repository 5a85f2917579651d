"""Templates for one main category: decisive sentences, usual handling, voice cases."""

from corpus.spec import Case, SubSpec

MAIN = "GBV"

# Action-sentence targets for this main's sub-categories that name none of their own.
REFERRAL: tuple[str, ...] = (
    "the police gender desk", "the gender-based violence recovery centre",
    "the sub-county children's officer", "a safe house run by a partner organisation",
)  # fmt: skip
SIGNPOST: tuple[str, ...] = (
    "the gender desk at the nearest police station",
    "the GBV recovery centre at the county hospital", "a legal aid clinic",
)  # fmt: skip
INFO: tuple[str, ...] = ("the rights of survivors and how to report violence",)

SPECS: tuple[SubSpec, ...] = (
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
        understated=(
            Case(
                "H4",
                "{name}'s father has already taken the cows for {him}, and the man's family "
                "is coming on Saturday to take {him} to their home.",
            ),
        ),
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
        understated=(
            Case(
                "H1",
                "{name}, {his} mother and the small ones are sleeping at a neighbour's "
                "because the father said he will deal with them when he comes back tonight.",
            ),
        ),
        alarming=(
            Case(
                "L3",
                "{name}'s father used to beat {his} mother, but he left the family three "
                "years ago; they live safely in {place} now and the mother asks about a "
                "support group for the children.",
            ),
        ),
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
        understated=(
            Case(
                "H3",
                "{name} came home late last night with {his} clothes torn after a man "
                "offered {him} a lift; {he} has not been to a clinic and keeps washing "
                "{himself}.",
            ),
            Case(
                "H1",
                "The man who forced {name} to sleep with him last week lives in the next "
                "plot, and {name} has to pass his door every day to fetch water.",
            ),
        ),
        alarming=(
            Case(
                "L2",
                "{name} is writing an essay for school on rape and sexual violence in the "
                "county and asks where to find statistics.",
            ),
        ),
    ),
)  # fmt: skip
