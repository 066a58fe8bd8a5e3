"""Names kept here for modules outside the item bank that import them from this module.

The item bank's services live in modules by job: ``schemes``, ``versions``, ``workflow``,
``search``, ``compare``, ``files``, ``candidate_views`` and ``queries``; new code imports from
those. Remove a name here once nothing outside the item bank uses it.
"""

from itembank.candidate_views import CandidateViews
from itembank.files import FileUpload, read_file
from itembank.schemes import create_scheme
from itembank.versions import create_item, document_of, get_version, parse_document
from itembank.workflow import transition

__all__ = [
    "CandidateViews",
    "FileUpload",
    "create_item",
    "create_scheme",
    "document_of",
    "get_version",
    "parse_document",
    "read_file",
    "transition",
]
