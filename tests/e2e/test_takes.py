"""No take is lost: a recording is kept on the phone and sent while it is made, and whatever
happens to the page or the network, the take reaches the teacher once.

At phone size, with Chromium's fake camera. Each test counts the student's attempts in the
live server's database before and after: exactly one more, never two.
"""

from __future__ import annotations

import re
import sqlite3
import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import PATIENCE
from tests.e2e.test_practice_journey import second_page
from tests.e2e.test_smoke import TEACHER, log_in, open_menu
from tests.e2e.test_upload import recording

pytestmark = pytest.mark.parametrize("size", ["phone"])

COUNT_TAKES = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("practika-takes", 1);
  open.onupgradeneeded = () => {
    open.result.createObjectStore("takes", { keyPath: "id" });
    open.result.createObjectStore("chunks", { keyPath: ["take", "n"] });
  };
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const request = open.result.transaction("takes").objectStore("takes").count();
    request.onsuccess = () => { open.result.close(); resolve(request.result); };
  };
})"""


def attempts(live_env: dict[str, str]) -> int:
    path = urlsplit(live_env["DATABASE_URL"].replace("sqlite:///", "file:///")).path
    with sqlite3.connect(path) as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM video_comments WHERE kind = 'attempt'"
        ).fetchone()
    return count


def no_takes_left(page: Page) -> None:
    """Waits until the phone holds no take: the page deletes a sent one as it loads."""
    page.wait_for_function(f"async () => (await ({COUNT_TAKES})()) === 0")


def unsent(page: Page):
    return page.locator("[data-unsent-takes] .unsent-take")


def slow_uplink(context: BrowserContext, page: Page, bytes_per_second: int) -> None:
    """Chromium's own network emulation: uploads crawl, so a test can act mid-upload."""
    session = context.new_cdp_session(page)
    session.send("Network.enable")
    session.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 100,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )


def test_the_take_goes_up_while_it_is_recorded_and_only_the_tail_is_left_at_stop(
    page: Page, live_env
) -> None:
    before = attempts(live_env)
    patches: list[str] = []
    page.on("request", lambda r: patches.append(r.url) if r.method == "PATCH" else None)
    form = recording(page, 3)
    assert patches, "pieces are sent while recording goes on"
    form.get_by_role("button", name="Stop").click()
    expect(form.locator("[data-recorder-message]")).to_contain_text("It is uploaded")
    assert page.evaluate(COUNT_TAKES) == 1  # kept on the phone until the attempt exists

    form.get_by_role("button", name="Send attempt").click()
    expect(page).to_have_url(re.compile(r"/comments/attempts/"))
    assert attempts(live_env) == before + 1
    no_takes_left(page)


def test_a_reload_while_recording_offers_the_take_and_sends_it_once(
    page: Page, live_env, shoot
) -> None:
    before = attempts(live_env)
    recording(page, 3)
    page.reload()  # mid-recording: the camera goes off, the pieces stay
    take = unsent(page)
    expect(take).to_have_count(1)
    expect(take).to_contain_text("Follow the pattern")
    expect(take).to_contain_text(re.compile(r"0:0\d, recorded today at"))
    expect(take.locator("video")).to_be_visible()
    shoot("unsent-take")

    take.get_by_role("button", name="Send it").click()
    expect(page).to_have_url(re.compile(r"/comments/attempts/"))
    expect(page.get_by_text("Attempt sent.")).to_be_visible()
    assert attempts(live_env) == before + 1
    no_takes_left(page)
    page.goto("/exercises/")
    expect(unsent(page)).to_have_count(0)


def test_a_tab_closed_during_the_upload_resumes_from_what_the_server_has(
    page: Page, live_env
) -> None:
    before = attempts(live_env)
    context = page.context
    slow_uplink(context, page, 40_000)
    form = recording(page, 4)
    form.get_by_role("button", name="Stop").click()
    expect(form.locator("[data-recorder-message]")).to_contain_text("Uploading the last seconds")
    page.close()  # the tab goes while the tail is still going up

    again = context.new_page()
    again.goto("/exercises/")
    offsets: list[int] = []
    again.on(
        "request",
        lambda r: offsets.append(int(r.headers["upload-offset"])) if r.method == "PATCH" else None,
    )
    take = unsent(again)
    expect(take).to_have_count(1)
    take.get_by_role("button", name="Send it").click()
    expect(again).to_have_url(re.compile(r"/comments/attempts/"))
    # On a loaded machine the tail may have got up before the tab went: then nothing is left
    # to send. What must never happen is sending it again from zero.
    assert offsets[:1] != [0], "it went on from zero, not from the server's offset"
    assert attempts(live_env) == before + 1


