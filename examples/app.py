"""The bundled example: the settings of a small web shop, declared with vein.

Run it through the command line (from this directory)::

    APP_DATABASE__PASSWORD=s3cret APP_LOG_LEVEL=debug \\
        vein show app:Settings --yaml config.yml --env APP_

or load it from Python: ``python app.py``.
"""

from __future__ import annotations

import enum
from typing import Literal

from attrs import validators as v

import vein


class LogLevel(enum.Enum):
    """How much the service logs."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@vein.flow
class Server:
    """The HTTP server."""

    host: str = vein.field(default="127.0.0.1", doc="Interface to listen on.")
    port: int = vein.field(
        default=8000, validator=[v.ge(1), v.le(65535)], doc="TCP port to listen on."
    )
    workers: int = vein.field(
        default=2, validator=[v.ge(1), v.le(64)], doc="Worker processes to start."
    )
    scheme: Literal["http", "https"] = vein.field(default="http", doc="Public URL scheme.")
    allowed_origins: list[str] = vein.field(
        factory=list, doc="Origins allowed to call the API from a browser (CORS)."
    )


@vein.flow
class Database:
    """The PostgreSQL database."""

    host: str = vein.field(default="localhost", doc="Database server host name.")
    port: int = vein.field(default=5432, validator=[v.ge(1), v.le(65535)], doc="Database port.")
    name: str = vein.field(default="shop", doc="Database name.")
    user: str = vein.field(default="shop", doc="Database user.")
    password: str = vein.field(
        default="", secret=True, doc="Database password (set it from the environment)."
    )
    pool_size: int = vein.field(
        default=10, validator=[v.ge(1), v.le(200)], doc="Connections kept open."
    )
    timeout: float = vein.field(
        default=5.0, validator=v.gt(0), doc="Seconds to wait for a connection."
    )


@vein.flow
class Cache:
    """The Redis cache in front of the database."""

    enabled: bool = vein.field(default=True, doc="Turn the cache off to debug stale data.")
    url: str = vein.field(default="redis://localhost:6379/0", doc="Redis URL.")
    ttl: int = vein.field(default=300, validator=v.ge(0), doc="Seconds an entry stays fresh.")


# The root is written with the base class (the same as @vein.flow) so that type checkers
# also see the methods every flow object has: update, explain, on_change...
class Settings(vein.Flow):
    """Settings of the shop service."""

    environment: Literal["development", "staging", "production"] = vein.field(
        default="development", doc="Where this instance runs."
    )
    debug: bool = vein.field(
        default=False, doc="Verbose errors in responses (never in production)."
    )
    log_level: LogLevel = vein.field(default=LogLevel.INFO, doc="Logging threshold.")
    api_key: str = vein.field(
        default="",
        secret=True,
        doc="Key of the payment provider's API (set it from the environment).",
    )
    admins: list[str] = vein.field(factory=list, doc="E-mail addresses that get error reports.")
    features: dict[str, bool] = vein.field(factory=dict, doc="Feature flags by name.")
    server: Server = vein.field(factory=Server)
    database: Database = vein.field(factory=Database)
    cache: Cache = vein.field(factory=Cache)


def main() -> None:
    """Load the settings the way an application does at start-up, and react to a change."""
    settings = vein.load(Settings, vein.from_yaml("config.yml"), vein.from_env("APP_"))
    print(f"listening on {settings.server.host}:{settings.server.port}")
    print(f"database.host comes from {settings.explain('database.host')}")

    @settings.on_change("log_level")
    def _log_level_changed(change: vein.Change) -> None:
        print(f"log level: {change.old.value} -> {change.new.value}")

    settings.log_level = LogLevel.WARNING


if __name__ == "__main__":
    main()
