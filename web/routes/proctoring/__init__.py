"""Proctoring over HTTP, by audience: ``candidate`` (photos, the live channel, events, recording
chunks), ``proctor`` (the proctors' pages and media, the graders' oral answers) and ``policy``
(the administrators' settings). Each module has its ``routes()``; every staff fetch of media is
written to the audit log."""
