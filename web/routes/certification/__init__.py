"""The certification pages: the decision maker's queue and decisions, the staff's fees."""
