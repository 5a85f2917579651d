"""The Python SDK (sync and async clients) and the `helpline-triage` command line. Imports
nothing from the server side."""
