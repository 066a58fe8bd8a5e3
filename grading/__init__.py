"""Blind grading: open answers become scripts that qualified, independent graders mark by the
grading guide without knowing whose they are; part results are computed from the scores."""
