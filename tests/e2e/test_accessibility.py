"""axe-core checks the main pages, logged out, as the demo teacher, student and staff, at
desktop and phone size; any "serious" or "critical" violation fails. axe is vendored in
tests/e2e/vendor/ (see its README): nothing is fetched while the tests run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from practika.demo import DEMO_ACCOUNTS, DEMO_EXERCISE
from tests.e2e.test_smoke import at, log_in


@dataclass(frozen=True)
class Screen:
    role: str  # "visitor" (logged out), "teacher" or "student"
    name: str  # names the screenshot, test-artifacts/<size>-a11y-<role>-<name>.png
    path: str
    links: tuple[str, ...] = ()  # when set, the page checked is where these links lead, in turn


# One browser context per role: its screens are checked in this order. Add pages here.
SCREENS = (
    Screen("visitor", "landing", "/"),
    Screen("visitor", "login", "/accounts/login"),
    Screen("visitor", "signup", "/accounts/signup"),  # invite-only: "invitation needed"
    Screen("visitor", "reset", "/accounts/reset"),
    Screen("teacher", "exercises", "/exercises/"),
    Screen("teacher", "exercise", "/exercises/", links=(DEMO_EXERCISE,)),
    Screen("teacher", "attempt", "/exercises/", links=(DEMO_EXERCISE, "demo-student")),
    Screen("teacher", "new-exercise", "/exercises/new"),
    Screen("teacher", "profile", "/accounts/profile"),
    Screen("teacher", "videos", "/core/videos/"),
    Screen("student", "exercises", "/exercises/"),
    Screen("student", "exercise", "/exercises/", links=(DEMO_EXERCISE,)),
    Screen("student", "attempt", "/exercises/", links=(DEMO_EXERCISE, "Your attempt")),
    Screen("student", "profile", "/accounts/profile"),
    Screen("student", "videos", "/core/videos/"),
    Screen("staff", "profile", "/accounts/profile"),
    Screen("staff", "invitations", "/accounts/invitations"),
    Screen("staff", "webhooks", "/webhooks/"),
)
ACCOUNTS = {"teacher": DEMO_ACCOUNTS[0], "student": DEMO_ACCOUNTS[1], "staff": DEMO_ACCOUNTS[2]}
FAILING_IMPACTS = {"serious", "critical"}
TARGETS_SHOWN = 3

# Evaluated over the DevTools protocol, so the page's Content-Security-Policy, which refuses
# inline scripts, does not stop it.
AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    targets: v.nodes.map(node => node.target.join(" >>> ")),
    summary: v.nodes[0].failureSummary,
  }));
}"""


def axe_violations(page: Page) -> list[dict]:
    """The page's serious and critical axe violations, once htmx has settled."""
    page.wait_for_load_state("networkidle")
    page.evaluate(AXE_SOURCE)
    return [v for v in page.evaluate(RUN_AXE) if v["impact"] in FAILING_IMPACTS]


def describe(screen: Screen, violations: list[dict]) -> str:
    via = "".join(f" → {link!r}" for link in screen.links)
    lines = [f"{screen.name} ({screen.path}{via}):"]
    for v in violations:
        targets = ", ".join(v["targets"][:TARGETS_SHOWN])
        more = len(v["targets"]) - TARGETS_SHOWN
        lines.append(f"  {v['id']} [{v['impact']}] {v['help']} <{v['helpUrl']}>")
        lines.append(f"    on {targets}" + (f" (and {more} more)" if more > 0 else ""))
        lines.append("    first: " + " ".join(v["summary"].split()))
    return "\n".join(lines)


@pytest.mark.usefixtures("staff_things")  # the staff pages' tables have rows
@pytest.mark.parametrize("role", ["visitor", "teacher", "student", "staff"])
def test_pages_have_no_serious_accessibility_violations(page: Page, shoot, role: str) -> None:
    if role in ACCOUNTS:
        page.goto("/accounts/login")
        log_in(page, ACCOUNTS[role].email, ACCOUNTS[role].password)
        expect(page).to_have_url(at("/exercises/"))

    failures = []
    for screen in (screen for screen in SCREENS if screen.role == role):
        page.goto(screen.path)
        for link in screen.links:
            here = page.url
            page.get_by_role("main").get_by_role("link", name=link, exact=True).first.click()
            expect(page).not_to_have_url(here)
        if not screen.links:
            expect(page).to_have_url(at(screen.path))  # not sent to the login page instead
        if violations := axe_violations(page):
            failures.append(describe(screen, violations))
        shoot(f"a11y-{role}-{screen.name}")

    if failures:
        pytest.fail(f"axe found serious or critical violations as {role}:\n" + "\n".join(failures))