def test_a_network_lost_for_twenty_seconds_waits_and_goes_on_by_itself(
    browser: Browser, live_server: str, live_env, size
) -> None:
    """Its own browser: while offline, the page's status polls fail, as they should."""
    before = attempts(live_env)
    errors: list[str] = []
    page = second_page(browser, live_server, size, errors)
    form = recording(page, 1)
    page.context.set_offline(True)
    message = form.locator("[data-recorder-message]")
    expect(message).to_contain_text("Waiting for the connection")
    time.sleep(20)
    form.get_by_role("button", name="Stop").click()
    expect(message).to_contain_text("Waiting for the connection")
    page.context.set_offline(False)
    expect(message).to_contain_text("It is uploaded")
    form.get_by_role("button", name="Send attempt").click()
    expect(page).to_have_url(re.compile(r"/comments/attempts/"))
    assert attempts(live_env) == before + 1
    page.context.close()
    assert not [error for error in errors if "htmx:" not in error]


def sent_from(*tabs: Page):
    """The tabs that reach the attempt's page, once one has (within PATIENCE)."""
    deadline = time.monotonic() + PATIENCE / 1000
    while time.monotonic() < deadline:
        arrived = [tab for tab in tabs if "/comments/attempts/" in tab.url]
        if arrived:
            return arrived
        tabs[0].wait_for_timeout(200)
    raise AssertionError("neither tab sent the take")


def test_the_same_take_offered_in_two_tabs_becomes_one_attempt(page: Page, live_env) -> None:
    before = attempts(live_env)
    recording(page, 2)
    page.goto("/exercises/")  # left mid-recording
    other = page.context.new_page()
    other.goto("/exercises/")
    expect(unsent(page)).to_have_count(1)
    expect(unsent(other)).to_have_count(1)

    unsent(page).get_by_role("button", name="Send it").click()
    unsent(other).get_by_role("button", name="Send it").click()
    # Whichever tab holds the take's claim sends it: usually the first, but on a loaded
    # machine the second may claim it first.
    sender = sent_from(page, other)[0]
    loser = other if sender is page else page
    sent_twice = loser.locator("[data-unsent-takes]")
    expect(sent_twice.or_(loser.get_by_text("Attempt sent."))).to_be_visible()
    time.sleep(2)  # whatever the second tab does, it has done it by now
    assert attempts(live_env) == before + 1


def test_a_take_left_on_a_shared_phone_is_offered_only_to_its_own_account(page: Page) -> None:
    recording(page, 2)
    page.reload()
    expect(unsent(page)).to_have_count(1)
    open_menu(page)
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    page.goto("/accounts/login")
    log_in(page, TEACHER.email, TEACHER.password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Exercises")
    page.wait_for_timeout(1000)  # the offer would have come by now
    expect(unsent(page)).to_have_count(0)
    assert page.evaluate(COUNT_TAKES) == 1  # still on the phone for the student


def test_a_discarded_take_leaves_neither_the_phone_nor_the_server(page: Page, live_env) -> None:
    before = attempts(live_env)
    recording(page, 2)
    page.reload()
    take = unsent(page)
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
        take.get_by_role("button", name="Discard").click()
    assert deleted.value.status == 204
    expect(take).to_have_count(0)
    expect(page.locator("[data-unsent-takes]")).to_be_hidden()
    no_takes_left(page)
    assert page.request.head(deleted.value.url, headers={"Tus-Resumable": "1.0.0"}).status == 404
    assert attempts(live_env) == before


def test_a_take_whose_own_upload_is_refused_is_sent_as_a_file(page: Page, live_env) -> None:
    """The live upload refused for good (here by a stand-in answer): the form sends the
    recording as a chosen file, and the copy on the phone goes once the attempt exists."""
    before = attempts(live_env)

    def refuse(route) -> None:
        if route.request.headers.get("upload-defer-length") == "1":
            route.fulfill(status=413, content_type="text/plain", body="Too big for a stand-in.")
        else:
            route.continue_()

    page.route("**/core/uploads/", refuse)
    form = recording(page, 2)
    form.get_by_role("button", name="Stop").click()
    expect(form.locator("[data-recorder-message]")).to_contain_text("Too big for a stand-in.")
    assert page.evaluate(COUNT_TAKES) == 1
    form.get_by_role("button", name="Send attempt").click()
    expect(page).to_have_url(re.compile(r"/comments/attempts/"))
    assert attempts(live_env) == before + 1
    no_takes_left(page)
