"""The merchant console in a real browser against the whole local stack: a merchant admin creates a
queue, sees a 400's message beside the field the API names, and a supervisor is refused the
merchant's settings on screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.integration.calls_support import call_api
from tests.support.stack import RunningStack

PASSWORD = "console-pass-1234"


@pytest.fixture(scope="module")
def merchant(stack: RunningStack) -> Iterator[dict[str, str]]:
    status, created = call_api(
        stack,
        "POST",
        "/merchants",
        {"name": "Console Co", "seat_licenses": 2, "contact_email": "a@console.test"},
    )
    assert status == 201, created
    yield {"merchant_id": created["merchant_id"], "api_key": created["api_key"]}


def sign_in_with_key(page: Page, stack: RunningStack, merchant: dict[str, str]) -> None:
    page.goto(stack.web_url + "/console/")
    page.fill("#sign-in-merchant", merchant["merchant_id"])
    page.fill("#sign-in-api-key", merchant["api_key"])
    page.click("#sign-in-submit")
    page.wait_for_selector("#merchant h1:has-text('Console Co')")


def test_a_merchant_admin_creates_a_queue_and_edits_it(
    stack: RunningStack, page: Page, merchant: dict[str, str]
) -> None:
    sign_in_with_key(page, stack, merchant)
    assert "0 used of 2" in page.inner_text("#merchant")
    page.click("nav a[href='#queues']")
    page.fill("#field-name", "Sales line")
    page.fill("#field-service_level_seconds", "30")
    page.fill("#field-recording_percent", "25")
    page.select_option("#field-strategy", "round_robin")
    page.click("#queues-submit")
    row = page.locator("#queues-list tr", has_text="Sales line")
    row.wait_for()
    assert "round_robin" in row.inner_text() and "30" in row.inner_text()

    status, listed = call_api(
        stack, "GET", f"/merchants/{merchant['merchant_id']}/queues", key=merchant["api_key"]
    )
    assert status == 200
    [queue] = [q for q in listed["items"] if q["name"] == "Sales line"]
    assert (queue["strategy"], queue["service_level_seconds"], queue["recording_percent"]) == (
        "round_robin",
        30,
        25,
    )

    row.locator("button", has_text="Edit").click()
    page.fill("#field-name", "Sales")
    page.click("#queues-submit")
    expect(page.locator("#queues-list tr", has_text="Sales line")).to_have_count(0)
    expect(page.locator(f'#queues-list tr[data-id="{queue["queue_id"]}"] td').nth(1)).to_have_text("Sales")


def test_a_400_is_shown_beside_the_field_the_api_names(
    stack: RunningStack, page: Page, merchant: dict[str, str]
) -> None:
    sign_in_with_key(page, stack, merchant)
    page.click("nav a[href='#queues']")
    page.fill("#field-name", "Too patient")
    page.fill("#field-max_wait_seconds", "0")
    page.click("#queues-submit")
    slot = page.locator('[data-error-for="max_wait_seconds"]')
    page.wait_for_function(
        """() => document.querySelector('[data-error-for="max_wait_seconds"]').textContent.length > 0"""
    )
    assert slot.inner_text() == "must be an integer from 1 to 7200"
    assert page.get_attribute("#field-max_wait_seconds", "aria-invalid") == "true"
    assert page.inner_text('[data-error-for="name"]') == ""
    screenshot(page, "console-field-error")

    # The recording percent: its message lands beside it.
    page.fill("#field-max_wait_seconds", "")
    page.fill("#field-recording_percent", "150")
    page.click("#queues-submit")
    expect(page.locator('[data-error-for="recording_percent"]')).to_have_text(
        "must be an integer from 0 to 100"
    )
    expect(page.locator('[data-error-for="max_wait_seconds"]')).to_have_text("")
    page.fill("#field-recording_percent", "")

    # A field inside the queue's media object: the message lands beside that field.
    page.fill("#field-media-announce_every_seconds", "5")
    page.click("#queues-submit")
    expect(page.locator('[data-error-for="media.announce_every_seconds"]')).to_contain_text("from 10 to 600")
    expect(page.locator('[data-error-for="max_wait_seconds"]')).to_have_text("")
    page.fill("#field-media-announce_every_seconds", "45")
    page.fill("#field-media-greeting", "welcome")
    page.click("#queues-submit")
    row = page.locator("#queues-list tr", has_text="Too patient")
    expect(row).to_contain_text("welcome")
    expect(row).to_contain_text("45")

    # A number the API refuses: its message lands beside the number field.
    page.click("nav a[href='#numbers']")
    page.fill("#field-number", "12345")
    page.fill("#field-queue_id", "q-none")
    page.click("#numbers-submit")
    page.wait_for_function(
        """() => document.querySelector('#numbers [data-error-for="number"]').textContent.length > 0"""
    )


def test_a_supervisor_cannot_open_the_merchants_settings(
    stack: RunningStack, page: Page, merchant: dict[str, str]
) -> None:
    path = f"/merchants/{merchant['merchant_id']}"
    status, queue = call_api(stack, "POST", path + "/queues", {"name": "Supervised"}, merchant["api_key"])
    assert status == 201, queue
    status, user = call_api(
        stack,
        "POST",
        path + "/users",
        {
            "user_id": "console-sup",
            "role": "supervisor",
            "queue_ids": [queue["queue_id"]],
            "password": PASSWORD,
        },
        merchant["api_key"],
    )
    assert status == 201, user
    page.goto(stack.web_url + "/console/")
    page.fill("#sign-in-merchant", merchant["merchant_id"])
    page.fill("#sign-in-user", "console-sup")
    page.fill("#sign-in-password", PASSWORD)
    page.click("#sign-in-submit")
    page.wait_for_selector("#merchant-error")
    assert page.inner_text("#merchant-error").startswith("403 Forbidden")
    assert "Not allowed" in page.inner_text("#status")
    screenshot(page, "console-supervisor-refused")


def test_reports_filter_with_errors_beside_the_field_and_export_csv(
    stack: RunningStack, page: Page, merchant: dict[str, str]
) -> None:
    sign_in_with_key(page, stack, merchant)
    page.click("nav a[href='#reports']")
    page.fill("#contacts-filter-from", "2026-01-02T10:00")
    page.fill("#contacts-filter-to", "2026-01-01T10:00")
    page.click("#contacts-filter button[type=submit]")
    expect(page.locator('#contacts-filter [data-error-for="from"]')).to_have_text("must not be after 'to'")

    page.fill("#contacts-filter-from", "")
    page.fill("#contacts-filter-to", "")
    page.click("#contacts-filter button[type=submit]")
    expect(page.locator("#contacts-list")).to_have_text("Nothing in this range.")
    with page.expect_download() as download:
        page.click("#contacts-export")
    exported = Path(download.value.path()).read_text()
    assert exported.splitlines()[0].startswith("contact_id,queue_id,seat_id,caller")

    page.select_option("#intervals-filter-interval", "day")
    page.fill("#intervals-filter-service_level_seconds", "0")
    page.click("#intervals-filter button[type=submit]")
    expect(page.locator('#intervals-filter [data-error-for="service_level_seconds"]')).to_have_text(
        "must be an integer from 1 to 3600"
    )


def test_an_ended_session_returns_to_the_sign_in_form(stack: RunningStack, page: Page) -> None:
    page.goto(stack.web_url + "/console/")
    page.evaluate(
        """sessionStorage.setItem('switchboard.credentials',
            JSON.stringify({token: 'expired', merchant_id: 'm-x', role: 'merchant_admin'}))"""
    )
    page.reload()
    page.wait_for_selector("#sign-in")
    expect(page.locator("#status")).to_have_text("Signed out: your session has ended. Sign in again.")
