"""``@vein.flow`` classes as a type checker sees them (dataclass_transform).

Type-checked only (``mypy --strict typings/accept``), never run.
"""

from __future__ import annotations

from typing import Any, assert_type

import attrs

import vein


def _even(_instance: object, _attribute: attrs.Attribute[int], value: int) -> None:
    if value % 2:
        raise ValueError("must be even")


@vein.flow
class Database:
    host: str = "localhost"
    port: int = vein.field(
        default=5432,
        validator=attrs.validators.and_(attrs.validators.ge(1), attrs.validators.le(65535)),
    )
    password: str = vein.field(default="", secret=True)
    pool: int = vein.field(default=4, validator=_even, doc="connections kept open")


@vein.flow
class Settings:
    name: str  # required: no default
    api_key: str = vein.field(default="", secret=True)
    timeout: float = 30.0
    debug: bool = False
    hosts: list[str] = vein.field(factory=list)
    labels: dict[str, str] = vein.field(factory=dict, merge="deep")
    region: str = vein.field(default="eu", env="AWS_REGION", readonly=True)
    database: Database = vein.field(factory=Database)


# The generated __init__, called with keyword arguments (and defaults left out).
db = Database(host="db.internal", port=5433, password="s3cret")
settings = Settings(
    name="svc",
    api_key="k",
    timeout=5,  # an int where a float is declared
    hosts=["a", "b"],
    labels={"team": "core"},
    database=db,
)
assert_type(Settings(name="minimal"), Settings)
assert_type(Database(), Database)

# Attribute types, nested attributes included.
assert_type(settings.name, str)
assert_type(settings.api_key, str)
assert_type(settings.timeout, float)
assert_type(settings.debug, bool)
assert_type(settings.hosts, list[str])
assert_type(settings.labels, dict[str, str])
assert_type(settings.database, Database)
assert_type(settings.database.host, str)
assert_type(settings.database.port, int)
assert_type(settings.database.pool, int)

# Plain attribute writes of the declared types.
settings.timeout = 2
settings.timeout = 2.5
settings.database.port = 6543
settings.hosts.append("c")


# With options.
@vein.flow(dynamic=False)
class Limits:
    rps: int = 100
    burst: int = vein.field(default=10, kw_only=True)


assert_type(Limits(50, burst=20).burst, int)

# The module-level functions take any flow object, decorated classes included.
assert_type(vein.to_dict(settings), dict[str, Any])
assert_type(vein.to_dict(settings, redact=True), dict[str, Any])
assert_type(vein.explain(settings, "database.host"), vein.Provenance)

# Flow's methods, on a decorated class: narrow with isinstance (every flow object is one).
if isinstance(settings, vein.Flow):
    assert_type(settings.update({"timeout": 5}), list[vein.Change])
    assert_type(settings.database.port, int)
