"""Certification's pages: the decision maker's queue and decisions, the staff's fees,
certificates, verification and the register."""
