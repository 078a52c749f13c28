"""The process-wide config with a typed schema installed: mypy knows what ``use`` returns."""

from typing import assert_type

import vein


@vein.flow
class Settings:
    timeout: float = 30.0


class Session(vein.Flow):
    user: str = ""


assert_type(vein.config.use(Settings), Settings)
assert_type(vein.config.use(Settings, vein.from_env("APP_")), Settings)
assert_type(vein.config.use(Session()), Session)
assert_type(vein.config.typed(Settings).timeout, float)
