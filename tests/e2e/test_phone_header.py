"""The site header (issue 16, item 1's header): one row on a phone, the brand and a menu button
that opens the navigation, the profile link and Log out; the row of links on a desktop.

The menu is a popover opened by its button, so it works without JavaScript; the browser
closes it on Escape and returns focus to the button, and a followed link (htmx keeps the page)
brings a header whose menu is closed. Screenshots go to test-artifacts/<size>-header-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import ARTIFACTS, PATIENCE, VIEWPORTS
from tests.e2e.test_accessibility import axe_violations
from tests.e2e.test_smoke import TEACHER, at, log_in

MENU = re.compile(r"^Menu")
PHONE_HEADER_MAX = 60  # px, on a 360x740 screen
THUMB = 44  # px


def size_of(control: Locator) -> tuple[float, float]:
    box = control.bounding_box()
    return box["width"], box["height"]


def expanded(page: Page, selector: str) -> bool | None:
    """The expanded state a screen reader hears for the element: Chromium's accessibility
    tree, read over DevTools, since a popover's button has no aria-expanded attribute to read."""
    cdp = page.context.new_cdp_session(page)
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    ax = cdp.send("Accessibility.getPartialAXTree", {"nodeId": node, "fetchRelatives": False})
    properties = ax["nodes"][0].get("properties", [])
    return next((p["value"]["value"] for p in properties if p["name"] == "expanded"), None)


def logged_in(page: Page) -> None:
    page.goto("/accounts/login")
    log_in(page, TEACHER.email, TEACHER.password)
    expect(page).to_have_url(at("/exercises/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Exercises")
    page.wait_for_load_state()  # its style sheets too: the header is measured next


def header_shot(page: Page, size: str, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{size}-header-{name}.png")


@pytest.mark.parametrize("size", ["phone"])
def test_the_phone_header_is_one_row_and_its_menu_opens_and_closes(page: Page, size) -> None:
    logged_in(page)
    header = page.get_by_role("banner")
    brand = header.get_by_role("link", name="Practika home")
    menu = header.get_by_role("button", name=MENU)
    assert size_of(header)[1] <= PHONE_HEADER_MAX
    for control in (brand, menu):
        width, height = size_of(control)
        assert width >= THUMB and height >= THUMB, f"{control}: {width}x{height}"
    assert abs(brand.bounding_box()["y"] - menu.bounding_box()["y"]) < THUMB / 2  # one row
    expect(header.get_by_role("link", name="Classes")).to_be_hidden()
    assert expanded(page, ".menu-button") is False
    header_shot(page, size, "closed")

    # By keyboard: Enter opens it, Tab goes into it, Escape closes it and focus comes back.
    menu.focus()
    page.keyboard.press("Enter")
    panel = page.locator("#site-menu")
    expect(panel).to_be_visible()
    assert expanded(page, ".menu-button") is True
    for name in ("Exercises", "Classes", "Inbox", "Videos", TEACHER.username):
        width, height = size_of(panel.get_by_role("link", name=re.compile(f"^{name}")))
        assert width >= THUMB and height >= THUMB, f"{name}: {width}x{height}"
    expect(panel.get_by_role("button", name="Log out")).to_be_visible()
    page.keyboard.press("Tab")
    expect(panel.get_by_role("link", name="Exercises")).to_be_focused()
    header_shot(page, size, "open")
    assert not axe_violations(page), "axe finds serious or critical violations, menu open"
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(menu).to_be_focused()

    # A followed link swaps the page in (htmx keeps this window) with the menu closed.
    page.evaluate("window.practikaKept = true")
    menu.click()
    panel.get_by_role("link", name="Classes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Classes")
    expect(panel).to_be_hidden()
    assert page.evaluate("window.practikaKept === true"), "the page was loaded afresh"
    expect(header.get_by_role("link", name="Classes")).to_be_hidden()

    menu.click()
    panel.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(at("/accounts/login"))
    expect(header.get_by_role("button", name=MENU)).to_have_count(0)


@pytest.mark.parametrize("size", ["desktop"])
def test_a_desktop_keeps_the_row_of_links(page: Page, size) -> None:
    logged_in(page)
    header = page.get_by_role("banner")
    expect(header.get_by_role("button", name=MENU)).to_be_hidden()
    row = [
        header.get_by_role("link", name="Practika home"),
        *(header.get_by_role("link", name=name) for name in ("Exercises", "Classes", "Videos")),
        header.get_by_role("link", name=TEACHER.username),
        header.get_by_role("button", name="Log out"),
    ]
    middles = []
    for control in row:
        expect(control).to_be_visible()
        box = control.bounding_box()
        middles.append(box["y"] + box["height"] / 2)
    assert max(middles) - min(middles) < 12, f"not one row: {middles}"
    header_shot(page, size, "row")


def test_the_phone_menu_works_without_javascript(browser: Browser, live_server: str) -> None:
    context = browser.new_context(
        base_url=live_server, viewport=VIEWPORTS["phone"], java_script_enabled=False
    )
    context.set_default_timeout(PATIENCE)
    page = context.new_page()
    try:
        page.goto("/")
        log_in_link = page.get_by_role("banner").get_by_role("button", name="Log in")
        assert size_of(log_in_link)[1] >= THUMB
        assert size_of(page.get_by_role("banner"))[1] <= PHONE_HEADER_MAX
        logged_in(page)
        page.get_by_role("button", name=MENU).click()
        page.locator("#site-menu").get_by_role("link", name="Videos").click()
        expect(page).to_have_url(at("/core/videos/"))
        expect(page.locator("#site-menu")).to_be_hidden()
    finally:
        context.close()
