"""The item bank: schemes, versioned items, review workflow, blueprints and assembled forms."""
