"""The supervisor wallboard in a real browser against the whole local stack: a sipp caller queued
with nobody available shows on the supervisor's wallboard within 2 s, and leaves it within 2 s of
being answered by a sipp phone registered for a seat made available over the API."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import Page

from tests.browser.conftest import screenshot
from tests.integration.calls_support import (
    Merchant,
    add_trunk,
    agent,
    call_api,
    caller,
    onboard,
    records,
    register,
)
from tests.support.stack import RunningStack

WALL = {"width": 1920, "height": 1080}
SUPERVISOR_PASSWORD = "wallboard-pass-1234"
# Within 2 s of the contact's change, plus the moment the test itself takes to notice.
SHOWN_WITHIN_MS = 2000


def supervisor(stack: RunningStack, merchant: Merchant) -> str:
    status, user = call_api(
        stack,
        "POST",
        f"/merchants/{merchant.merchant_id}/users",
        {
            "user_id": "wall-sup",
            "role": "supervisor",
            "queue_ids": [merchant.queue_id],
            "password": SUPERVISOR_PASSWORD,
        },
        merchant.key,
    )
    assert status == 201, user
    return str(user["user_id"])


def sign_in(page: Page, stack: RunningStack, merchant_id: str, user_id: str) -> None:
    page.goto(stack.web_url + "/wallboard/")
    page.fill("#sign-in-merchant", merchant_id)
    page.fill("#sign-in-user", user_id)
    page.fill("#sign-in-password", SUPERVISOR_PASSWORD)
    page.click("#sign-in-submit")


def waiting_shows(page: Page, queue_id: str, count: int, timeout_ms: int = 15_000) -> int:
    """Waits until the queue's tile shows ``count`` waiting; returns when it did (epoch ms)."""
    page.wait_for_function(
        """([queue, count]) => {
            const value = document.querySelector(`[data-queue-id="${queue}"] .waiting .value`);
            return value !== null && value.textContent === String(count);
        }""",
        arg=[queue_id, count],
        polling=50,
        timeout=timeout_ms,
    )
    return int(time.time() * 1000)


def test_a_supervisor_sees_a_waiting_caller_within_2_s_and_it_leaves_when_answered(
    stack: RunningStack, page: Page, tmp_path: Path
) -> None:
    add_trunk(stack, {"name": "Loopback", "source_cidrs": ["127.0.0.0/8"]})
    merchant = onboard(stack, "+14155557001", seats=1)
    seat = merchant.seats[0]
    register(stack, seat, tmp_path)
    sign_in(page, stack, merchant.merchant_id, supervisor(stack, merchant))
    page.set_viewport_size(WALL)
    waiting_shows(page, merchant.queue_id, 0)
    tile = page.locator(f'[data-queue-id="{merchant.queue_id}"]')
    assert tile.locator(".available .value").inner_text() == "0"
    assert page.locator(f'#agents [data-seat-id="{seat.seat_id}"] .state').inner_text() == "Offline"

    # Given nobody available, a caller waits in the queue.
    call = caller(stack, merchant.number, "caller_bye.xml", tmp_path)
    queued_shown = waiting_shows(page, merchant.queue_id, 1)
    page.wait_for_timeout(1500)  # the oldest wait ticks on screen
    assert tile.locator(".oldest .value").inner_text() in {"0:01", "0:02", "0:03"}
    screenshot(page, "wallboard-waiting-caller")

    # When an agent's phone answers, the caller leaves the wallboard's waiting count.
    phone = agent(seat, "agent_answer.xml", tmp_path)
    merchant.set_state(seat, "available")
    answered_shown = waiting_shows(page, merchant.queue_id, 0)
    assert call.wait() == 0, call.report() + stack.log()[-3000:]
    assert phone.wait() == 0, phone.report()

    [record] = records(stack, merchant)
    assert record.enqueued_at is not None and record.answered_at is not None
    assert queued_shown - int(record.enqueued_at) <= SHOWN_WITHIN_MS
    assert answered_shown - int(record.answered_at) <= SHOWN_WITHIN_MS
    # And the ended call counts as offered and answered today and in this interval.
    page.wait_for_function(
        """(queue) => document.querySelector(`[data-queue-id="${queue}"] .levels tbody tr .answered`)
            ?.textContent === '1'""",
        arg=merchant.queue_id,
        polling=100,
        timeout=5000,
    )
    today = tile.locator(".levels tbody tr").first
    assert today.locator(".offered").inner_text() == "1"
    assert today.locator(".abandon").inner_text() == "0%"
    screenshot(page, "wallboard-answered")


def test_an_agent_signed_in_to_the_wallboard_is_refused_on_screen(stack: RunningStack, page: Page) -> None:
    merchant = onboard(stack, "+14155557002", seats=1)
    status, user = call_api(
        stack,
        "POST",
        f"/merchants/{merchant.merchant_id}/users",
        {
            "user_id": "wall-agent",
            "role": "agent",
            "seat_id": merchant.seats[0].seat_id,
            "password": SUPERVISOR_PASSWORD,
        },
        merchant.key,
    )
    assert status == 201, user
    sign_in(page, stack, merchant.merchant_id, "wall-agent")
    page.wait_for_selector("#status:not([hidden])")
    assert "Not allowed" in page.inner_text("#status")
    assert page.locator("#tiles").count() == 0


def test_signed_out_and_api_down_are_shown_not_a_blank_page(stack: RunningStack, page: Page) -> None:
    page.goto(stack.web_url + "/wallboard/")
    page.fill("#sign-in-merchant", "nobody")
    page.fill("#sign-in-user", "nobody")
    page.fill("#sign-in-password", "wrong-password-123")
    page.click("#sign-in-submit")
    page.wait_for_function("document.querySelector('#sign-in-error').textContent.length > 0")

    # A session the API no longer accepts lands back on the sign-in form, saying why.
    page.evaluate(
        """sessionStorage.setItem('switchboard.credentials',
            JSON.stringify({token: 'expired', merchant_id: 'm-x', role: 'supervisor', user_id: 'u'}))"""
    )
    page.reload()
    page.wait_for_selector("#sign-in")
    assert "Signed out" in page.inner_text("#status")

    # The API unreachable: the page says so.
    page.route("**/api/**", lambda route: route.abort())
    page.evaluate(
        """sessionStorage.setItem('switchboard.credentials',
            JSON.stringify({token: 't', merchant_id: 'm-x', role: 'supervisor', user_id: 'u'}))"""
    )
    page.reload()
    page.wait_for_selector("#status:not([hidden])")
    assert "cannot be reached" in page.inner_text("#status")
