"""The agent desk in a real browser, against the whole local stack (sipp as the carrier and as the
agent's phone, the event socket, the API behind the web origin).

An agent signs in and goes available; a carrier call arrives and the desk shows it (caller, queue,
time waited, CRM link) within a second of the INVITE reaching the agent's phone; the call ends, the
agent picks a wrap-up code and the contact record shows it. The agent's token reaches nothing else.
"""

from __future__ import annotations

import re
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.integration.calls_support import (
    SIPP,
    Merchant,
    Sipp,
    add_trunk,
    agent,
    call_api,
    caller,
    onboard,
    register,
    sipp_args,
)
from tests.support.stack import RunningStack

HERE = Path(__file__).resolve().parent
NUMBER = "+14155557017"
CALLER = "+49305551"  # caller_bye.xml's From: +4930555[call_number]
PASSWORD = "correct horse battery"
CRM = "https://crm.example/customers?phone={caller}"
CODES = ["Order status", "Refund", "Complaint"]
SHOWN_WITHIN_MS = 1000

# sipp -trace_msg: a dashed line with the date and time, then "UDP message received ... :", the message.
_RECEIVED_INVITE = re.compile(
    r"-{5,} (\d{4}-\d\d-\d\d)\s+(\d\d:\d\d:\d\d\.\d+)\s*\n\S+ message received \[\d+\] bytes :\s*\n\s*INVITE "
)


def invite_reached_phone_ms(messages: str) -> int:
    found = _RECEIVED_INVITE.search(messages)
    assert found, messages[-2000:]
    stamp = datetime.strptime(f"{found[1]} {found[2][:15]}", "%Y-%m-%d %H:%M:%S.%f")
    return int(stamp.timestamp() * 1000)  # sipp writes local time, as naive datetimes are read


