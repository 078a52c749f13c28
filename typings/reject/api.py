"""The module-level API: results are typed, arguments are checked."""

import vein


@vein.flow
class Settings:
    timeout: float = 30.0


n: int = vein.load(Settings)  # E: assignment
vein.load(Settings, vein.from_env("APP_")).timout  # E: attr-defined
vein.load("Settings")  # E: arg-type
vein.structure({"timeout": 1}, Settings).timeout.upper()  # E: attr-defined
vein.structure(Settings, {"timeout": 1})  # E: arg-type
vein.from_env(prefix=1)  # E: arg-type
vein.from_env("APP_", empty="ignore")  # E: arg-type
vein.from_yaml(42)  # E: arg-type
vein.from_dict({"timeout": 1}, "overrides")  # E: call-arg


def on_change(change: vein.Change) -> None:
    change.path = "timeout"  # E: misc
    change.source.line = 3  # E: misc
    text: str = change.source  # E: assignment


try:
    vein.load(Settings)
except vein.ValidationError as exc:
    first: str = exc.errors[0]  # E: assignment
    exc.errors[0].path = "x"  # E: misc
    exc.errors[0].hint  # E: attr-defined
