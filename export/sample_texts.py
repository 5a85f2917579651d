"""A few built-in narratives: the default real-text set for parity checks."""

SAMPLE_NARRATIVES: tuple[str, ...] = (
    "A 12-year-old girl called to report that her stepfather touches her inappropriately when "
    "her mother is at work. She is afraid to go home and asked what she can do.",
    "Counsellor: Thank you for calling the helpline, how can I help?\n"
    "Caller: My neighbour's children have not eaten for two days. Their mother left last week.\n"
    "Counsellor: Are there any adults looking after them now?\n"
    "Caller: No, the eldest is nine and she is caring for the baby.",
    "The caller, a mother of three, wanted to know how to get maintenance from the children's "
    "father who moved to Mombasa and stopped sending money for school fees.",
    "A teacher reported that a boy in class six is bullied every day by older pupils and has "
    "stopped coming to school. The teacher asked for advice on how to support him.",
    "A father asked for information about services for his son who has a hearing impairment "
    "and cannot get a place at the local school.",
    "The client wanted to know what a balanced diet for a two-year-old should include because "
    "the child is underweight according to the clinic card.",
    "A 15-year-old girl said her parents plan to marry her to an older man after the harvest. "
    "She wants to stay in school and is scared to tell anyone in the village.",
    "The caller asked what the helpline does and whether calls are free. No case to report.",
    "A woman reported that her husband beats her and takes all her salary, and the children "
    "witness the violence at home almost every weekend.",
    "A boy of 16 called because he feels hopeless after failing his exams and says he cannot "
    "sleep. He has been drinking alcohol with friends to forget.",
    "Grandmother called about custody of her grandchildren after their mother died; the father "
    "wants to take them away although he has never supported them.",
    "A neighbour reported that a 10-year-old boy is made to work at a quarry every day instead "
    "of going to school and comes home with injuries.",
)
