"""Templates for one main category: decisive sentences, usual handling, voice cases."""

from corpus.spec import Case, SubSpec

MAIN = "VANE"

# Action-sentence targets for this main's sub-categories that name none of their own.
REFERRAL: tuple[str, ...] = (
    "the police", "the sub-county children's officer",
    "the police gender and children's desk", "a rescue centre",
    "the area chief and the children's officer",
)  # fmt: skip
SIGNPOST: tuple[str, ...] = (
    "the nearest police station", "the children's office",
    "the hospital for a medical examination",
)  # fmt: skip
INFO: tuple[str, ...] = ("child protection and how to report abuse",)

SPECS: tuple[SubSpec, ...] = (
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
        understated=(
            Case(
                "H4",
                "A man who said {name}'s mother had sent him picked {name} up from school "
                "yesterday; the mother never sent anyone, and his phone is off.",
            ),
            Case(
                "H4",
                "{name}'s father, who lost the custody case, collected {him} from the "
                "playground this afternoon and told a neighbour they are crossing the border "
                "tonight.",
            ),
        ),
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
        understated=(
            Case(
                "H4",
                "{name}'s family has taken the bride price, and {name} is to be taken to the "
                "man's home after church on Sunday.",
            ),
        ),
        alarming=(
            Case(
                "L2",
                "The chief asked the caller to speak at a baraza about child marriage and "
                "defilement, and the caller wants information on the law.",
            ),
        ),
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
        understated=(
            Case(
                "H4",
                "A woman from {town} has paid {name}'s bus fare to go and work for a family "
                "there, and {name} leaves on {day} morning; nobody knows the family.",
            ),
            Case(
                "H4",
                "{name} was promised a hotel job in {town}; {he} called from a borrowed "
                "phone to say they took {his} ID, {he} works every day without pay and is "
                "not allowed to go out.",
            ),
        ),
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
        alarming=(
            Case(
                "L2",
                "{name} is preparing for a school debate on female genital mutilation and "
                "asks what the law says and why it is a crime.",
            ),
        ),
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
        understated=(
            Case(
                "H4",
                "An older man {name} met online sends {him} airtime and money and has booked "
                "a room in {town} for {him} this weekend.",
            ),
        ),
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
        alarming=(
            Case(
                "L3",
                "{name} was abused by a stepfather who was jailed two years ago; {he} now "
                "lives safely with {his} grandmother, is doing well at school and asks about "
                "talking to a counsellor sometimes.",
            ),
        ),
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
        understated=(
            Case(
                "H1",
                "{name}'s teacher asks {him} to come and clean his house on Saturdays; {he} "
                "comes back quiet, with money {he} will not explain, and is expected there "
                "again this Saturday.",
            ),
            Case(
                "H1",
                "{name}'s uncle moves into {his} bed when {his} mother is on night shift, "
                "and {his} mother starts night shift again tonight.",
            ),
            Case(
                "H1",
                "The man who looks after {name} in the afternoons makes {him} sit on his lap "
                "behind a closed door and tells {him} it is their secret; {name} is with him "
                "again tomorrow.",
            ),
        ),
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
        understated=(
            Case(
                "H5",
                "{name} is kept chained by the leg in the goat shed whenever the family goes "
                "out, because {he} has run away before.",
            ),
            Case(
                "H5",
                "{name} has been kept in a locked room for {n_days} days and is given food "
                "through the window.",
            ),
        ),
    ),
)  # fmt: skip
