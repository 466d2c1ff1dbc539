"""Every control on the main pages is at least 44x44 CSS pixels on a 360x740 phone (issue 16,
item 7), as the teacher, the student and staff see them.

A control is what a thumb aims at: buttons, [role=button], links that stand on their own
(navigation, card links, "Back to ..."), summaries, selects, fields, and checkboxes and radios
measured together with their label, which is their real target. A link inside running text is
exempt, as WCAG 2.5.8 exempts inline targets: a sentence cannot grow to 44 px per word. A
link whose ::after covers its card (the exercise and attempt cards) is measured as the card.
The header's menu is opened and measured too."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, Page, expect

from practika.demo import DEMO_ACCOUNTS, DEMO_CLASS, DEMO_EXERCISE
from tests.e2e.conftest import VIEWPORTS, watched_page
from tests.e2e.test_smoke import at, log_in

ACCOUNTS = {"teacher": DEMO_ACCOUNTS[0], "student": DEMO_ACCOUNTS[1], "staff": DEMO_ACCOUNTS[2]}
DISCUSSION = "Read and join the discussion"
MINIMUM = 44  # CSS px, WCAG 2.5.5 (AAA) and Apple's and Google's own guidelines

# The offenders on the page, measured in the page. Each control's target is its own box,
# widened by its label (checkbox, radio) or by the card its ::after covers.
MEASURE = """(minimum) => {
  const CONTROLS = 'a[href], button, [role="button"], summary, select, textarea, '
    + 'input:not([type="hidden"])';
  const union = (a, b) => {
    const left = Math.min(a.left, b.left), top = Math.min(a.top, b.top);
    return {width: Math.max(a.right, b.right) - left, height: Math.max(a.bottom, b.bottom) - top};
  };
  const inRunningText = (el) => {
    if (el.tagName !== "A" || getComputedStyle(el).display !== "inline") return false;
    const around = [...el.parentElement.childNodes].filter((node) => node !== el);
    return around.map((node) => node.textContent).join("").trim() !== "";
  };
  const target = (el) => {
    let box = el.getBoundingClientRect();
    if ((el.type === "checkbox" || el.type === "radio") && el.labels && el.labels[0]) {
      box = union(box, el.labels[0].getBoundingClientRect());
    }
    const after = getComputedStyle(el, "::after");
    if (after.content !== "none" && after.position === "absolute" && el.offsetParent) {
      box = union(box, el.offsetParent.getBoundingClientRect());
    }
    return box;
  };
  const name = (el) => {
    const classes = [...el.classList].slice(0, 3).map((c) => "." + c).join("");
    const text = (el.getAttribute("aria-label") || el.innerText || el.value || el.name || "")
      .replace(/\\s+/g, " ").trim().slice(0, 40);
    return `${el.tagName.toLowerCase()}${classes} "${text}"`;
  };
  const offenders = [];
  for (const el of document.querySelectorAll(CONTROLS)) {
    if (!el.checkVisibility({visibilityProperty: true})) continue;
    const own = el.getBoundingClientRect();
    if (own.width * own.height === 0 || own.bottom + scrollY <= 0) continue;  // the skip link
    if (inRunningText(el)) continue;
    const box = target(el);
    if (box.width < minimum - 0.01 || box.height < minimum - 0.01) {
      offenders.push(`${name(el)} ${Math.round(box.width)}x${Math.round(box.height)}`);
    }
  }
  return offenders;
}"""


@dataclass(frozen=True)
class Screen:
    role: str
    name: str
    path: str
    links: tuple[str, ...] = ()  # followed in turn from ``path``, in the main region
    prepare: Callable[[Page], None] | None = field(default=None, compare=False)


def make_token(page: Page) -> None:
    """A new API token: the profile then shows its secret (once) and the table of tokens."""
    page.get_by_label("Token name").fill("Touch test")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_be_visible()


SCREENS = [
    *(
        screen
        for role in ("teacher", "student", "staff")
        for screen in (
            Screen(role, "home", "/"),
            Screen(role, "exercises", "/exercises/"),
            Screen(role, "exercise", "/exercises/", links=(DEMO_EXERCISE,)),
            Screen(role, "classes", "/classes/"),
            Screen(role, "videos", "/core/videos/"),
            Screen(role, "profile", "/accounts/profile", prepare=make_token),
        )
    ),
    Screen("teacher", "attempt", "/exercises/", links=(DEMO_EXERCISE, "demo-student")),
    Screen("student", "attempt", "/exercises/", links=(DEMO_EXERCISE, "Your attempt")),
    *(
        Screen(role, "discussion", "/exercises/", links=(DEMO_EXERCISE, DISCUSSION))
        for role in ("teacher", "student")
    ),
    Screen("teacher", "class", "/classes/", links=(DEMO_CLASS,)),
    Screen("student", "class", "/classes/", links=(DEMO_CLASS,)),
    Screen("teacher", "inbox", "/comments/inbox"),
    Screen("student", "my-attempts", "/comments/mine"),
    Screen("staff", "invitations", "/accounts/invitations"),
    Screen("staff", "webhooks", "/webhooks/"),
]


def params() -> list:
    return [pytest.param(screen, id=f"{screen.role}-{screen.name}") for screen in SCREENS]


@pytest.fixture(scope="module")
def sessions(browser: Browser, live_server: str) -> dict[str, dict]:
    """Each role's logged-in cookies, so every page starts from a fresh context quickly."""
    states = {}
    for role, account in ACCOUNTS.items():
        context = browser.new_context(base_url=live_server, viewport=VIEWPORTS["phone"])
        page = context.new_page()
        page.goto("/accounts/login")
        log_in(page, account.email, account.password)
        expect(page).not_to_have_url(re.compile(r"/accounts/login"))
        states[role] = context.storage_state()
        context.close()
    return states


