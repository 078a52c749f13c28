"""Sources: where state comes from.  One module per kind; heavy dependencies load lazily."""

from __future__ import annotations

from .appconfig import AppConfigSource, from_appconfig
from .base import Document, FileSource, Source
from .dict import DictSource, from_dict
from .env import EnvSource, from_env
from .json import JsonSource, from_json
from .toml import TomlSource, from_toml
from .yaml import YamlSource, from_yaml

__all__ = [
    "AppConfigSource",
    "DictSource",
    "Document",
    "EnvSource",
    "FileSource",
    "JsonSource",
    "Source",
    "TomlSource",
    "YamlSource",
    "from_appconfig",
    "from_dict",
    "from_env",
    "from_json",
    "from_toml",
    "from_yaml",
]
