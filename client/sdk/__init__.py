"""The Python SDK (sync and async clients) and the `helpline-triage` command line. Imports
nothing from the server side.

clients.py: `TriageClient` and `AsyncTriageClient`, which move bytes; _requests.py: what both
share (request builders, retry rule, answers -> results or errors); errors.py; transcripts.py
(`split_transcript`); cli.py.
"""

from client.sdk.clients import AsyncTriageClient, TriageClient
from client.sdk.errors import TriageAPIError, TriageConnectionError, TriageError
from client.sdk.transcripts import split_transcript

__all__ = [
    "AsyncTriageClient",
    "TriageAPIError",
    "TriageClient",
    "TriageConnectionError",
    "TriageError",
    "split_transcript",
]
