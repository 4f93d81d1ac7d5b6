"""The site's front page in a real browser, through the local web origin."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.conftest import screenshot
from tests.support.stack import RunningStack


def test_the_front_page_links_every_page_and_the_api_answers_on_the_same_origin(
    stack: RunningStack, page: Page
) -> None:
    page.goto(stack.web_url + "/")
    links = page.locator("#pages a")
    assert links.evaluate_all("items => items.map(a => a.getAttribute('href'))") == [
        "desk/",
        "wallboard/",
        "console/",
    ]
    health = page.evaluate("fetch('/api/health').then(r => r.json())")
    assert health == {"status": "ok"}
    assert screenshot(page, "front-page").stat().st_size > 1000
