"""App-wide wiring for Vakt: settings, database, audit log, accounts, translations and the CLI."""

__version__ = "0.1.0"
