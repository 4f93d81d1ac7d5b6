#!/usr/bin/env python3
"""The one composition root of Switchboard's AWS deployment (named by cdk.json).

Run by `npx cdk synth|deploy` or directly as `python infra/app.py`; both work offline.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
# switchboard_infra lives next to this file; the table schema it builds from lives in the layer.
for path in (HERE, REPO_ROOT / "layers" / "core" / "python"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import aws_cdk as cdk  # noqa: E402

from switchboard_infra.config import load_context  # noqa: E402
from switchboard_infra.deployment import build  # noqa: E402


def main() -> None:
    # cdk.json's context is the default; whatever the CLI passes (its -c options included) wins over it.
    # The CLI also names the output directory; run directly, we write where it would.
    app = cdk.App(
        outdir=os.environ.get("CDK_OUTDIR") or str(REPO_ROOT / "cdk.out"),
        context=load_context(REPO_ROOT),
    )
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
