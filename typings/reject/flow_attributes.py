"""Attribute reads and writes of flow objects keep their declared types."""

import vein


@vein.flow
class Database:
    host: str = "localhost"
    port: int = 5432


@vein.flow
class Settings:
    timeout: float = 30.0
    debug: bool = False
    database: Database = vein.field(factory=Database)


class Session(vein.Flow):
    user: str = ""
    retries: int = 3


settings = Settings()
settings.timeout = "fast"  # E: assignment
settings.database.port = "5432"  # E: assignment
settings.database.hostname = "db"  # E: attr-defined
settings.database = None  # E: assignment
port: str = settings.database.port  # E: assignment
settings.debug.upper()  # E: attr-defined

session = Session(user="ann")
session.retries = "3"  # E: assignment
session.usr = "bob"  # E: attr-defined
Session(user=1)  # E: arg-type
Session(retry=1)  # E: call-arg
