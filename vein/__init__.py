"""vein: typed, validated, evented configuration and application state.

Declare the shape of your state as attrs classes with ``@vein.flow``; fill it from layered
sources (environment, YAML/JSON/TOML files, dicts, AWS AppConfig); every write is validated
and tells its subscribers.
"""

from __future__ import annotations

import typing as _typing

from .api import explain, load, structure, to_dict, validates
from .errors import ErrorEntry, ReadOnlyError, SourceError, ValidationError, VeinError, VeinWarning
from .flow import MISSING, Change, Flow, Provenance, Subscription, field, flow
from .flow.computed import computed
from .flow.config import Config
from .flow.events import MissingType
from .flow.schema import SchemaError
from .flow.txn import policy
from .sources import from_dict, from_dotenv, from_env, from_json, from_toml, from_yaml

if _typing.TYPE_CHECKING:
    from .infer import infer_schema
    from .sources.appconfig import from_appconfig
    from .watch import Watcher

__version__ = "0.1.0"

#: The process-wide schema-less config (``from vein import config``).
config: Config = Config()

__all__ = [
    "MISSING",
    "Change",
    "Config",
    "ErrorEntry",
    "Flow",
    "MissingType",
    "Provenance",
    "ReadOnlyError",
    "SchemaError",
    "SourceError",
    "Subscription",
    "ValidationError",
    "VeinError",
    "VeinWarning",
    "Watcher",
    "computed",
    "config",
    "explain",
    "field",
    "flow",
    "from_appconfig",
    "from_dict",
    "from_dotenv",
    "from_env",
    "from_json",
    "from_toml",
    "from_yaml",
    "infer_schema",
    "load",
    "policy",
    "structure",
    "to_dict",
    "validates",
]


# Imported on first use: they pull in modules most programs never need at start-up.
_LAZY = {
    "infer_schema": ("vein.infer", "infer_schema"),
    "from_appconfig": ("vein.sources.appconfig", "from_appconfig"),
    "Watcher": ("vein.watch", "Watcher"),
}


def __getattr__(name: str) -> _typing.Any:
    found = _LAZY.get(name)
    if found is None:
        raise AttributeError(f"module 'vein' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(found[0]), found[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    names = set(globals()) | set(__all__)
    return sorted(n for n in names if n.startswith("__") or not n.startswith("_"))


del annotations  # the __future__ feature, not part of the API
