"""The ~30-field settings schema of ``research/perf-load.md``, written with vein, plus its data.

29 leaves: 10 root scalars (``list[str]``, ``Optional[int]``, a ``StrEnum`` and a ``Path``
among them), ``database`` (6), ``cache`` (3) and ``features: dict[str, bool]`` with 10 keys.

This module imports only vein and the standard library, so the cold-start benchmark can
time "import vein + define the schema + first load" by importing it in a fresh process.
The same data (YAML text, env variables, expected values) is used by every library that
``bench/run.py`` measures, and every loader's result goes through :func:`check_settings`.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any, Optional

import attrs

import vein


class LogLevel(enum.StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@vein.flow
class Database:
    host: str = "localhost"
    port: int = 5432
    user: str = "app"
    password: str = vein.field(default="", secret=True)
    pool_size: int = 10
    timeout: float = 5.0


@vein.flow
class Cache:
    backend: str = "memory"
    ttl: int = 300
    max_items: int = 1000


@vein.flow
class Settings:
    name: str = "app"
    environment: str = "dev"
    debug: bool = False
    workers: int = 1
    sample_rate: float = 1.0
    allowed_hosts: list[str] = attrs.Factory(list)
    max_requests: Optional[int] = None  # noqa: UP045 - the schema spells it as perf-load.md does
    log_level: LogLevel = LogLevel.INFO
    data_dir: Path = Path("/srv/app")
    request_timeout: float = 30.0
    database: Database = attrs.Factory(Database)
    cache: Cache = attrs.Factory(Cache)
    features: dict[str, bool] = attrs.Factory(dict)


# --- the data -------------------------------------------------------------------------------

FEATURES: dict[str, bool] = {
    "new_ui": True,
    "beta_api": False,
    "dark_mode": True,
    "audit_log": True,
    "rate_limit": True,
    "export_csv": False,
    "sso": True,
    "webhooks": False,
    "search_v2": True,
    "metrics": True,
}

#: The expected values of every leaf after loading the YAML file (or the full env set).
EXPECTED: dict[str, Any] = {
    "name": "billing-api",
    "environment": "production",
    "debug": False,
    "workers": 8,
    "sample_rate": 0.25,
    "allowed_hosts": ["api.example.com", "www.example.com", "admin.example.com"],
    "max_requests": 10000,
    "log_level": LogLevel.WARNING,
    "data_dir": Path("/var/lib/billing"),
    "request_timeout": 12.5,
    "database.host": "db.internal.example.com",
    "database.port": 5433,
    "database.user": "billing",
    "database.password": "not-a-real-secret",
    "database.pool_size": 20,
    "database.timeout": 3.5,
    "cache.backend": "redis",
    "cache.ttl": 600,
    "cache.max_items": 50000,
    "features": FEATURES,
}

YAML_TEXT = """\
# billing service configuration
name: billing-api
environment: production
debug: false
workers: 8
sample_rate: 0.25
allowed_hosts:
  - api.example.com
  - www.example.com
  - admin.example.com
max_requests: 10000
log_level: warning
data_dir: /var/lib/billing
request_timeout: 12.5
database:
  host: db.internal.example.com
  port: 5433
  user: billing
  password: not-a-real-secret
  pool_size: 20
  timeout: 3.5
cache:
  backend: redis
  ttl: 600
  max_items: 50000
features:
  new_ui: true
  beta_api: false
  dark_mode: true
  audit_log: true
  rate_limit: true
  export_csv: false
  sso: true
  webhooks: false
  search_v2: true
  metrics: true
"""

PREFIX = "APP_"

#: 29 variables, one per leaf.  ``allowed_hosts`` is a JSON array: both vein and
#: pydantic-settings read that spelling, so every library sees the very same environment.
ENV_FULL: dict[str, str] = {
    "APP_NAME": "billing-api",
    "APP_ENVIRONMENT": "production",
    "APP_DEBUG": "false",
    "APP_WORKERS": "8",
    "APP_SAMPLE_RATE": "0.25",
    "APP_ALLOWED_HOSTS": '["api.example.com", "www.example.com", "admin.example.com"]',
    "APP_MAX_REQUESTS": "10000",
    "APP_LOG_LEVEL": "warning",
    "APP_DATA_DIR": "/var/lib/billing",
    "APP_REQUEST_TIMEOUT": "12.5",
    "APP_DATABASE__HOST": "db.internal.example.com",
    "APP_DATABASE__PORT": "5433",
    "APP_DATABASE__USER": "billing",
    "APP_DATABASE__PASSWORD": "not-a-real-secret",
    "APP_DATABASE__POOL_SIZE": "20",
    "APP_DATABASE__TIMEOUT": "3.5",
    "APP_CACHE__BACKEND": "redis",
    "APP_CACHE__TTL": "600",
    "APP_CACHE__MAX_ITEMS": "50000",
    **{f"APP_FEATURES__{k.upper()}": str(v).lower() for k, v in FEATURES.items()},
}

#: The merge case: the YAML file as the base, and these 6 variables on top.
ENV_OVERRIDES: dict[str, str] = {
    "APP_DATABASE__HOST": "db2.internal.example.com",
    "APP_DATABASE__PASSWORD": "another-fake-secret",
    "APP_WORKERS": "16",
    "APP_DEBUG": "true",
    "APP_CACHE__TTL": "900",
    "APP_LOG_LEVEL": "error",
}

EXPECTED_MERGED: dict[str, Any] = {
    **EXPECTED,
    "database.host": "db2.internal.example.com",
    "database.password": "another-fake-secret",
    "workers": 16,
    "debug": True,
    "cache.ttl": 900,
    "log_level": LogLevel.ERROR,
}


def leaves(obj: Any) -> dict[str, Any]:
    """The leaves of a loaded settings object (vein or pydantic: attribute access)."""
    out: dict[str, Any] = {}
    for key in EXPECTED:
        value = obj
        for part in key.split("."):
            value = getattr(value, part)
        out[key] = value
    return out


def check_settings(obj: Any, expected: dict[str, Any] = EXPECTED) -> None:
    """Raise AssertionError unless *obj* holds *expected*, with exact types (no 'None', '8')."""
    got = leaves(obj)
    for key, want in expected.items():
        have = got[key]
        if isinstance(want, enum.Enum):
            ok = have is want or (isinstance(have, enum.Enum) and have.value == want.value)
        elif isinstance(want, list):
            ok = list(have) == want and all(type(x) is str for x in have)
        elif isinstance(want, dict):
            ok = dict(have) == want and all(type(x) is bool for x in dict(have).values())
        elif isinstance(want, Path):
            ok = isinstance(have, Path) and have == want
        else:
            ok = type(have) is type(want) and have == want
        if not ok:
            raise AssertionError(f"{key}: expected {want!r}, got {have!r}")


def check_raw(data: Any, expected: dict[str, Any] = EXPECTED) -> None:
    """Check a plain parsed mapping (the bare PyYAML parse) against *expected*."""
    for key, want in expected.items():
        value = data
        for part in key.split("."):
            value = value[part]
        if isinstance(want, enum.Enum):
            want = want.value
        elif isinstance(want, Path):
            want = str(want)
        if value != want:
            raise AssertionError(f"{key}: expected {want!r}, got {value!r}")
