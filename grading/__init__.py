"""Blind grading of open answers and the certification decision."""
