"""The console's prompts section in a real browser against the whole local stack: a merchant admin
uploads a WAV, sees what the API refuses beside the file or the name, names the prompt in a queue
(an unknown name is refused beside the queue's field), and cannot delete a prompt a queue plays."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.conftest import screenshot
from tests.browser.test_console import merchant, sign_in_with_key
from tests.integration.calls_support import call_api
from tests.support.audio import pcm_wav, tone
from tests.support.stack import RunningStack, http_json

__all__ = ["merchant"]  # the module's merchant, shared with the console's own tests


def _choose(page: Page, name: str, data: bytes) -> None:
    page.set_input_files("#prompt-file", files=[{"name": name, "mimeType": "audio/wav", "buffer": data}])


def test_a_merchant_admin_uploads_a_prompt_and_sees_refusals_beside_the_field(
    stack: RunningStack, page: Page, merchant: dict[str, str]
) -> None:
    sign_in_with_key(page, stack, merchant)
    page.click("nav a[href='#prompts']")
    page.wait_for_selector("#prompts-list p:has-text('No prompts yet')")

    # A stereo file: 415, shown beside the file, naming what is wrong.
    page.fill("#prompt-name", "welcome")
    _choose(page, "stereo.wav", pcm_wav(tone(440, 0.5) * 2, channels=2))
    page.click("#prompts-submit")
    file_error = page.locator("#prompts-form [data-error-for='file']")
    file_error.filter(has_text="channels").wait_for()
    assert "mono" in file_error.inner_text()

    # A name that is not a prompt name: beside the name.
    page.fill("#prompt-name", "Welcome!")
    _choose(page, "welcome.wav", pcm_wav(tone(1000, 2.0)))
    page.click("#prompts-submit")
    page.locator("#prompts-form [data-error-for='name']").filter(has_text="prompt name").wait_for()
    assert page.inner_text("#prompts-form [data-error-for='file']") == ""

    page.fill("#prompt-name", "welcome")
    _choose(page, "welcome.wav", pcm_wav(tone(1000, 2.0)))
    page.click("#prompts-submit")
    row = page.locator("#prompts-list tr[data-id='welcome']")
    row.wait_for()
    assert "2.0 s" in row.inner_text() and "pcm16, 8 kHz" in row.inner_text()
    screenshot(page, "console-prompts")

    status, listed = call_api(
        stack, "GET", f"/merchants/{merchant['merchant_id']}/prompts", key=merchant["api_key"]
    )
    assert status == 200 and [p["name"] for p in listed["items"]] == ["welcome"]


def _upload(stack: RunningStack, merchant: dict[str, str], name: str, data: bytes) -> None:
    """The raw WAV over the local API server (binary, as API Gateway passes it)."""
    headers = {"Content-Type": "audio/wav", "Authorization": f"Bearer {merchant['api_key']}"}
    url = f"{stack.api_url}/merchants/{merchant['merchant_id']}/prompts/{name}"
    status, raw = http_json("PUT", url, data, headers)
    assert status == 200, raw


def test_a_queue_names_an_uploaded_prompt_which_then_cannot_be_deleted(
    stack: RunningStack, page: Page, merchant: dict[str, str]
) -> None:
    _upload(stack, merchant, "welcome", pcm_wav(tone(1000, 2.0)))
    sign_in_with_key(page, stack, merchant)
    page.click("nav a[href='#queues']")
    page.fill("#field-name", "Hold line")
    page.fill("#field-media-music_prompt", "no-such-prompt")
    page.click("#queues-submit")
    page.locator("#queues-form [data-error-for='media.music_prompt']").filter(has_text="no prompt").wait_for()

    page.fill("#field-media-music_prompt", "welcome")
    page.click("#queues-submit")
    page.locator("#queues-list tr", has_text="Hold line").wait_for()

    page.click("nav a[href='#prompts']")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#prompts-list tr[data-id='welcome'] button", has_text="Delete").click()
    page.locator("#prompts-notice").filter(has_text="in use").wait_for()
    page.locator("#prompts-list tr[data-id='welcome']").wait_for()  # still there
