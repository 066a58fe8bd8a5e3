"""The item bank: schemes, versioned items, the review workflow, blueprints and assembled exam forms."""
