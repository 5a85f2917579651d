"""Templates for one main category: decisive sentences, usual handling, voice cases."""

from corpus.spec import Case, SubSpec

MAIN = "Advice and Counselling"

# Action-sentence targets for this main's sub-categories that name none of their own.
REFERRAL: tuple[str, ...] = (
    "the school counsellor", "the sub-county children's officer",
    "a youth-friendly clinic", "a partner psychosocial support organisation",
)  # fmt: skip
SIGNPOST: tuple[str, ...] = (
    "the nearest youth centre", "the guidance and counselling department at school",
    "the local health centre",
)  # fmt: skip
INFO: tuple[str, ...] = ("where young people can find support", "coping strategies")

SPECS: tuple[SubSpec, ...] = (
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
        understated=(
            Case(
                "H3",
                "{name} came back from a party with older boys, vomited twice and is now "
                "lying on the floor and will not wake up properly.",
            ),
        ),
        alarming=(
            Case(
                "L2",
                "{name} has to lead a class debate on drugs and wants facts about overdose "
                "deaths and how alcohol kills young people.",
            ),
        ),
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
        understated=(
            Case(
                "H5",
                "{name} was told by {his} guardian not to come back, and {he} is sitting at "
                "the bus stage in {town} with nowhere to go for the night.",
            ),
            Case(
                "H5",
                "{name} has spent the last two nights in a market stall and does not know "
                "where {he} will sleep tonight.",
            ),
        ),
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
        understated=(
            Case(
                "H2",
                "{name} has given away {his} phone and {his} school bag this week and sent a "
                "cousin a message saying thank you for everything and goodbye.",
            ),
            Case(
                "H2",
                "{name} swallowed a whole strip of {his} mother's tablets about an hour ago "
                "and is now very sleepy and hard to wake.",
            ),
            Case(
                "H2",
                "{name} locked {himself} in the bathroom after an argument, with a razor "
                "blade, and has not answered anyone for half an hour.",
            ),
            Case(
                "H2",
                "{name} told a friend that tonight will be {his} last night and has been "
                "collecting pills in a tin under {his} bed.",
            ),
        ),
        alarming=(
            Case(
                "L2",
                "{name} is writing a school essay on suicide among teenagers and asks for "
                "figures and for places where young people can get support; {he} says {he} "
                "is fine {himself}.",
            ),
            Case(
                "L3",
                "{name} tried to take {his} own life two years ago, has been in counselling "
                "since and is doing well, and now asks how to join a club that talks to "
                "pupils about suicide.",
            ),
        ),
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
        alarming=(
            Case(
                "L2",
                "{name} is preparing a talk for the school health club on rape, consent and "
                "defilement and wants to know what the law says and where survivors get help.",
            ),
        ),
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
        understated=(
            Case(
                "H3",
                "{name}, who is about seven months pregnant, has been bleeding since the "
                "morning and is alone in the house because everyone has gone to the farm.",
            ),
        ),
    ),
)  # fmt: skip
