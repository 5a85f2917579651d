"""Templates for one main category: decisive sentences, usual handling, voice cases."""

from corpus.spec import Case, SubSpec

MAIN = "Information"

# Action-sentence targets for this main's sub-categories that name none of their own.
REFERRAL: tuple[str, ...] = ("the sub-county children's officer", "a legal aid clinic")
SIGNPOST: tuple[str, ...] = ("the children's office", "a legal aid clinic", "the chief's office")
INFO: tuple[str, ...] = ("the relevant law and how the helpline can help",)

SPECS: tuple[SubSpec, ...] = (
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
        alarming=(
            Case(
                "L2",
                "The caller is preparing an awareness talk on defilement and child "
                "trafficking for a women's group in {place} and asks for the warning signs "
                "and how to report.",
            ),
            Case(
                "L1",
                "The caller asks what the law says about rape of a child and how long a case "
                "of defilement takes in court, for a community meeting.",
            ),
        ),
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
        alarming=(
            Case(
                "L2",
                "{name} has a school debate on the punishment for rape and murder of "
                "children and asks what the law says.",
            ),
        ),
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
        understated=(
            Case(
                "H1",
                "The caller asks how to get a protection order: the man who touched {name} "
                "was released on bond yesterday, lives two houses away and was seen at {his} "
                "school gate this morning.",
            ),
            Case(
                "H1",
                "The caller asks what the law says about bail, because the neighbour charged "
                "over what he did to {name} was let out this morning and has been sitting "
                "outside their gate.",
            ),
        ),
    ),
)  # fmt: skip