def phone(merchant: Merchant, tmp: Path) -> Sipp:
    seat = merchant.seats[0]
    name = "desk_phone"
    proc = subprocess.Popen(
        [SIPP, "-sf", str(HERE / "scenarios" / "desk_phone.xml"), *sipp_args(tmp, name, seat.port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp,
    )
    return Sipp(name, proc, tmp)


@pytest.fixture(scope="module")
def merchant(stack: RunningStack) -> Merchant:
    add_trunk(stack, {"name": "Loopback carrier", "source_cidrs": ["127.0.0.0/8"]})
    return desk_merchant(stack, NUMBER)


def desk_merchant(stack: RunningStack, number: str) -> Merchant:
    """A merchant with two seats, desk settings and the agent "ana" on the first seat."""
    made = onboard(stack, number, seats=2)
    path = f"/merchants/{made.merchant_id}"
    status, body = call_api(
        stack, "PUT", path + "/desk-settings", {"crm_link_template": CRM, "wrap_up_codes": CODES}, made.key
    )
    assert status == 200, body
    agent = {"user_id": "ana", "role": "agent", "seat_id": made.seats[0].seat_id, "password": PASSWORD}
    status, body = call_api(stack, "POST", path + "/users", agent, made.key)
    assert status == 201, body
    return made


def sign_in(page: Page, stack: RunningStack, merchant: Merchant) -> None:
    page.goto(stack.web_url + "/desk/")
    page.get_by_label("Merchant ID").fill(merchant.merchant_id)
    page.get_by_label("User ID").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#state")).to_have_text("Offline")
    expect(page.locator("body")).to_have_attribute("data-socket", "connected")


def test_an_agent_takes_a_call_at_the_desk_and_wraps_it_up(
    stack: RunningStack, merchant: Merchant, page: Page, tmp_path: Path
) -> None:
    seat = merchant.seats[0]
    register(stack, seat, tmp_path)
    sign_in(page, stack, merchant)

    # Given the agent available at the desk
    page.get_by_role("button", name="Available").click()
    expect(page.locator("#state")).to_have_attribute("data-state", "available")
    screenshot(page, "desk-idle")

    # When a carrier call arrives for the merchant's number
    ringing = phone(merchant, tmp_path)
    call = caller(stack, NUMBER, "caller_bye.xml", tmp_path)

    # Then the desk shows it: caller, queue, time waited, the CRM link with the caller's number
    offer = page.locator("#call")
    expect(offer).to_be_visible(timeout=10_000)
    expect(page.locator("#call-caller")).to_have_text(CALLER)
    expect(page.locator("#call-queue")).to_have_text("Support")
    expect(page.locator("#call-waited")).to_have_text(re.compile(r"^\d+ s$"))
    expect(page.locator("#call-crm")).to_have_attribute(
        "href", "https://crm.example/customers?phone=%2B49305551"
    )
    screenshot(page, "desk-offered-call")
    shown_at = int(offer.get_attribute("data-shown-at") or 0)

    # And the call ends (the caller hangs up after the answer), so the desk asks for a wrap-up code
    assert call.wait(30) == 0, call.report()
    assert ringing.wait(30) == 0, ringing.report()
    latency = shown_at - invite_reached_phone_ms(ringing.messages())
    print(f"\ndesk showed the offered call {latency} ms after the INVITE reached the agent's phone")
    assert latency < SHOWN_WITHIN_MS

    wrap_up = page.locator("#wrap-up")
    expect(wrap_up).to_be_visible(timeout=10_000)
    page.get_by_label("Wrap-up code").select_option("Refund")
    page.get_by_role("button", name="Save wrap-up").click()
    expect(page.locator("#wrap-up-result")).to_have_text("Saved: Refund")
    screenshot(page, "desk-wrap-up")

    # And the contact record shows the code
    contact_id = offer.get_attribute("data-contact-id")
    status, records = call_api(
        stack, "GET", f"/merchants/{merchant.merchant_id}/contacts", None, merchant.key
    )
    assert status == 200, records
    (record,) = [r for r in records["items"] if r["contact_id"] == contact_id]
    assert (record["caller"], record["seat_id"], record["wrap_up_code"]) == (CALLER, seat.seat_id, "Refund")


def test_an_agents_token_reaches_its_own_seat_only_and_no_merchant_setting(
    stack: RunningStack, merchant: Merchant
) -> None:
    status, signed = call_api(
        stack,
        "POST",
        "/auth/sign-in",
        {"merchant_id": merchant.merchant_id, "user_id": "ana", "password": PASSWORD},
    )
    assert status == 200, signed
    token, path = signed["token"], f"/merchants/{merchant.merchant_id}"
    own, other = merchant.seats[0].seat_id, merchant.seats[1].seat_id

    assert call_api(stack, "GET", f"{path}/seats/{own}/desk", None, token)[0] == 200
    forbidden = [
        ("GET", f"{path}/seats/{other}/state"),
        ("GET", f"{path}/seats/{other}"),
        ("GET", f"{path}/seats/{other}/desk"),
        ("GET", path),
        ("GET", f"{path}/desk-settings"),
        ("PUT", f"{path}/desk-settings"),
        ("GET", f"{path}/queues/{merchant.queue_id}"),
        ("GET", f"{path}/contacts"),
        ("GET", f"{path}/webhooks"),
    ]
    answers = {
        route: call_api(stack, route[0], route[1], {} if route[0] == "PUT" else None, token)
        for route in forbidden
    }
    assert {route: status for route, (status, _) in answers.items()} == {route: 403 for route in forbidden}


def test_an_agent_transfers_the_talking_caller_to_another_seat_from_the_desk(
    stack: RunningStack, merchant: Merchant, page: Page, tmp_path: Path
) -> None:
    # Given ana available at the desk of a merchant of her own (the module's first seat has had its
    # call), her colleague not yet
    del merchant  # the module's carrier trunk
    mine = desk_merchant(stack, "+14155557018")
    first, second = mine.seats
    register(stack, first, tmp_path)
    register(stack, second, tmp_path)
    sign_in(page, stack, mine)
    page.get_by_role("button", name="Available").click()
    expect(page.locator("#state")).to_have_attribute("data-state", "available")
    answering = agent(first, "agent_answer.xml", tmp_path, name="ana_phone")
    taking = agent(second, "agent_answer.xml", tmp_path, name="colleague_phone")
    call = caller(stack, "+14155557018", "caller_transferred.xml", tmp_path)

    # When ana is on the call, the desk offers a transfer
    form = page.locator("#transfer-form")
    expect(form).to_be_visible(timeout=10_000)
    mine.set_state(second, "available")
    # and a target the API refuses is shown beside the field, the call untouched
    page.get_by_label("To", exact=True).select_option("number")
    page.get_by_label("Seat, queue or number").fill("not a number")
    page.get_by_role("button", name="Transfer").click()
    expect(form.locator('[data-field="target"]')).to_contain_text("is not a phone number")
    assert mine.state(first) == "on_contact"

    # When she transfers the caller to her colleague's seat
    page.get_by_label("To", exact=True).select_option("seat_id")
    page.get_by_label("Seat, queue or number").fill(second.seat_id)
    page.get_by_role("button", name="Transfer").click()
    expect(page.locator("#transfer-result")).to_have_text(f"Transferring to {second.seat_id}…")
    screenshot(page, "desk-transfer")

    # Then her phone is hung up and her desk says the call went on without her
    assert answering.wait() == 0, answering.report() + stack.log()[-3000:]
    expect(page.locator("#call-status")).to_have_text("Transferred", timeout=10_000)
    expect(form).to_be_hidden()
    assert mine.state(first) != "on_contact"
    # and the colleague talks to the caller to the end
    assert call.wait() == 0, call.report() + stack.log()[-3000:]
    assert taking.wait() == 0, taking.report()
