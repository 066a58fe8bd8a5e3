"""Certification's pages: decisions, certificates, verification and the register."""
