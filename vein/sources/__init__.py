"""Sources: where state comes from.  One module per kind; heavy dependencies load lazily."""

from __future__ import annotations

from .base import Document, FileSource, Source
from .dict import DictSource, from_dict
from .env import EnvSource, from_env
from .json import JsonSource, from_json
from .toml import TomlSource, from_toml
from .yaml import YamlSource, from_yaml

__all__ = [
    "DictSource",
    "Document",
    "EnvSource",
    "FileSource",
    "JsonSource",
    "Source",
    "TomlSource",
    "YamlSource",
    "from_dict",
    "from_env",
    "from_json",
    "from_toml",
    "from_yaml",
]
