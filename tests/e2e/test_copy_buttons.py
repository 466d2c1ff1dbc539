"""Copy buttons (issue 16, item 7) for what a person has to paste elsewhere: a new API token, a
webhook's signing secret, a class's code and join link. One tap copies it and a status says
so; when the browser refuses the clipboard the text is selected (and copied the older way);
without JavaScript there is no button, only the readonly field to copy by hand."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from practika.demo import DEMO_ACCOUNTS, DEMO_CLASS
from tests.e2e.conftest import HOOK_URL, PATIENCE, VIEWPORTS, watched_page
from tests.e2e.test_smoke import TEACHER, log_in

STAFF = DEMO_ACCOUNTS[2]
READ_CLIPBOARD = "() => navigator.clipboard.readText()"
# The clipboard API refusing, as a browser does without permission or outside HTTPS.
REFUSE_CLIPBOARD = """navigator.clipboard.writeText = () =>
  Promise.reject(new DOMException("Write permission denied.", "NotAllowedError"));"""


@pytest.fixture
def phone(browser: Browser, live_server: str) -> Iterator[Page]:
    """A phone-sized page allowed to read the clipboard (to check what was copied)."""
    with watched_page(
        browser,
        live_server,
        viewport=VIEWPORTS["phone"],
        is_mobile=True,
        has_touch=True,
        permissions=["clipboard-read", "clipboard-write"],
    ) as page:
        yield page


def new_token(page: Page, name: str) -> str:
    page.goto("/accounts/profile")
    page.get_by_label("Token name").fill(name)
    page.get_by_role("button", name="Create token").click()
    field = page.locator("#new-token")
    expect(field).to_be_visible()
    return field.input_value()


def copy(page: Page, name: str) -> None:
    """Tap the Copy button called ``name`` and wait for the status beside it to say so."""
    button = page.get_by_role("button", name=name)
    button.click()
    expect(button.locator("xpath=..").get_by_role("status")).to_have_text("Copied.")


def logged_in(page: Page, account) -> None:
    page.goto("/accounts/login")
    log_in(page, account.email, account.password)
    expect(page).not_to_have_url(re.compile(r"/accounts/login"))


def test_a_new_token_is_copied_with_one_tap(phone: Page) -> None:
    logged_in(phone, TEACHER)
    secret = new_token(phone, "Copied by a tap")  # the tokens section is swapped in by htmx
    box = phone.get_by_role("button", name="Copy the new token").bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44
    copy(phone, "Copy the new token")
    assert phone.evaluate(READ_CLIPBOARD) == secret


def test_a_refused_clipboard_selects_the_token_and_copies_it_the_older_way(phone: Page) -> None:
    phone.add_init_script(REFUSE_CLIPBOARD)
    logged_in(phone, TEACHER)
    secret = new_token(phone, "Copied the older way")
    copy(phone, "Copy the new token")
    field = phone.locator("#new-token")
    expect(field).to_be_focused()
    assert field.evaluate("input => [input.selectionStart, input.selectionEnd]") == [
        0,
        len(secret),
    ]
    assert phone.evaluate(READ_CLIPBOARD) == secret


@pytest.mark.usefixtures("staff_things")
def test_a_new_signing_secret_is_copied(phone: Page) -> None:
    logged_in(phone, STAFF)
    phone.goto("/webhooks/")
    phone.on("dialog", lambda dialog: dialog.accept())  # "Give ... a new secret?"
    phone.get_by_role("button", name=f"New secret for {HOOK_URL}").click()
    field = phone.locator("#new-webhook-secret")
    expect(field).to_be_visible()
    copy(phone, "Copy the signing secret")
    assert phone.evaluate(READ_CLIPBOARD) == field.input_value()


def test_a_class_code_and_its_join_link_are_copied(phone: Page) -> None:
    logged_in(phone, TEACHER)
    phone.goto("/classes/")
    phone.get_by_role("main").get_by_role("link", name=re.compile(f"^{DEMO_CLASS}")).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text(DEMO_CLASS)
    copy(phone, "Copy the join link")
    assert phone.evaluate(READ_CLIPBOARD) == phone.locator("#join-link").input_value()
    copy(phone, "Copy the class code")
    code = phone.locator("#class-code").inner_text().strip()
    assert re.fullmatch(r"\w{4}-\w{4}", code)
    assert phone.evaluate(READ_CLIPBOARD) == code


def test_without_javascript_there_is_no_dead_copy_button(browser: Browser, live_server) -> None:
    context = browser.new_context(
        base_url=live_server, viewport=VIEWPORTS["phone"], java_script_enabled=False
    )
    context.set_default_timeout(PATIENCE)
    page = context.new_page()
    try:
        logged_in(page, TEACHER)
        new_token(page, "Copied by hand")  # the form posts to the tokens page
        expect(page.locator("#new-token")).to_have_attribute("readonly", "")
        expect(page.get_by_role("button", name=re.compile("^Copy"))).to_have_count(0)
        expect(page.locator("button[data-copy]")).to_be_hidden()
    finally:
        context.close()
