"""The module-level API: ``load``, ``structure``, sources, ``Change`` and the errors.

Type-checked only (``mypy --strict typings/accept``), never run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, assert_type

import vein


@vein.flow
class Database:
    host: str = "localhost"
    port: int = 5432


@vein.flow
class Settings:
    timeout: float = 30.0
    database: Database = vein.field(factory=Database)


class Session(vein.Flow):
    user: str = ""
    tags: list[str] = vein.field(factory=list)


# load: defaults plus sources, in one step; the result has the class's type.
settings = vein.load(Settings, vein.from_env("APP_"), vein.from_yaml("x.yml"))
assert_type(settings, Settings)
assert_type(settings.database.port, int)
assert_type(vein.load(Settings), Settings)
assert_type(vein.load(Session, {"user": "ann"}), Session)
assert_type(
    vein.load(
        Settings,
        vein.from_yaml(Path("base.yml"), optional=True, strict=False, document=0),
        vein.from_json("x.json", optional=True),
        vein.from_toml(Path("x.toml")),
        vein.from_dict({"timeout": 3}, name="cli"),
        vein.from_env("APP_", environ={"APP_TIMEOUT": "3"}, empty="keep", warn_unknown=False),
    ),
    Settings,
)

# structure: a plain (legacy) dict into a flow class.
assert_type(vein.structure({"timeout": 1.5, "database": {"port": 1}}, Settings), Settings)
assert_type(vein.structure({"userName": "x"}, Session, strict=False, normalize_keys=True), Session)
assert_type(vein.to_dict(settings, redact=True), dict[str, Any])


# Change: immutable, with typed attributes.
def on_change(change: vein.Change) -> None:
    assert_type(change.path, str)
    assert_type(change.old, Any)
    assert_type(change.new, Any)
    assert_type(change.source, vein.Provenance)
    assert_type(change.source.kind, str)
    assert_type(change.source.name, str | None)
    assert_type(change.source.line, int | None)
    assert_type(change.source.column, int | None)
    if change.old is vein.MISSING:
        print(f"{change.path} created by {change.source}")


# Errors: every problem, with its path, message and source.
try:
    vein.load(Settings, vein.from_env("APP_"))
except vein.ValidationError as exc:
    assert_type(exc.errors, list[vein.ErrorEntry])
    for entry in exc.errors:
        assert_type(entry.path, str)
        assert_type(entry.message, str)
        assert_type(entry.source, vein.Provenance | None)
except vein.SourceError as exc:
    assert_type(exc.errors, list[vein.ErrorEntry])
    assert_type(exc.source, str | None)
    assert_type(exc.line, int | None)
    assert_type(exc.column, int | None)
    assert_type(exc.message, str)
except vein.VeinError as exc:
    assert_type(exc, vein.VeinError)

assert issubclass(vein.ValidationError, ValueError)
assert issubclass(vein.ReadOnlyError, AttributeError)
assert_type(vein.__version__, str)
