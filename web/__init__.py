"""The web layer: the only package that knows HTTP. Routes, templates and static files."""
