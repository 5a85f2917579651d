"""Slot pools: the values a template's {slot} names are filled with."""

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
