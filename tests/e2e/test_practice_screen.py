"""The phone practice screen (issue 16), in Chromium with the fake camera, on the demo
exercise (a 12 s 30 fps model with three clips): the model first, its clips and controls
under it and in view while the page scrolls; speeds, an A-B loop and frame steps that move
by exactly one frame; recording with the model playing beside the camera."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import watched_page
from tests.e2e.test_smoke import STUDENT, log_in

PHONES = {"phone": {"width": 360, "height": 740}, "phone-390": {"width": 390, "height": 844}}
FRAME = 1 / 30  # the demo model's frame rate
TIMES, DASH = "\N{MULTIPLICATION SIGN}", "\N{EN DASH}"

# Notes the media time of every frame the video shows; SHOWN then waits until the frame on
# screen is the one at the video's current time (a seek has landed and been shown) and gives
# its media time: the frame itself, not currentTime, which is wherever the last seek aimed.
WATCH_FRAMES = """video => video.requestVideoFrameCallback(function shown(now, frame) {
  window.shownFrame = frame.mediaTime;
  video.requestVideoFrameCallback(shown);
})"""
SHOWN = """video => !video.seeking && window.shownFrame !== undefined &&
  Math.abs(window.shownFrame - video.currentTime) < 0.01 && window.shownFrame"""
PAUSE_AT = """(video, seconds) => new Promise(resolve => {
  video.pause();
  video.addEventListener("seeked", () => resolve(video.currentTime), {once: true});
  video.currentTime = seconds;
})"""
# Top and bottom of an element's box, against the viewport's height.
BOX = """element => {
  const box = element.getBoundingClientRect();
  return {top: box.top, bottom: box.bottom, left: box.left, right: box.right,
          height: window.innerHeight, width: window.innerWidth};
}"""


@pytest.fixture(params=list(PHONES))
def phone(request, browser: Browser, live_server: str):
    """A student's phone, logged in, at 360x740 or 390x844, with a camera and microphone."""
    with watched_page(
        browser,
        live_server,
        viewport=PHONES[request.param],
        is_mobile=True,
        has_touch=True,
        permissions=["camera", "microphone"],
    ) as page:
        page.goto("/accounts/login")
        log_in(page, STUDENT.email, STUDENT.password)
        expect(page.get_by_role("heading", level=1)).to_have_text("Exercises")
        yield page


def open_demo_exercise(page: Page):
    page.get_by_role("link", name="Follow the pattern").click()
    model = page.locator(".practice video")
    expect(model).to_be_visible()
    model.evaluate("video => video.readyState >= 1 || new Promise(r => video.onloadedmetadata = r)")
    return model


def shown_frame(page: Page, model) -> float:
    """The media time of the frame on screen, once the last seek has landed and shows."""
    return page.wait_for_function(SHOWN, arg=model.element_handle()).json_value()


def inside(box: dict) -> bool:
    return box["top"] >= 0 and box["bottom"] <= box["height"] + 0.5


def test_the_model_comes_first_and_stays_in_view(phone: Page) -> None:
    model = open_demo_exercise(phone)
    box = model.evaluate(BOX)
    assert box["top"] <= 120, f"the model starts {box['top']:.0f} px down the screen"
    chips = phone.locator(".clip-chips .clip-chip")
    expect(chips).to_have_count(3)
    first = chips.first
    expect(first).to_be_visible()
    assert first.evaluate("chip => chip.scrollWidth <= chip.clientWidth + 1"), "a clip name is cut"
    for name in ["Play", "One frame back", "One frame forward", "Mirror", f"Speed 0.25{TIMES}"]:
        control = phone.get_by_role("button", name=name, exact=True)
        assert inside(control.evaluate(BOX)), f"{name} is not on the first screen"
    # Moving on through the clips and the instructions below, the model and its controls
    # stay on screen.
    phone.locator("#clips .clip-row").last.scroll_into_view_if_needed()
    phone.get_by_role("heading", name="About this exercise").scroll_into_view_if_needed()
    assert inside(model.evaluate(BOX)), "the model scrolled away from the clips"
    assert inside(phone.get_by_role("button", name="Play", exact=True).evaluate(BOX))


def test_frame_steps_move_by_one_frame(phone: Page) -> None:
    model = open_demo_exercise(phone)
    model.evaluate(WATCH_FRAMES)
    model.evaluate(PAUSE_AT, 0.5)
    # Playing a moment lets the page learn the video's frame length, as a person's would.
    model.evaluate("video => video.play()")
    phone.wait_for_timeout(500)
    model.evaluate(PAUSE_AT, 2.5)
    start = shown_frame(phone, model)
    forward = phone.get_by_role("button", name="One frame forward")
    back = phone.get_by_role("button", name="One frame back")
    shown = []
    for button in [forward, forward, back]:
        button.click()
        shown.append(shown_frame(phone, model))
    assert shown[0] == pytest.approx(start + FRAME, abs=0.002)
    assert shown[1] == pytest.approx(start + 2 * FRAME, abs=0.002)
    assert shown[2] == pytest.approx(start + FRAME, abs=0.002)
    assert model.evaluate("video => video.paused")


