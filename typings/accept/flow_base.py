"""``class Settings(vein.Flow)``: the generated ``__init__`` and Flow's methods.

Type-checked only (``mypy --strict typings/accept``), never run.
"""

from __future__ import annotations

from typing import Any, assert_type

import attrs

import vein


class Database(vein.Flow):
    host: str = "localhost"
    port: int = vein.field(default=5432, validator=attrs.validators.ge(1))
    password: str = vein.field(default="", secret=True)


class Settings(vein.Flow):
    api_key: str = vein.field(default="", secret=True)
    timeout: float = 30.0
    debug: bool = False
    hosts: list[str] = vein.field(factory=list, merge="extend_unique")
    database: Database = vein.field(factory=Database)

    def url(self) -> str:  # ordinary methods keep working
        return f"{self.database.host}:{self.database.port}"


settings = Settings(timeout=10, database=Database(host="db", port=5433))
assert_type(settings, Settings)
assert_type(settings.timeout, float)
assert_type(settings.hosts, list[str])
assert_type(settings.database, Database)
assert_type(settings.database.host, str)
assert_type(settings.database.port, int)
assert_type(settings.url(), str)
settings.database.port = 6543
settings.timeout = 1


# A subclass is a flow class too, with the inherited fields in its __init__.
class Extended(Settings):
    retries: int = 3


assert_type(Extended(timeout=1.5, retries=5).retries, int)


# --- on_change, every form ----------------------------------------------------------------


def on_any(change: vein.Change) -> None:
    print(change)


sub = settings.on_change("database.host", on_any)  # one leaf
assert_type(sub, vein.Subscription)
assert_type(settings.on_change("database", on_any), vein.Subscription)  # a subtree
assert_type(settings.on_change("*", on_any), vein.Subscription)  # everything
assert_type(settings.on_change(on_any), vein.Subscription)  # everything, short form
assert_type(settings.on_change("timeout", on_any, weak=True), vein.Subscription)
assert_type(settings.database.on_change("host", lambda c: print(c.new)), vein.Subscription)
sub.cancel()
with settings.on_change("debug", on_any) as scoped:
    assert_type(scoped, vein.Subscription)


@settings.on_change("timeout")  # decorator form: the function is returned unchanged
def timeout_changed(change: vein.Change) -> None:
    assert_type(change.new, Any)


a_change: vein.Change = vein.Change("timeout", 1.0, 2.0, vein.Provenance("runtime"))
assert_type(timeout_changed(a_change), None)  # still the plain function


@settings.on_change("database", weak=True)
def database_changed(change: vein.Change) -> None: ...


@settings.on_change()  # everything
def anything_changed(change: vein.Change) -> int:
    return 0


assert_type(anything_changed(a_change), int)


def on_error(exc: BaseException) -> None: ...


assert_type(settings.on_error(on_error), vein.Subscription)


# --- update, explain, to_dict ------------------------------------------------------------

changes = settings.update(vein.from_yaml("config.yml"), vein.from_env("APP_"))
assert_type(changes, list[vein.Change])
assert_type(settings.update({"timeout": 5}), list[vein.Change])
assert_type(settings.update(vein.from_dict({"debug": True}, name="overrides")), list[vein.Change])
assert_type(settings.update(), list[vein.Change])
assert_type(settings.explain("database.host"), vein.Provenance)
assert_type(str(settings.explain("timeout")), str)
assert_type(settings.to_dict(), dict[str, Any])
assert_type(settings.to_dict(redact=True), dict[str, Any])
assert_type(settings["database"], Any)  # legacy dict-style reads
assert_type("timeout" in settings, bool)

# --- attrs introspection works on flow classes ---------------------------------------------

assert_type(attrs.fields_dict(Settings), dict[str, attrs.Attribute[Any]])
assert_type(attrs.asdict(settings), dict[str, Any])
assert_type(attrs.has(Settings), bool)