@pytest.fixture
def phone(browser: Browser, live_server: str, sessions, request) -> Iterator[Page]:
    """A 360x740 touch screen logged in as the screen's role, watched for browser errors."""
    screen: Screen = request.node.callspec.params["screen"]
    with watched_page(
        browser,
        live_server,
        viewport=VIEWPORTS["phone"],
        is_mobile=True,
        has_touch=True,
        storage_state=sessions[screen.role],
    ) as page:
        yield page


def visit(page: Page, screen: Screen) -> None:
    page.goto(screen.path)
    for link in screen.links:
        here = page.url
        name = re.compile("^" + re.escape(link))  # a card's link is also named by its details
        # Followed by its address, not clicked: the discussion link stands in a section that
        # htmx replaces with the discussion once it is scrolled into view, click or not.
        href = page.get_by_role("main").get_by_role("link", name=name).first.get_attribute("href")
        page.goto(href)
        expect(page).not_to_have_url(here)
    if not screen.links and screen.path != "/":
        expect(page).to_have_url(at(screen.path))  # not sent to the login page instead
    if screen.prepare:
        screen.prepare(page)
    page.wait_for_load_state("networkidle")


def offenders(page: Page) -> list[str]:
    """The page's small controls, then the header menu's, opened (on a phone it is a button)."""
    found = page.evaluate(MEASURE, MINIMUM)
    menu = page.locator(".site-header [popovertarget]")
    if menu.count() and menu.is_visible():
        menu.click()
        expect(page.locator(".site-menu")).to_be_visible()
        found += [name for name in page.evaluate(MEASURE, MINIMUM) if name not in found]
        page.keyboard.press("Escape")
    return found


@pytest.mark.usefixtures("staff_things")
@pytest.mark.parametrize("screen", params())
def test_every_control_is_at_least_44_px_on_a_phone(phone: Page, screen: Screen) -> None:
    visit(phone, screen)
    if small := offenders(phone):
        pytest.fail(
            f"controls smaller than {MINIMUM}x{MINIMUM} px as {screen.role} at 360x740:\n"
            + "\n".join(f"{screen.name}: {name}" for name in small)
        )
