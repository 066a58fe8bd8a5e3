"""Proctoring: camera and microphone capture, recordings, identity checks and flags."""
