"""The compare view in Chromium, on phones (portrait and landscape) and a desktop: both videos
and the controls fully on screen, without scrolling, in every arrangement, for a landscape
take and a portrait take beside the landscape model; Play both together starting the model
where the stored offset says; the nudge saved; first vs latest opened.

A student of the demo class of their own (so the demo student's pages stay as other tests
expect) has two takes at the demo exercise, made by the real pipeline in this process: a
landscape one lined up by sound 1 s into the model, and a later portrait one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from practika import create_app
from practika.comments.models import AlignedBy, AttemptAlignment, VideoComment
from practika.config import TestConfig
from practika.extensions import db
from tests.e2e.conftest import PATIENCE, PROCESSED, broken_asset, console_error
from tests.e2e.students import demo_class_student, send_take
from tests.e2e.test_smoke import log_in

SHOTS = Path("/tmp/shots-compare")
PASSWORD = "side by side practice drills"
OFFSET = 1.0  # where the landscape take starts on the model, by sound
SCREENS = {
    "360x740": {"width": 360, "height": 740},
    "390x844": {"width": 390, "height": 844},
    "740x360": {"width": 740, "height": 360},  # a phone turned on its side
    "1280x800": {"width": 1280, "height": 800},
}
MODES = ("Side by side", "Stacked", "Overlay")

# Resolves once the video knows its size, so the layout is the final one.
SIZED = """video => new Promise(resolve => {
  if (video.readyState >= 1) return resolve(true);
  video.addEventListener("loadedmetadata", () => resolve(true), {once: true});
})"""
# Notes where the lead and the follower are when the lead starts playing; STARTED reads it.
WATCH_START = """([lead, follower]) => {
  const a = document.getElementById(lead), b = document.getElementById(follower);
  window.startedAt = new Promise(resolve => a.addEventListener(
    "playing", () => resolve([a.currentTime, b.currentTime]), {once: true}));
}"""
STARTED = "() => window.startedAt"


def line_up(attempt: VideoComment, by: str, offset: float | None, confidence: float | None):
    """The attempt's alignment as the sound job would leave it (no worker runs here)."""
    row = attempt.alignment or AttemptAlignment(attempt=attempt)
    row.take_asset_id = attempt.video_asset_id
    row.model_asset_id = attempt.exercise.video_asset_id
    row.aligned_by, row.offset_sec, row.confidence = by, offset, confidence
    db.session.add(row)


@pytest.fixture(scope="module")
def takes(live_server, live_env) -> Iterator[dict[str, str]]:
    """The student's two takes (their attempt ids, and their players' ids)."""
    app = create_app(TestConfig(live_env))
    with app.app_context():
        student = demo_class_student(("compare@example.com", "compare-student", PASSWORD))
        first = send_take(student, width=640, height=360)
        line_up(first, AlignedBy.SOUND, OFFSET, 15.0)
        db.session.commit()
        first_id = first.id
        latest = send_take(first.author, width=360, height=640)  # sent after: the latest
        line_up(latest, AlignedBy.NONE, None, None)  # its sound matched nothing
        db.session.commit()
        first = db.session.get(VideoComment, first_id)
        ids = {
            "landscape": str(first.id),
            "portrait": str(latest.id),
            "landscape_player": f"player-{first.video_asset_id}",
            "model_player": f"player-{latest.exercise.video_asset_id}",
        }
        db.session.remove()
        db.engine.dispose()
    yield ids


@pytest.fixture
def open_page(browser: Browser, live_server: str):
    """A logged-in page of the takes' student at a screen size, watched for errors."""
    contexts, errors = [], []

    def open_page(screen: str) -> Page:
        touch = SCREENS[screen]["width"] < 1000
        context = browser.new_context(
            base_url=live_server, viewport=SCREENS[screen], is_mobile=touch, has_touch=touch
        )
        context.set_default_timeout(PATIENCE)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: console_error(message, errors))
        page.on("response", lambda response: broken_asset(response, errors))
        page.goto("/accounts/login")
        log_in(page, "compare-student", PASSWORD)
        expect(page).to_have_url(re.compile("/exercises/"))
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not errors, f"the browser reported errors: {errors}"


def both_videos(page: Page):
    videos = page.locator(".compare-stage video")
    expect(videos).to_have_count(2, timeout=PROCESSED)
    for index in range(2):
        videos.nth(index).evaluate(SIZED)
    return videos


def assert_on_screen(page: Page, locator, what: str, smallest: float = 44) -> None:
    box = locator.bounding_box()
    view = page.viewport_size
    assert box is not None, f"{what} is not shown"
    inside = (
        box["x"] >= -0.5
        and box["y"] >= -0.5
        and box["x"] + box["width"] <= view["width"] + 0.5
        and box["y"] + box["height"] <= view["height"] + 0.5
    )
    assert inside, f"{what} at {box} is not inside the {view} screen"
    assert min(box["width"], box["height"]) >= smallest, f"{what} is too small to use: {box}"


