"""Where the deployable pieces live in the repository (the CDK app runs from any working directory)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LAYER_SOURCE = REPO_ROOT / "layers" / "core"
LAYER_PACKAGE = LAYER_SOURCE / "python" / "contact_center"
FUNCTIONS = REPO_ROOT / "functions"
ROUTING_FUNCTION = FUNCTIONS / "routing"
AGENT_EVENTS_FUNCTION = FUNCTIONS / "agent_events"
WEBHOOKS_FUNCTION = FUNCTIONS / "webhooks"
FAILOVER_FUNCTION = FUNCTIONS / "failover"
API_FUNCTION = FUNCTIONS / "api"
API_OPENAPI_DOCUMENT = API_FUNCTION / "openapi.json"
API_APP_MODULE = API_FUNCTION / "app.py"
SIP_EDGE_DOCKERFILE = "sip_edge/Dockerfile"  # relative to the build context, the repository root
REQUIREMENTS = REPO_ROOT / "requirements.txt"
# pip downloads for the layer, reused across synths; inside build/, which git ignores.
BUILD_CACHE = REPO_ROOT / "build" / "cdk-cache"

# Never packaged into a Lambda asset: byte code, local Chalice state, tests next to handlers.
CODE_EXCLUDES = ["**/__pycache__", "**/*.pyc", ".chalice", "tests", "**/.pytest_cache", "**/.mypy_cache"]
# The agent beside rtpengine on every media relay instance (shipped in the relay's bundle).
RELAY_AGENT = REPO_ROOT / "media_relay" / "agent.py"
# The default prompts, made by `make prompts` (espeak-ng and sox), played by every relay.
DEFAULT_PROMPTS = REPO_ROOT / "build" / "prompts"
SIP_EDGE_PACKAGE = REPO_ROOT / "sip_edge"
