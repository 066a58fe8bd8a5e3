"""The ``vakt`` command.

The CLI is the composition root: it is the one place in this package that reaches up into the
domain packages and the web layer, and it does so only inside the commands that need them.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import pydantic
import sqlalchemy.exc
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from vakt import dbadmin
from vakt.cli_certificates import certificates
from vakt.db import create_engine, create_sessionmaker
from vakt.errors import VaktError
from vakt.i18n import LazyText, Message, _l, translations_for
from vakt.settings import Settings
from vakt.validation import render_message

T = TypeVar("T")


def _settings(data_dir: Path | None = None, **values: Any) -> Settings:
    """The settings, or a clear error (a wrong signing key passphrase, a missing setting)
    instead of a traceback."""
    try:
        return Settings(data_dir=data_dir, **values) if data_dir else Settings(**values)
    except pydantic.ValidationError as error:
        problems = [str(problem["msg"]).removeprefix("Value error, ") for problem in error.errors()]
        raise click.ClickException("\n".join(problems)) from None


def _fail(exc: VaktError, language: str) -> click.ClickException:
    translations = translations_for(language)
    lines = [render_message(Message(exc.message, exc.params), translations)]
    lines += [f"  - {render_message(detail, translations)}" for detail in exc.details]
    return click.ClickException("\n".join(lines))


def run_in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction, committed when it succeeds; domain errors become clear
    command-line errors."""

    async def runner() -> T:
        _refuse_missing_sqlite_file(settings)
        engine = create_engine(settings.database_url)
        try:
            await _require_schema(engine, settings)
            async with create_sessionmaker(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    try:
        return asyncio.run(runner())
    except VaktError as exc:
        raise _fail(exc, settings.default_language) from None


def _database_place(settings: Settings) -> str:
    """Where the database is, as an operator recognises it (never with its password)."""
    url = make_url(settings.database_url)
    if url.drivername.startswith("sqlite"):
        return str(url.database)
    return url.render_as_string(hide_password=True)


_HOW_TO_CREATE = _l(
    "Create it with `vakt db upgrade` (or try Vakt with `vakt demo`), or point VAKT_DATA_DIR or "
    "VAKT_DATABASE_URL at an existing one."
)


def _refuse_missing_sqlite_file(settings: Settings) -> None:
    # Connecting would create an empty file and then fail on a missing table.
    url = make_url(settings.database_url)
    if url.drivername.startswith("sqlite") and url.database and not Path(url.database).exists():
        raise VaktError(
            _l("There is no Vakt database at {place}. {how}"),
            place=_database_place(settings),
            how=_HOW_TO_CREATE,
        )


def _unreachable(settings: Settings, error: Exception, how: LazyText) -> VaktError:
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return VaktError(
        _l("The database at {place} cannot be reached: {reason}. {how}"),
        place=_database_place(settings),
        reason=reason,
        how=how,
    )


async def _require_schema(engine: AsyncEngine, settings: Settings) -> None:
    """Refuse, in one line, a database that cannot be reached or has no Vakt tables."""
    try:
        async with engine.connect() as connection:
            migrated = await connection.run_sync(
                lambda sync: inspect(sync).has_table("alembic_version")
            )
    except (OSError, sqlalchemy.exc.DBAPIError) as error:
        raise _unreachable(settings, error, _HOW_TO_CREATE) from None
    if not migrated:
        raise VaktError(
            _l(
                "The database at {place} has no Vakt tables yet. "
                "Create them with `vakt db upgrade`."
            ),
            place=_database_place(settings),
        )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="vakt")
def main() -> None:
    """Vakt: online proctored exams for person-certification bodies.

    Settings come from the environment (VAKT_DATABASE_URL, VAKT_SECRET_KEY, VAKT_DATA_DIR, ...)
    or a .env file. Start with `vakt demo`.
    """


@main.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path("vakt-demo"),
    show_default=True,
    help="Folder for the demo's SQLite database and files.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--reset", is_flag=True, help="Delete the demo data folder first.")
