"""The built-in sample narrative behind POST /classifier/demo."""

DEMO_NARRATIVE = (
    "Counsellor: Thank you for calling 116, you are speaking with a counsellor. How can I help?\n"
    "Caller: I am calling about my niece. She is 13 years old and lives with her stepfather in "
    "Kisumu since her mother travelled for work.\n"
    "Counsellor: What is worrying you about her?\n"
    "Caller: Yesterday she told me that he touches her at night and threatens to beat her if "
    "she tells anyone. She has stopped going to school and she cries all the time.\n"
    "Counsellor: Thank you for telling us. Is she safe right now?\n"
    "Caller: She is with me today, but she has to go back tomorrow.\n"
    "Counsellor: We will connect you with the children's officer and the police gender desk, "
    "and arrange for her to see a doctor at the hospital today."
)
