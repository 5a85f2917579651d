"""Live calls: progressive classification of a growing transcript, sessions and alerts."""
