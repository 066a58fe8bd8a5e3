"""Turning submitted HTML forms into domain data and back (for re-showing what was typed)."""
