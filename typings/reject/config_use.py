"""What mypy refuses about the typed process-wide config."""

import vein


@vein.flow
class Settings:
    timeout: float = 30.0


vein.config.use(Settings()).timout  # E: attr-defined
vein.config.use(Settings(), vein.from_env("APP_"))  # E: call-overload
