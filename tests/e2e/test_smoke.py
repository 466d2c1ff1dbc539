"""A teacher's first visit, on a desktop and on a phone: start page, log in, the demo
exercise and its video, log out. Every page visited is saved to test-artifacts/."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from practika.demo import DEMO_ACCOUNTS, DEMO_EXERCISE

TEACHER, STUDENT = DEMO_ACCOUNTS[0], DEMO_ACCOUNTS[1]
# Below this width, or this height on a screen narrower than a laptop's, the header folds its
# links into a menu (static/css/app.css).
PHONE_WIDTH, PHONE_HEIGHT, LAPTOP_WIDTH = 576, 501, 1024


def at(path: str) -> re.Pattern[str]:
    """The page's URL is exactly this path on the live server (no query string)."""
    return re.compile(rf"^http://[^/]+{re.escape(path)}$")


def open_menu(page: Page) -> None:
    """On a phone the header's links, the user's name and Log out wait behind the menu
    button: open it. A wider screen shows them in the header's row already."""
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    if width < PHONE_WIDTH or (height < PHONE_HEIGHT and width < LAPTOP_WIDTH):
        page.get_by_role("banner").get_by_role("button", name=re.compile("^Menu")).click()


def log_in(page: Page, login: str, password: str) -> None:
    page.get_by_label("Email or username").fill(login)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("main").get_by_role("button", name="Log in", exact=True).click()


def test_teacher_logs_in_opens_the_demo_exercise_and_logs_out(page: Page, shoot) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Practise")
    shoot("start")

    # Pico styles links as buttons with role="button": that is what a screen reader announces.
    page.get_by_role("main").get_by_role("button", name="Log in").click()
    expect(page).to_have_url(at("/accounts/login"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    shoot("login")

    log_in(page, TEACHER.email, TEACHER.password)
    expect(page).to_have_url(at("/exercises/"))
    expect(page.get_by_role("status")).to_contain_text(f"Welcome back, {TEACHER.username}")
    header = page.get_by_role("banner")
    open_menu(page)
    expect(header.get_by_text(TEACHER.username)).to_be_visible()
    expect(header.get_by_text("teacher", exact=True)).to_be_visible()
    card = page.get_by_role("listitem").filter(has_text=DEMO_EXERCISE)
    expect(card).to_be_visible()
    poster = card.locator("img")  # decorative (alt=""): the card's title says what it is
    expect(poster).to_be_visible()
    expect(poster).to_have_js_property("complete", True)
    assert poster.evaluate("img => img.naturalWidth") > 0, "the poster image is broken"
    shoot("exercises")

    card.get_by_role("link", name=DEMO_EXERCISE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(DEMO_EXERCISE)
    expect(page.get_by_text("Watch the model video once")).to_be_visible()
    video = page.locator(".stage video")
    expect(video).to_be_visible()
    # The browser loads the video's metadata (readyState leaves HAVE_NOTHING): it is playable.
    expect(video).not_to_have_js_property("readyState", 0)
    assert video.evaluate("video => video.duration") > 2.5  # the demo video, shortened for tests
    # The player seeks with Range requests: the server answers one with part of the file.
    source = video.locator("source").get_attribute("src")
    response = page.request.get(source, headers={"Range": "bytes=0-1023"})
    assert response.status == 206
    assert response.headers["content-range"].startswith("bytes 0-1023/")
    assert len(response.body()) == 1024
    shoot("exercise")

    open_menu(page)
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(at("/accounts/login"))
    expect(page.get_by_role("status")).to_contain_text("You are logged out.")
    expect(page.get_by_role("banner").get_by_text(TEACHER.username)).to_have_count(0)
    shoot("logged-out")

    # Logged out means logged out: the exercise list sends the browser back to the login page.
    page.goto("/exercises/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_wrong_password_shows_the_error_next_to_the_field(page: Page, shoot) -> None:
    page.goto("/accounts/login")
    log_in(page, TEACHER.email, "not-the-password")

    password = page.get_by_label("Password", exact=True)
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_accessible_description(
        "That email or username and password do not match."
    )
    expect(page.get_by_text("That email or username and password do not match.")).to_be_visible()
    expect(page.get_by_label("Email or username")).to_have_value(TEACHER.email)
    expect(page).to_have_url(at("/accounts/login"))
    shoot("login-error")


def test_unknown_page_shows_a_friendly_not_found(page: Page, shoot) -> None:
    response = page.goto("/no-such-page")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.get_by_role("button", name="Go to the start page")).to_be_visible()
    shoot("not-found")
