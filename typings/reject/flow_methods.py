"""Flow's methods (``on_change``, ``update``, ``explain``, ``to_dict``) are typed."""

import vein


class Settings(vein.Flow):
    timeout: float = 30.0


settings = Settings()


def wrong_callback(value: int) -> None: ...


settings.on_change("timeout", wrong_callback)  # E: arg-type
settings.on_change("timeout", 42)  # E: call-overload
settings.on_change(3)  # E: call-overload
settings.on_change("timeout", wrong_callback, True)  # E: call-overload


@settings.on_change("timeout")  # E: type-var
def takes_no_change() -> None: ...


settings.on_error(wrong_callback)  # E: arg-type
changes: dict[str, object] = settings.update({"timeout": 5})  # E: assignment
settings.explain(1)  # E: arg-type
line: int = settings.explain("timeout").line  # E: assignment
settings.to_dict(True)  # E: call-arg
text: str = settings.to_dict()  # E: assignment
settings.on_change("timeout", print).cancel(now=True)  # E: call-arg
