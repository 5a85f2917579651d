"""Templates for one main category: decisive sentences, usual handling, voice cases."""

from corpus.spec import Case, SubSpec

MAIN = "Disability"

# Action-sentence targets for this main's sub-categories that name none of their own.
REFERRAL: tuple[str, ...] = (
    "the county disability services office", "the assessment centre in {town}",
    "a partner organisation supporting children with disabilities",
)  # fmt: skip
SIGNPOST: tuple[str, ...] = (
    "the nearest hospital with a therapy unit",
    "the Educational Assessment and Resource Centre", "the county referral hospital",
)  # fmt: skip
INFO: tuple[str, ...] = ("the services available for children with disabilities",)

DISABILITY_IV: dict[str, float] = {"S": 3.5, "R": 3, "A": 2.5, "C": 1}
DISABILITY_PR: dict[str, float] = {"l": 4.5, "m": 4.5, "h": 1}

SPECS: tuple[SubSpec, ...] = (
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
        alarming=(
            Case(
                "L2",
                "{name}'s school is holding an awareness day on the attacks and killings of "
                "people with albinism, and the caller asks for information to share with "
                "parents.",
            ),
        ),
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
        understated=(
            Case(
                "H3",
                "{name}, who has a shunt, has been vomiting since last night, is very sleepy "
                "and cries when {his} head is touched, and the family is waiting for money "
                "for transport.",
            ),
        ),
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
        understated=(
            Case(
                "H5",
                "When the family goes to the shamba, {name}, who has an intellectual "
                "disability, is tied to the bed with a rope from morning until evening so "
                "that {he} does not wander off.",
            ),
            Case(
                "H5",
                "{name}, who cannot speak, is kept in a small room behind the house, and the "
                "neighbours have not seen {him} outside for months.",
            ),
        ),
        alarming=(
            Case(
                "L2",
                "A parents' group in {place} asks for material on why children with "
                "disabilities are more often abused and how to protect them, for a meeting "
                "next month.",
            ),
        ),
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
        understated=(
            Case(
                "H3",
                "{name}'s medicine for fits ran out a week ago, and since this morning {he} "
                "has had one fit after another and is not responding.",
            ),
        ),
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
        understated=(
            Case(
                "H5",
                "{name}, who cannot walk, is left alone in the house with the door padlocked "
                "from outside while {his} {parent} works in {town} during the week.",
            ),
        ),
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
