"""The item bank's routes, for the bank's own roles only (``itembank.access``).

``items`` (search, the editor, an item, previews, comparisons, files), ``review`` (workflow
steps), ``transfer`` (import and export), ``api`` (the bank's JSON API) and ``blueprints``
(blueprints and assembled forms) each give their ``routes()``; what they share is in ``common``.
The item's key and grading guide are shown only here.
"""