@click.option("--no-serve", is_flag=True, help="Prepare the demo and exit without serving.")
def demo(data_dir: Path, host: str, port: int, reset: bool, no_serve: bool) -> None:
    """Create a demo installation (SQLite, a seeded scheme, a user per role) and serve it."""
    import shutil

    from vakt.db import utcnow
    from vakt.demo.seed import DEMO_PASSWORD, seed_demo
    from vakt.demo.signing import KEY_FILE, demo_signing_key

    if reset and data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = _settings(data_dir, database_url="", secret_key=_demo_secret(data_dir))
    if settings.signing_key_file is None:
        # The demo's certificates are signed too, with a self-signed key kept in its folder.
        key_file, passphrase = demo_signing_key(data_dir, settings.body_name, utcnow())
        settings = _settings(
            data_dir,
            database_url="",
            secret_key=settings.secret_key,
            signing_key_file=key_file,
            signing_key_passphrase=passphrase,
        )
    dbadmin.upgrade(settings.database_url)
    summary = run_in_session(settings, seed_demo)
    click.echo(f"Demo data in {data_dir.resolve()}")
    click.echo(summary)
    click.echo("")
    click.echo(f"Password for every demo user: {DEMO_PASSWORD}")
    if settings.signing_key is not None and settings.signing_key_file == data_dir / KEY_FILE:
        click.echo(
            f"Certificate PDFs are signed with a self-signed demo key ({settings.signing_key_file})"
            ": for demonstration only."
        )
    click.echo(f"Open http://{host}:{port}/ and sign in.")
    if not no_serve:
        _serve(settings, host=host, port=port, workers=1)


