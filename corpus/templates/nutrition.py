"""Templates for one main category: decisive sentences, usual handling, voice cases."""

from corpus.spec import Case, SubSpec

MAIN = "Nutrition"

# Action-sentence targets for this main's sub-categories that name none of their own.
REFERRAL: tuple[str, ...] = (
    "the nutrition clinic at the county hospital", "a community health volunteer",
    "the outpatient therapeutic programme at the health centre",
)  # fmt: skip
SIGNPOST: tuple[str, ...] = (
    "the nearest maternal and child health clinic",
    "the local health centre",
)
INFO: tuple[str, ...] = ("healthy feeding practices and the main food groups",)

SPECS: tuple[SubSpec, ...] = (
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
        understated=(
            Case(
                "H3",
                "{name} has not fed since yesterday morning, is too sleepy to suck and has "
                "had diarrhoea all night.",
            ),
        ),
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
        understated=(
            Case(
                "H3",
                "{name}'s feet and face have become puffy this week, {he} no longer wants to "
                "eat and only lies on the mat, and the family plans to wait until market day "
                "to go to the clinic.",
            ),
            Case(
                "H3",
                "{name} is so thin that {his} ribs show, has stopped sucking since yesterday "
                "and hardly cries, and the mother has no fare to the health centre.",
            ),
            Case(
                "H3",
                "Since the harvest failed, {name} has had only tea for many days and is now "
                "too weak to sit up.",
            ),
        ),
        alarming=(
            Case(
                "L2",
                "The caller is a student writing about children dying of starvation in the "
                "drought in the north and asks for figures on severe malnutrition.",
            ),
            Case(
                "L1",
                "A community health volunteer asks for the signs of severe malnutrition to "
                "teach mothers, after hearing that children in another county died of it.",
            ),
        ),
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
