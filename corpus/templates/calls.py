"""Label-neutral filler and the shared sentences of a call: openings, actions, cues."""

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

# Urgency cues state the time test of the priority rubric (docs/priority-rubric.md) for the
# level drawn: h = the child is in danger now or within days (rules H1-H5); m = harm is real
# but not within days, a worker follows up (M1-M3); l = no child at risk now (L1-L4).
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