def _demo_secret(data_dir: Path) -> str:
    import secrets

    key_file = data_dir / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    import uvicorn

    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "proxy_headers": True,
        "log_level": "info",
        "timeout_keep_alive": settings.keep_alive_seconds,
    }
    if workers > 1:
        # Several processes need an import string; they read the same environment.
        uvicorn.run("web.app:app_from_environment", factory=True, workers=workers, **options)
    else:
        from web.app import create_app

        uvicorn.run(create_app(settings), **options)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes."
)
def serve(host: str, port: int, workers: int) -> None:
    """Serve Vakt for real use (settings from the environment; run `vakt db upgrade` first)."""
    settings = _settings()
    if settings.secret_key_is_temporary:
        raise click.ClickException(
            "Set VAKT_SECRET_KEY (for example to the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`): without it every "
            "worker signs sessions with its own random key and sign-ins do not survive a restart."
        )
    _serve(settings, host=host, port=port, workers=workers)


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Apply database migrations."""
    settings = _settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        dbadmin.upgrade(settings.database_url, revision)
    except (OSError, sqlalchemy.exc.DBAPIError) as error:
        how = _l(
            "Check VAKT_DATABASE_URL; a PostgreSQL database must be created first "
            "(createdb), then `vakt db upgrade` makes its tables."
        )
        raise _fail(_unreachable(settings, error, how), settings.default_language) from None
    click.echo("The database is up to date.")


@main.group()
def user() -> None:
    """User accounts."""


@user.command("add")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="The person's full name.")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["candidate", "item_writer", "item_reviewer", "grader", "proctor",
                                 "decision_maker", "administrator"]),
              help="A role; repeat for several.")  # fmt: skip
@click.option("--email", default=None, help="E-mail address.")
@click.option("--language", type=click.Choice(["nb", "en"]), default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_add(
    username: str,
    full_name: str,
    roles: tuple[str, ...],
    email: str | None,
    language: str | None,
    password_stdin: bool,
) -> None:
    """Create a user. The password is asked for (or read from stdin), never given as an argument."""
    from vakt.accounts import Role, create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat the password: ") != password:
            raise click.ClickException("The passwords differ.")

    async def work(session: AsyncSession) -> int:
        created = await create_user(
            session, username=username, full_name=full_name, password=password,
            roles={Role(r) for r in roles}, email=email, language=language,
        )  # fmt: skip
        return created.id

    user_id = run_in_session(_settings(), work)
    click.echo(f"Created user {username} (id {user_id}) with roles: {', '.join(roles)}")


@user.command("end-sessions")
@click.argument("username")
def user_end_sessions(username: str) -> None:
    """Sign a user out everywhere: every session of theirs ends at once (audited)."""
    from vakt.accounts import user_by_username
    from vakt.db import utcnow
    from vakt.sessions import EndReason, end_sessions

    async def work(session: AsyncSession) -> int:
        target = await user_by_username(session, username)
        return await end_sessions(
            session,
            target.id,
            now=utcnow(),
            reason=EndReason.ENDED_BY_ADMINISTRATOR,
            actor_id=None,
        )

    count = run_in_session(_settings(), work)
    click.echo(f"Ended {count} session(s) of {username.strip().lower()}.")


@main.group()
def scheme() -> None:
    """Certification schemes."""


@scheme.command("add")
@click.argument("code")
@click.argument("name")
def scheme_add(code: str, name: str) -> None:
    """Create a certification scheme."""
    from itembank import schemes

    async def work(session: AsyncSession) -> int:
        created = await schemes.create_scheme(session, code=code, name=name, actor_id=None)
        return created.id

    click.echo(f"Created scheme {code} (id {run_in_session(_settings(), work)}).")


@main.group()
def items() -> None:
    """Import and export items (QTI 3.0, QTI 2.1, YAML)."""


@items.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--scheme", "scheme_code", required=True, help="Code of the scheme to import into.")
@click.option(
    "--skip-unsupported",
    is_flag=True,
    help="Store the items that can be imported and list the rest.",
)
@click.option("--dry-run", is_flag=True, help="Check the file and report; store nothing.")
def items_import(file: Path, scheme_code: str, skip_unsupported: bool, dry_run: bool) -> None:
    """Import a QTI item (.xml), a QTI content package (.zip) or Vakt YAML (.yaml)."""
    from itembank import schemes, transfer

    data = file.read_bytes()

    async def work(session: AsyncSession) -> Any:
        target = await schemes.get_scheme_by_code(session, scheme_code)
        return await transfer.import_items(
            session, scheme_id=target.id, data=data, filename=file.name,
            actor_id=None, skip_unsupported=skip_unsupported, dry_run=dry_run,
        )  # fmt: skip

    report = run_in_session(_settings(), work)
    translations = translations_for(_settings().default_language)
    verb = "Would import" if dry_run else "Imported"
    click.echo(f"{verb} {len(report.imported)} items from {file.name}:")
    for row in report.imported:
        click.echo(f"  {row.external_id}  {row.status.value}  {row.title}")
    if report.problems:
        click.echo(f"Not imported ({len(report.problems)} problems):")
        for problem in report.problems:
            click.echo(f"  {render_message(problem.message_with_place(), translations)}")


@items.command("export")
@click.option("--scheme", "scheme_code", required=True, help="Code of the scheme to export.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["qti3", "qti21", "yaml"]),
    default="qti3",
    show_default=True,
)
@click.option(
    "--status",
    type=click.Choice(["draft", "in_review", "approved", "retired"]),
    default=None,
    help="Only items whose newest version has this status.",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
def items_export(scheme_code: str, fmt: str, status: str | None, output: Path) -> None:
    """Export the newest version of each item of a scheme."""
    from itembank import schemes, search, transfer
    from itembank.schemas import ItemStatus

    async def work(session: AsyncSession) -> tuple[bytes, int]:
        target = await schemes.get_scheme_by_code(session, scheme_code)
        query = search.ItemQuery(
            scheme_id=target.id, status=ItemStatus(status) if status else None, per_page=1_000_000
        )
        versions = (await search.search_items(session, query)).rows
        data, _media_type, _name = await transfer.export_items(
            session,
            version_ids=[v.id for v in versions],
            fmt=fmt,  # type: ignore[arg-type]
        )
        return data, len(versions)

    data, count = run_in_session(_settings(), work)
    output.write_bytes(data)
    click.echo(f"Exported {count} items to {output}.")


@main.group()
def audit() -> None:
    """The audit log."""


@audit.command("verify")
def audit_verify() -> None:
    """Check that no audit entry was edited, inserted or deleted."""
    from vakt.audit import ChainReport, verify_chain

    report: ChainReport = run_in_session(_settings(), verify_chain)
    if report.ok:
        click.echo(f"The audit log is intact ({report.checked} entries checked).")
        return
    for problem in report.problems:
        click.echo(problem, err=True)
    raise click.ClickException(
        f"The audit log has been tampered with ({len(report.problems)} problems, "
        f"{report.checked} entries checked)."
    )


@main.group()
def recordings() -> None:
    """Proctoring recordings and photos."""


@recordings.command("purge")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
def recordings_purge(dry_run: bool) -> None:
    """Delete recordings, snapshots and check-in photos whose retention time has run out.

    They are kept VAKT_RECORDING_RETENTION_DAYS after the result and the appeal period
    (VAKT_APPEAL_DAYS) are over; a registration with an appeal is kept while the appeal is open
    and VAKT_RECORDING_RETENTION_DAYS after it ended. Oral answers are kept with the results.
    The server also does this by itself every VAKT_RETENTION_INTERVAL_SECONDS.
    """
    from certification.retention_holds import AppealMediaHolds
    from exam.timing import SystemClock
    from proctoring.retention import PurgeReport, purge_expired
    from proctoring.storage import MediaStore

    settings = _settings()

    async def work(session: AsyncSession) -> PurgeReport:
        return await purge_expired(
            session,
            MediaStore(settings.data_dir / "media"),
            now=SystemClock().now(),
            appeal_days=settings.appeal_days,
            retention_days=settings.recording_retention_days,
            dry_run=dry_run,
            holds=AppealMediaHolds(),
        )

    report = run_in_session(settings, work)
    verb = "Would delete" if dry_run else "Deleted"
    click.echo(
        f"{verb} {len(report.recordings)} recordings, {len(report.snapshots)} snapshots and "
        f"{len(report.identity_photos)} check-in photos."
    )
    if report.held_registrations:
        click.echo(
            f"Kept the media of {len(report.held_registrations)} registration(s) for appeals."
        )


main.add_command(certificates)

if __name__ == "__main__":
    main()
