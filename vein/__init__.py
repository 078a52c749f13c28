"""vein: typed, validated, evented configuration and application state.

Declare the shape of your state as attrs classes with ``@vein.flow``; fill it from layered
sources (environment, YAML/JSON/TOML files, dicts, AWS AppConfig); every write is validated
and tells its subscribers.
"""

from __future__ import annotations

from .api import explain, load, structure, to_dict
from .errors import ErrorEntry, ReadOnlyError, SourceError, ValidationError, VeinError, VeinWarning
from .flow import MISSING, Change, Flow, Provenance, Subscription, field, flow
from .flow.computed import computed
from .flow.config import Config
from .flow.txn import policy
from .watch import Watcher
from .sources import from_appconfig, from_dict, from_env, from_json, from_toml, from_yaml

__version__ = "0.1.0"

#: The process-wide schema-less config (``from vein import config``).
config: Config = Config()

__all__ = [
    "MISSING",
    "Change",
    "Config",
    "ErrorEntry",
    "Flow",
    "Provenance",
    "ReadOnlyError",
    "SourceError",
    "Subscription",
    "ValidationError",
    "Watcher",
    "VeinError",
    "VeinWarning",
    "computed",
    "config",
    "explain",
    "field",
    "flow",
    "from_appconfig",
    "from_dict",
    "from_env",
    "from_json",
    "from_toml",
    "from_yaml",
    "load",
    "policy",
    "structure",
    "to_dict",
]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
