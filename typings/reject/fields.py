"""``vein.field`` declarations that a type checker catches."""

import vein


@vein.flow
class Database:
    port: int = vein.field(default="5432")  # E: assignment
    host: str = vein.field(default=None, secret=True)  # E: assignment
    hosts: list[str] = vein.field(factory=set)  # E: arg-type
    mode: list[str] = vein.field(factory=list, merge="append")  # E: call-overload
    password: str = vein.field(default="", secret="yes")  # E: call-overload


@vein.flow
class Settings:
    timeout: float = 30.0
    name: str  # E: misc


class Base(vein.Flow):
    user: str = vein.field(defualt="")  # E: call-overload
    timeout: float = vein.field(default="30s")  # E: assignment
    tags: dict[str, str] = vein.field(factory=list)  # E: arg-type
