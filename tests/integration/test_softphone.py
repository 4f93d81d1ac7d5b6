"""A real softphone (baresip, Debian's package) registers with a seat's credentials, headless."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

from contact_center.data import table
from contact_center.data.bindings import BindingItems
from tests.support.ports import free_port
from tests.support.stack import RunningStack, http_json, running_stack

BARESIP_MODULES = Path("/usr/lib/baresip/modules")


def onboard_seat(stack: RunningStack) -> dict[str, str]:
    admin = {"Authorization": f"Bearer {stack.admin_key}", "Content-Type": "application/json"}
    status, body = http_json(
        "POST",
        f"{stack.api_url}/merchants",
        json.dumps(
            {"name": "Softphone Co", "seat_licenses": 1, "contact_email": "ops@softphone.test"}
        ).encode(),
        admin,
    )
    assert status == 201, body
    merchant = json.loads(body)
    key = {"Authorization": f"Bearer {merchant['api_key']}", "Content-Type": "application/json"}
    status, body = http_json(
        "POST",
        f"{stack.api_url}/merchants/{merchant['merchant_id']}/seats",
        json.dumps({"display_name": "Desk phone"}).encode(),
        key,
    )
    assert status == 201, body
    return dict(json.loads(body)["sip"])


def start_baresip(baresip: str, home: Path, output: Path, sip: dict[str, str]) -> subprocess.Popen[bytes]:
    """baresip on a free loopback port; another port is tried if that one was taken meanwhile."""
    home.mkdir(exist_ok=True)
    (home / "accounts").write_text(
        f"<sip:{sip['username']}@{sip['registrar']};transport=udp>;auth_pass={sip['password']};regint=600\n"
    )
    for _ in range(3):
        (home / "config").write_text(
            "poll_method epoll\n"
            f"sip_listen 127.0.0.1:{free_port()}\n"
            f"module_path {BARESIP_MODULES}\n"
            "module g711.so\n"
            "module_app account.so\n"
            "audio_player aufile,/dev/null\n"
            "audio_source ausine,440\n"
        )
        with output.open("wb") as out:
            phone = subprocess.Popen(
                [baresip, "-f", str(home)], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        time.sleep(0.5)
        if "Address already in use" not in output.read_text(errors="replace"):
            return phone
        phone.terminate()
        phone.wait(10)
    raise AssertionError(output.read_text(errors="replace"))


def test_baresip_registers_with_the_seat_credentials(tmp_path: Path) -> None:
    baresip = shutil.which("baresip")
    assert baresip, "baresip is installed by `make setup`"
    with running_stack(tmp_path) as stack:
        sip = onboard_seat(stack)
        output = tmp_path / "baresip.log"
        phone = start_baresip(baresip, tmp_path / "baresip", output, sip)
        try:
            deadline = time.monotonic() + 20
            while "200 OK" not in output.read_text(errors="replace"):
                assert phone.poll() is None, output.read_text(errors="replace")
                assert time.monotonic() < deadline, output.read_text(errors="replace") + stack.log()[-2000:]
                time.sleep(0.2)
            # The binding reaches the table (written behind) with the phone's own User-Agent.
            table.bind(table_name="switchboard", host=stack.dynamodb_endpoint)
            aor = f"sip:{sip['username']}@{sip['domain']}"
            while not (bindings := BindingItems().current(aor, int(time.time()))):
                assert time.monotonic() < deadline, "the binding was never written"
                time.sleep(0.1)
            assert "baresip" in (bindings[0].user_agent or "")
            assert bindings[0].flow_owner == "local-edge-1"
        finally:
            phone.terminate()
            phone.wait(10)
