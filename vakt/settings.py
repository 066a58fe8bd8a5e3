"""Settings, read from the environment (prefix ``VAKT_``) and an optional ``.env`` file."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vakt.signing_key import SigningKey, load_signing_key

DEFAULT_BODY_COLOUR = "#0b4f8a"
LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
              ".webp": "image/webp", ".svg": "image/svg+xml"}  # fmt: skip
"""The logo files the header may show, by suffix, with the type they are served as."""
MIN_CONTRAST = 4.5
"""WCAG 2.2 AA for normal text: the header's and buttons' white text on the main colour."""
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def _linear(channel: int) -> float:
    value = channel / 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def contrast_with_white(colour: str) -> float:
    """The WCAG contrast ratio of white text on ``colour`` (#rrggbb)."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * _linear(red) + 0.7152 * _linear(green) + 0.0722 * _linear(blue)
    return 1.05 / (luminance + 0.05)


class Settings(BaseSettings):
    """Everything that differs between a demo, a test run and a production installation."""

    # Errors never repeat the input: it holds the passphrases and passwords.
    model_config = SettingsConfigDict(
        env_prefix="VAKT_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    data_dir: Path = Field(
        default=Path("vakt-data"), description="Where the SQLite file and uploads live"
    )
    database_url: str = Field(
        default="", description="SQLAlchemy async URL; empty means SQLite in data_dir"
    )
    database_pool_size: int = Field(default=20, ge=1)
    """Database connections each worker process keeps open. A request holds one from its first
    query to its commit; under load, opening a connection per request (a PostgreSQL process
    each) costs more than the request itself."""
    database_max_overflow: int = Field(default=10, ge=0)
    """Further connections a worker may open for a burst, closed again when returned."""
    keep_alive_seconds: int = Field(default=75, ge=1)
    """How long `vakt serve` keeps an idle connection open. The exam page saves every few
    seconds while a candidate types, and at least its clock every minute: a connection kept open
    spares both ends a new one, which under load is what makes a save slow. 75 s is nginx's
    default."""
    secret_key: str = Field(default="", description="Signs session cookies; set it in production")
    session_max_age_seconds: int = Field(default=8 * 3600, ge=60)
    """How long a sign-in lasts at most, however busy it is (the absolute timeout)."""
    session_idle_seconds: int = Field(default=30 * 60, ge=60)
    """A session unused this long is over (the idle timeout), except while the person is busy
    with something that must not be interrupted, such as an exam in progress."""
    secure_cookies: bool = False
    default_language: str = "nb"
    timezone: str = "Europe/Oslo"
    """The time zone in which people see and enter times (the database keeps UTC)."""
    login_free_failures: int = Field(default=5, ge=0)
    """Failed sign-ins to one account from one address before each further try must wait."""
    login_first_delay_seconds: int = Field(default=1, ge=1)
    """The first wait; it doubles with every further failure."""
    login_max_delay_seconds: int = Field(default=300, ge=1)
    """The longest wait between tries at one account from one address."""
    login_address_free_failures: int = Field(default=100, ge=0)
    """Failed sign-ins from one address, to any accounts, before each further try from it must
    wait. Larger than the per-account figure: an exam centre signs in many people from one
    address, and their typing errors add up."""
    login_address_max_delay_seconds: int = Field(default=60, ge=1)
    """The longest wait between tries from one address."""
    login_failure_window_seconds: int = Field(default=3600, ge=1)
    """Failed sign-ins older than this are forgotten."""
    max_upload_bytes: int = 50 * 1024 * 1024
    late_save_window_seconds: int = Field(default=900, ge=0, le=24 * 3600)
    """How long after a part's deadline answers typed before it may still arrive (a connection
    lost in the last minutes), counted from the deadline and from the candidate's last contact."""
    auto_submit_interval_seconds: float = 5.0
    """How often overdue exam parts are handed in automatically (0 turns it off)."""
    grading_claim_check_seconds: float = 60.0
    """How often claimed scripts whose time ran out go back to the grading queue (0: never)."""
    proctoring_watch_interval_seconds: float = 5.0
    """How often running parts are checked for a lost live channel and recording gaps."""
    live_grid_poll_seconds: float = Field(default=1.0, gt=0)
    """How often a proctor's live grid stream reads the grid from the database."""
    live_stream_seconds: float = Field(default=300.0, gt=0)
    """How long one live grid stream lasts before the browser reconnects (and its session is
    checked again); the reconnect resumes from the last event's id."""
    recording_retention_days: int = Field(default=183, ge=1)
    """Recordings and snapshots are deleted this long after the result and any appeal are final."""
    appeal_days: int = Field(default=21, ge=0)
    """How long after the result is sent a candidate may appeal (the rules: 3 weeks)."""
    body_name: str = Field(
        default="Vakt demo certification body",
        description="The certification body's name, printed on certificates",
    )
    body_logo: Path | None = Field(
        default=None,
        description="The body's logo in the header of every page: a PNG, JPEG, WebP or SVG file "
        "(a path, relative paths from data_dir); unset: no logo",
    )
    body_colour: str = Field(
        default=DEFAULT_BODY_COLOUR,
        description="The body's main colour (#rrggbb) for the header and primary buttons; white "
        "text must reach 4.5:1 contrast on it",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where the public reaches Vakt; certificates' QR codes point here",
    )
    signing_key_file: Path | None = Field(
        default=None,
        description="The body's key for signing certificate PDFs: a PKCS#12 file, or a PEM "
        "key with VAKT_SIGNING_CERT_FILE; unset: PDFs are not signed",
    )
    signing_cert_file: Path | None = None
    """With a PEM key: the PEM certificate of the key, followed by any intermediates."""
    signing_key_passphrase: SecretStr = SecretStr("")
    """The passphrase of the PKCS#12 file or PEM key (empty: not protected)."""
    public_requests_per_window: int = Field(default=60, ge=1)
    """Requests to the public verification and register pages one client address may make per
    window (against scraping the register or guessing numbers)."""
    public_window_seconds: int = Field(default=60, ge=1, le=24 * 3600)
    """The length of that window."""
    retention_interval_seconds: float = 3600.0
    """How often expired recordings are deleted while the server runs (0 turns it off)."""
    smtp_host: str = Field(
        default="", description="SMTP server for e-mail; empty: messages go to the console"
    )
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_tls: Literal["none", "starttls", "tls"] = "starttls"
    """How the connection to the SMTP server is protected: STARTTLS on a plain connection
    (port 587), TLS from the first byte (port 465), or none (a relay on the same host only)."""
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    """Never written to the log, the audit log or a message's recorded error."""
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_from: str = ""
    """The sender of every e-mail, e.g. ``Vakt <vakt@example.org>``; required with an SMTP host."""
    mail_interval_seconds: float = 10.0
    """How often waiting e-mails are sent (0 turns sending off; the inbox still gets them)."""
    mail_retry_seconds: float = Field(default=60.0, gt=0)
    """The wait before the second try at an e-mail; it doubles with every further try."""
    mail_max_attempts: int = Field(default=6, ge=1)
    """Tries at one e-mail before it is marked failed (the message stays in the inbox)."""
    oidc_issuer: str = Field(
        default="",
        description="Issuer URL of the OpenID Connect provider for e-ID sign-in; empty: off",
    )
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid profile email"
    oidc_display_name: str = Field(default="e-ID", description="Names the provider on the button")
    debug: bool = False
    secret_key_is_temporary: bool = Field(default=False, exclude=True)
    """True when no key was configured and a random one was made for this process."""
    _signing_key: SigningKey | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{(self.data_dir / 'vakt.sqlite3').resolve()}"
        if not self.secret_key:
            # A random key keeps a forgotten setting safe; sessions then end at restart.
            self.secret_key = secrets.token_urlsafe(48)
            self.secret_key_is_temporary = True
        if self.oidc_issuer and not self.oidc_client_id:
            # Better refused at start than a sign-in button that always fails.
            raise ValueError("VAKT_OIDC_CLIENT_ID is required when VAKT_OIDC_ISSUER is set")
        if self.smtp_host and not self.mail_from:
            raise ValueError("VAKT_MAIL_FROM is required when VAKT_SMTP_HOST is set")
        if self.signing_cert_file is not None and self.signing_key_file is None:
            raise ValueError("VAKT_SIGNING_KEY_FILE is required when VAKT_SIGNING_CERT_FILE is set")
        if not _HEX_COLOUR.fullmatch(self.body_colour):
            raise ValueError("VAKT_BODY_COLOUR must be a colour written #rrggbb, e.g. #0b4f8a")
        self.body_colour = self.body_colour.lower()
        contrast = contrast_with_white(self.body_colour)
        if contrast < MIN_CONTRAST:
            # The header and primary buttons have white text on this colour.
            raise ValueError(
                f"VAKT_BODY_COLOUR {self.body_colour} is too light: white text on it has a "
                f"contrast of {contrast:.2f}:1, and at least {MIN_CONTRAST}:1 is required "
                "(WCAG AA); choose a darker colour"
            )
        if self.body_logo is not None:
            if not self.body_logo.is_absolute():
                self.body_logo = self.data_dir / self.body_logo
            if self.body_logo.suffix.lower() not in LOGO_TYPES:
                raise ValueError("VAKT_BODY_LOGO must be a .png, .jpg, .jpeg, .webp or .svg file")
            if not self.body_logo.is_file():
                raise ValueError(f"VAKT_BODY_LOGO: no file at {self.body_logo}")
        if self.signing_key_file is not None:
            # Read now: a wrong passphrase stops the start, not a holder's download.
            self._signing_key = load_signing_key(
                self.signing_key_file,
                self.signing_key_passphrase.get_secret_value(),
                self.signing_cert_file,
            )
        return self

    @property
    def signing_key(self) -> SigningKey | None:
        """The body's key for signing certificate PDFs, or None: they are not signed."""
        return self._signing_key

    @property
    def late_save_window(self) -> timedelta:
        """How long after the deadline answers typed in time may still arrive."""
        return timedelta(seconds=self.late_save_window_seconds)

    @property
    def oidc_enabled(self) -> bool:
        """True when sign-in with national e-ID (OpenID Connect) is configured."""
        return bool(self.oidc_issuer)

    @property
    def is_sqlite(self) -> bool:
        """True when the database is a SQLite file."""
        return self.database_url.startswith("sqlite")
