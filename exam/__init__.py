"""Exam delivery: sittings, attempts, timers and autosave (built on the item bank's forms)."""
