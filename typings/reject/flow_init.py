"""The generated ``__init__`` of a ``@vein.flow`` class is checked like a dataclass's."""

import vein


@vein.flow
class Database:
    host: str = "localhost"
    port: int = 5432


@vein.flow
class Settings:
    name: str
    timeout: float = 30.0
    hosts: list[str] = vein.field(factory=list)
    database: Database = vein.field(factory=Database)


Settings(name="svc", timeout="fast")  # E: arg-type
Settings(name="svc", timout=3.0)  # E: call-arg
Settings()  # E: call-arg
Settings(name=None)  # E: arg-type
Settings(name="svc", hosts=[1, 2])  # E: list-item
Database(port="5432")  # E: arg-type
Database(host="db", port=5432, user="x")  # E: call-arg
Settings("svc", 1.0, [], Database(), "extra")  # E: call-arg