def test_slow_speeds_and_an_ab_loop(phone: Page) -> None:
    model = open_demo_exercise(phone)
    slowest = phone.get_by_role("button", name=f"Speed 0.25{TIMES}")
    slowest.click()
    assert model.evaluate("video => video.playbackRate") == 0.25
    expect(slowest).to_have_attribute("aria-pressed", "true")
    model.evaluate(PAUSE_AT, 1.0)
    phone.get_by_role("button", name="A-B loop: mark A here").click()
    model.evaluate(PAUSE_AT, 1.5)
    phone.get_by_role("button", name="Mark B here, the loop's end").click()
    stop = phone.get_by_role("button", name="Stop the A-B loop")
    expect(stop).to_have_attribute("aria-pressed", "true")
    expect(phone.locator(".loop-status")).to_have_text(f"Looping A-B 0:01.0{DASH}0:01.5")
    phone.get_by_role("button", name=f"Speed 1{TIMES}").click()
    # Over two loops' worth of playing, the video never leaves the loop.
    times = model.evaluate("""video => new Promise(resolve => {
      const seen = [];
      const note = () => { seen.push(video.currentTime); video.requestVideoFrameCallback(note); };
      video.requestVideoFrameCallback(note);
      setTimeout(() => resolve(seen), 1200);
    })""")
    assert times and all(0.95 <= t <= 1.55 for t in times), times
    stop.click()
    expect(phone.locator(".loop-status")).to_be_hidden()


def test_recording_with_the_model_in_view(phone: Page) -> None:
    model = open_demo_exercise(phone)
    clip = phone.locator(".clip-chips .clip-chip").nth(1)
    start, end = (float(clip.get_attribute(f"data-loop-{edge}")) for edge in ("start", "end"))
    clip.click()
    phone.get_by_role("button", name=f"Speed 0.5{TIMES}").click()
    model.evaluate("video => video.pause()")
    form = phone.locator("#attempt-form")
    form.get_by_role("button", name="Record with camera").click()
    expect(form.locator("[data-recorder-message]")).to_contain_text("Recording 0:01")
    live = form.locator("[data-recorder-live]")
    # Both on screen at once: the model, playing its clip at half speed, and the camera.
    assert inside(model.evaluate(BOX)) and inside(live.evaluate(BOX))
    assert not model.evaluate("video => video.paused")
    assert model.evaluate("video => video.playbackRate") == 0.5
    assert start <= model.evaluate("video => video.currentTime") <= end + 0.1
    model_box, live_box = model.evaluate(BOX), live.evaluate(BOX)
    assert model_box["bottom"] <= live_box["top"] + 1, "the model covers the camera"
    play = phone.get_by_role("button", name="Pause", exact=True)
    play.click()  # the student can pause the model while recording
    assert model.evaluate("video => video.paused")
    assert form.locator("[name=against_rate]").input_value() == "0.5"
    assert form.locator("[name=against_clip]").input_value()
    form.get_by_role("button", name="Stop").click()
    expect(form.locator("[data-recorder-preview]")).to_be_visible()
    assert not phone.evaluate("document.documentElement.classList.contains('practice-mode')")


def test_keys_on_a_desktop_and_no_hint_on_a_phone(page: Page, size: str) -> None:
    page.goto("/accounts/login")
    log_in(page, STUDENT.email, STUDENT.password)
    model = open_demo_exercise(page)
    hint = page.locator(".shortcut-hint")
    if size == "phone":
        expect(hint).to_be_hidden()
        return
    expect(hint).to_be_visible()
    model.evaluate(WATCH_FRAMES)
    model.evaluate(PAUSE_AT, 1.5)
    start = shown_frame(page, model)
    page.keyboard.press(".")
    assert shown_frame(page, model) == pytest.approx(start + FRAME, abs=0.002)
    page.keyboard.press("2")
    assert model.evaluate("video => video.playbackRate") == 0.5


def test_without_javascript_no_dead_controls(browser: Browser, live_server: str) -> None:
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    page = context.new_page()
    page.goto("/accounts/login")
    page.get_by_label("Email or username").fill(STUDENT.email)
    page.get_by_label("Password", exact=True).fill(STUDENT.password)
    page.get_by_role("main").get_by_role("button", name="Log in", exact=True).click()
    page.goto("/exercises/")
    page.get_by_role("link", name="Follow the pattern").click()
    expect(page.locator(".practice video")).to_be_visible()
    expect(page.locator(".drill-bar")).to_be_hidden()
    expect(page.locator(".clip-chips")).to_be_hidden()
    context.close()
