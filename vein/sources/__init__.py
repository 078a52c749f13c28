"""Sources: where state comes from.  One module per kind; heavy dependencies load lazily."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Document, FileSource, Source
from .dict import DictSource, from_dict
from .dotenv import DotenvSource, from_dotenv
from .env import EnvSource, from_env
from .json import JsonSource, from_json
from .toml import TomlSource, from_toml
from .yaml import YamlSource, from_yaml

__all__ = [
    "AppConfigSource",
    "DictSource",
    "Document",
    "DotenvSource",
    "EnvSource",
    "FileSource",
    "JsonSource",
    "Source",
    "TomlSource",
    "YamlSource",
    "from_appconfig",
    "from_dict",
    "from_dotenv",
    "from_env",
    "from_json",
    "from_toml",
    "from_yaml",
]


if TYPE_CHECKING:
    from .appconfig import AppConfigSource, from_appconfig


def __getattr__(name: str) -> Any:
    # The AppConfig source (and boto3 behind it) loads only when asked for.
    if name in ("AppConfigSource", "from_appconfig"):
        from . import appconfig

        return getattr(appconfig, name)
    raise AttributeError(f"module 'vein.sources' has no attribute {name!r}")
