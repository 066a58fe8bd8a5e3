"""Grading's pages, by audience."""
