"""What candidates see of item versions (validated, cleaned, without key), built once per
process: a version never changes."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from itembank.models import ItemVersion
from itembank.schemas import CandidateItem, ItemDocument, candidate_view


class CandidateViews:
    """What candidates see of item versions, kept in memory by one process.

    Showing an exam validates every item's document, cleans its HTML and leaves the key behind:
    milliseconds per item, at every page load and reload of every candidate. A version never
    changes once made, so its view is built once per process and reused; the least recently
    shown are forgotten beyond ``max_versions``.
    """

    def __init__(self, max_versions: int = 4096) -> None:
        self._views: OrderedDict[int, CandidateItem] = OrderedDict()
        self._max_versions = max_versions

    async def of(
        self, session: AsyncSession, version_ids: Sequence[int]
    ) -> dict[int, CandidateItem]:
        """The candidate views (no key, no guide) of these versions, by id, in the order asked;
        an id that names no version is left out. Shared: callers must not change them."""
        missing = [version_id for version_id in version_ids if version_id not in self._views]
        if missing:
            rows = await session.execute(
                select(ItemVersion.id, ItemVersion.document).where(ItemVersion.id.in_(missing))
            )
            for version_id, document in rows:
                self._views[version_id] = candidate_view(ItemDocument.model_validate(document))
        views: dict[int, CandidateItem] = {}
        for version_id in version_ids:
            if version_id in self._views:
                self._views.move_to_end(version_id)
                views[version_id] = self._views[version_id]
        while len(self._views) > self._max_versions:
            self._views.popitem(last=False)
        return views
