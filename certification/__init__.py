"""Certification: the independent decision on a candidate's complete attempt, the certificates it
issues (number, validity, status, PDF with a QR code to public verification), the public register,
suspension and withdrawal, recertification, appeals and complaints.

It follows the exam and grading through their services and extension points, and never imports
``web``."""