@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize("take", ["landscape", "portrait"])
def test_both_videos_and_the_controls_fit_the_screen_in_every_arrangement(
    open_page, takes, screen: str, take: str
) -> None:
    page = open_page(screen)
    page.goto(f"/comments/attempts/{takes[take]}")
    videos = both_videos(page)
    SHOTS.mkdir(exist_ok=True)
    for mode in ("Auto", *MODES):
        page.get_by_role("button", name=mode, exact=True).click()
        expect(page.get_by_role("button", name=mode, exact=True)).to_have_attribute(
            "aria-pressed", "true"
        )
        page.evaluate("window.scrollTo(0, 0)")  # the page opens here; the buttons are below
        arrangement = page.locator(".compare-stage").get_attribute("data-arrangement")
        name = f"{screen}-{take}-{mode.replace(' ', '-').lower()}.png"
        page.screenshot(path=SHOTS / name, animations="disabled")
        if mode != "Auto":
            assert arrangement == {"Side by side": "side", "Stacked": "stacked"}.get(
                mode, "overlay"
            )
        for index, name in enumerate(("the take", "the model")):
            where = f"{name} ({mode}, {arrangement})"
            assert_on_screen(page, videos.nth(index), where, smallest=40)
        assert_on_screen(page, page.locator(".compare-bar .drill-bar"), "the controls")
        assert_on_screen(page, page.get_by_role("button", name="Play both together"), "play")


def test_overlay_fades_and_mirrors_each_layer(open_page, takes) -> None:
    page = open_page("360x740")
    page.goto(f"/comments/attempts/{takes['landscape']}")
    both_videos(page)
    opacity = page.get_by_label("Model opacity")
    expect(opacity).to_be_hidden()  # only the overlay has layers
    page.get_by_role("button", name="Overlay", exact=True).click()
    opacity.fill("20")
    follower = page.locator(".compare-follower .stage")
    expect(follower).to_have_css("opacity", "0.2")
    page.get_by_role("button", name="Mirror the model").click()
    expect(page.locator(f"#{takes['model_player']}")).to_have_class(re.compile("mirrored"))
    page.get_by_role("button", name="Side by side", exact=True).click()
    expect(follower).to_have_css("opacity", "1")


def test_play_both_together_starts_the_model_at_the_offset(open_page, takes) -> None:
    page = open_page("390x844")
    page.goto(f"/comments/attempts/{takes['landscape']}")
    both_videos(page)
    expect(page.get_by_text("Lined up by sound (sure)")).to_be_visible()
    page.evaluate(WATCH_START, [takes["landscape_player"], takes["model_player"]])
    page.get_by_role("button", name="Play both together").click()
    lead, follower = page.evaluate(STARTED)
    assert abs(follower - (OFFSET + lead)) <= 0.1, f"take at {lead} s, model at {follower} s"
    expect(page.get_by_role("button", name="Play both together")).to_have_attribute(
        "aria-pressed", "true"
    )


def test_the_nudge_moves_the_model_and_saves(open_page, takes) -> None:
    page = open_page("360x740")
    page.goto(f"/comments/attempts/{takes['portrait']}")
    both_videos(page)
    expect(page.get_by_text("Started together")).to_be_visible()
    page.get_by_role("button", name="Model 0.1 seconds later").click()
    page.get_by_role("button", name="Model 0.1 seconds later").click()
    offset = page.get_by_label("Model ahead by (s)")
    expect(offset).to_have_value("0.2")
    expect(page.locator("[data-compare]")).to_have_attribute("data-offset", "0.2")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Lined up by hand. Saved.")).to_be_visible()
    page.screenshot(path=SHOTS / "360x740-nudge-saved-full.png", full_page=True)
    page.reload()
    expect(page.get_by_text("Lined up by hand")).to_be_visible()
    expect(page.get_by_label("Model ahead by (s)")).to_have_value("0.2")


def test_first_vs_latest_opens_with_both_takes(open_page, takes) -> None:
    page = open_page("360x740")
    page.goto(f"/comments/attempts/{takes['portrait']}")
    page.get_by_role("button", name="First vs latest").click()
    expect(page).to_have_url(re.compile(f"/compare/{takes['landscape']}$"))
    videos = both_videos(page)
    expect(videos.nth(1)).to_have_attribute("id", takes["landscape_player"])
    assert_on_screen(page, videos.nth(0), "the latest take")
    assert_on_screen(page, videos.nth(1), "the first take")
    page.screenshot(path=SHOTS / "360x740-first-vs-latest.png", animations="disabled")


def test_clips_loop_on_the_take_where_it_shows_them(open_page, takes) -> None:
    """The landscape take starts 1 s into the 3 s model: the first clip (0-1 s of the model)
    is before it, so beside the model it loops the model alone and beside another take it
    is not offered; the second (1-2 s) loops 0-1 s of the take, with the other following."""
    page = open_page("1280x800")
    chip = {
        name: page.locator(f'.clip-picks [data-title="{name}"]')
        for name in ("The first turn", "Halfway: keep the line")
    }
    for url in (
        f"/comments/attempts/{takes['landscape']}",
        f"/comments/attempts/{takes['landscape']}/compare/{takes['portrait']}",
    ):
        page.goto(url)
        both_videos(page)
        halfway = chip["Halfway: keep the line"]
        expect(halfway).to_be_visible()
        expect(halfway).to_have_attribute("data-for", takes["landscape_player"])
        span = [float(halfway.get_attribute(f"data-loop-{end}")) for end in ("start", "end")]
        assert span == pytest.approx([0.0, 1.0], abs=0.01)
        if url.endswith(takes["landscape"]):  # beside the model
            expect(chip["The first turn"]).to_have_attribute("data-for", takes["model_player"])
            expect(chip["The first turn"].locator("[data-model-only]")).to_be_visible()
            expect(halfway.locator("[data-model-only]")).to_be_hidden()
        else:
            expect(chip["The first turn"]).to_be_hidden()
