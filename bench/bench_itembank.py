"""Item bank benchmark: import 10,000 items and assemble 1,000 forms.

Prints items/s for the import, forms/s and per-form latency for assembly, and peak memory. Not
part of the test run. Usage:

    python bench/bench_itembank.py [--items 10000] [--forms 1000] [--database-url URL]

Without --database-url it uses a fresh SQLite file in a temporary folder. Targets (issue 2):
import >= 500 items/s; a form in <= 50 ms on SQLite with a 10,000-item bank.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import text, update

from itembank import blueprints, schemes, transfer, yamlformat
from itembank.models import ItemVersion
from itembank.schemas import ItemDocument, ItemStatus
from vakt.db import create_engine, create_sessionmaker
from vakt.dbadmin import upgrade

TAGS = ["ns11251:strategi", "ns11251:lovverk", "ns11251:rekruttering", "ns11251:kultur", "iso26000"]


def make_documents(count: int) -> list[ItemDocument]:
    """A realistic mix: 60 % single choice, 20 % multiple response, 15 % essay, 3 % case, 2 % oral."""
    documents = []
    for number in range(count):
        tag = TAGS[number % len(TAGS)]
        kind = number % 100
        base = {
            "external_id": f"B-{number:06d}",
            "title": f"Oppgave {number}",
            "tags": [tag, "bench"],
        }
        choices = [{"id": c, "html": f"<p>Alternativ {c} for oppgave {number}</p>"} for c in "ABCD"]
        if kind < 60:
            question = {
                "type": "single_choice",
                "prompt_html": f"<p>Spørsmål {number}?</p>",
                "choices": choices,
                "correct": "ABCD"[number % 4],
            }
            documents.append(
                ItemDocument.model_validate(
                    {**base, "type": "single_choice", "questions": [question]}
                )
            )
        elif kind < 80:
            question = {
                "type": "multiple_response",
                "prompt_html": "<p>Velg alle riktige</p>",
                "choices": choices,
                "correct": ["A", "C"],
                "points": 2,
            }
            documents.append(
                ItemDocument.model_validate(
                    {**base, "type": "multiple_response", "questions": [question]}
                )
            )
        elif kind < 95:
            question = {
                "type": "essay",
                "prompt_html": "<p>Drøft.</p>",
                "points": 10,
                "word_limit": 400,
                "guide": {"criteria": [{"name": "Innhold", "max_points": 10}]},
            }
            documents.append(
                ItemDocument.model_validate({**base, "type": "essay", "questions": [question]})
            )
        elif kind < 98:
            questions = [
                {"type": "essay", "id": "Q1", "prompt_html": "<p>Analyser.</p>", "points": 6},
                {
                    "type": "single_choice",
                    "id": "Q2",
                    "prompt_html": "<p>Velg.</p>",
                    "choices": choices,
                    "correct": "A",
                    "points": 4,
                },
            ]
            documents.append(
                ItemDocument.model_validate(
                    {
                        **base,
                        "type": "case",
                        "stem_html": "<p>Et scenario.</p>",
                        "questions": questions,
                    }
                )
            )
        else:
            question = {"type": "oral", "prompt_html": "<p>Presenter.</p>", "points": 10}
            documents.append(
                ItemDocument.model_validate({**base, "type": "oral", "questions": [question]})
            )
    return documents  # fmt: skip


BLUEPRINT = {
    "parts": [
        {"key": "mc", "title": "Flervalg", "kind": "multiple_choice", "duration_minutes": 30,
         "rules": [{"item_type": "single_choice", "count": 20, "tags": ["ns11251:lovverk"]},
                   {"item_type": "single_choice", "count": 10},
                   {"item_type": "multiple_response", "count": 10}]},
        {"key": "kunnskap", "title": "Kunnskap", "kind": "knowledge", "duration_minutes": 60,
         "rules": [{"count": 3, "points": 30}]},
        {"key": "case", "title": "Case", "kind": "case", "duration_minutes": 30, "rules": [{"count": 1}]},
        {"key": "muntlig", "title": "Muntlig", "kind": "oral", "duration_minutes": 15, "rules": [{"count": 1}]},
    ]
}  # fmt: skip


async def run(database_url: str, item_count: int, form_count: int) -> None:
    """Import, approve, assemble; print the figures."""
    engine = create_engine(database_url)
    sessionmaker = create_sessionmaker(engine)
    documents = make_documents(item_count)
    payload = yamlformat.dump_items([(document, {}) for document in documents])
    print(f"bank: {item_count} items, {len(payload) / 1e6:.1f} MB of YAML")

    async with sessionmaker() as session:
        scheme = await schemes.create_scheme(session, code="BENCH", name="Benchmark", actor_id=None)
        await session.commit()
        started = time.perf_counter()
        report = await transfer.import_items(
            session, scheme_id=scheme.id, data=payload, filename="bench.yaml", actor_id=None
        )
        await session.commit()
        elapsed = time.perf_counter() - started
        print(
            f"import: {len(report.imported)} items in {elapsed:.2f} s = {len(report.imported) / elapsed:.0f} items/s"
        )
        # Approval through the workflow is measured by the tests; here it only makes the pool.
        await session.execute(update(ItemVersion).values(status=ItemStatus.APPROVED.value))
        blueprint = await blueprints.create_blueprint(
            session, scheme_id=scheme.id, code="B", name="Bench", language="nb",
            definition=blueprints.parse_blueprint(BLUEPRINT), actor_id=None,
        )  # fmt: skip
        await session.commit()
        if engine.dialect.name == "postgresql":
            # Fresh statistics, as autovacuum would soon give a bank at rest.
            await session.execute(text("ANALYZE"))
        await session.commit()

    # Drop the import's objects so the assembly figures are not a garbage collector's pauses
    # over ten thousand documents no server would be holding.
    del documents, payload, report
    gc.collect()
    latencies: list[float] = []
    started = time.perf_counter()
    async with sessionmaker() as session:
        for seed in range(form_count):
            one = time.perf_counter()
            await blueprints.assemble_form(
                session, blueprint_id=blueprint.id, seed=seed, actor_id=None
            )
            await session.commit()
            latencies.append((time.perf_counter() - one) * 1000)
    elapsed = time.perf_counter() - started
    latencies.sort()
    print(
        f"assembly: {form_count} forms in {elapsed:.2f} s = {form_count / elapsed:.1f} forms/s; "
        f"per form p50 {statistics.median(latencies):.1f} ms, "
        f"p95 {latencies[int(len(latencies) * 0.95) - 1]:.1f} ms, max {latencies[-1]:.1f} ms"
    )
    print(
        f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    await engine.dispose()


def main() -> None:
    """Parse arguments, prepare the database and run."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--forms", type=int, default=1_000)
    parser.add_argument("--database-url", default="")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = arguments.database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
        print(f"database: {url.split('@')[-1]}")
        upgrade(url)
        asyncio.run(run(url, arguments.items, arguments.forms))


if __name__ == "__main__":
    main()
