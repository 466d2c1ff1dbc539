"""Drawing on a paused frame, in Chromium against the live server and a real worker.

A teacher, on a 360 px phone (with a finger) and on a desktop (with the mouse), pauses the
take at 1.6 s, draws an arrow and an angle on it, writes and sends. The student, on both
screens and with the take mirrored, taps the comment's marker on the take's timeline: the
take stops at 1.6 s and the shapes lie on the same spot of the frame, within 2 % of its
size; so do they on the comment's still, which the worker made from the take.

Where a shape lies on the frame is measured from the screen, independently of drawing.js:
each shape's points as the browser renders them (the SVG path through its screen matrix),
taken back into the frame through the picture's own box (object-fit: contain). axe-core
checks the composer with its drawing tools open, and the page with the markers and the still."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import ARTIFACTS, PROCESSED, VIEWPORTS, watched_page
from tests.e2e.students import pause_take_at, student_with_take
from tests.e2e.test_accessibility import axe_violations
from tests.e2e.test_smoke import TEACHER, log_in

STUDENT = ("sketched@example.com", "sketched", "a drawing on my take, please")
MOMENT = 1.6
ARROW = [[0.30, 0.40], [0.60, 0.62]]
ANGLE = [[0.40, 0.25], [0.48, 0.60], [0.70, 0.66]]  # an arm's end, the vertex, the other's
TOLERANCE = 0.02  # of the frame's width or height

# Each drawn shape's points as the browser shows them (its first path through the screen
# matrix), and the picture's box inside the <video> or <img> (object-fit: contain leaves
# bars on two sides): read in one go, so a page still scrolling cannot move one of them.
ON_SCREEN = """([layer, media]) => {
  const shapes = {};
  layer.querySelectorAll("g[data-shape]").forEach(group => {
    const path = group.querySelector("path");
    const numbers = path.getAttribute("d").match(/-?[0-9.]+/g).map(Number);
    const matrix = path.getScreenCTM();
    const points = [];
    for (let i = 0; i + 1 < numbers.length; i += 2) {
      const p = new DOMPoint(numbers[i], numbers[i + 1]).matrixTransform(matrix);
      points.push([p.x, p.y]);
    }
    shapes[group.dataset.shape] = points;
  });
  const box = media.getBoundingClientRect();
  const width = media.videoWidth || media.naturalWidth;
  const height = media.videoHeight || media.naturalHeight;
  const scale = Math.min(box.width / width, box.height / height);
  const picture = {left: box.left + (box.width - width * scale) / 2,
                   top: box.top + (box.height - height * scale) / 2,
                   width: width * scale, height: height * scale};
  return {shapes, picture};
}"""
STOPPED_AT_THE_MOMENT = """([video, moment]) =>
  video.paused && !video.seeking && Math.abs(video.currentTime - moment) < 0.05"""


@pytest.fixture(scope="module")
def attempt(live_server, live_env) -> tuple[str, str]:
    """The student's attempt and its take's player id."""
    return student_with_take(live_env, STUDENT)


def on_screen_now(page: Page, layer: str, media: str) -> dict:
    handles = [
        page.locator(layer).first.element_handle(),
        page.locator(media).first.element_handle(),
    ]
    return page.evaluate(ON_SCREEN, handles)


def on_screen(box: dict[str, float], point: list[float]) -> tuple[float, float]:
    return box["left"] + point[0] * box["width"], box["top"] + point[1] * box["height"]


def drag(page: Page, start: tuple[float, float], end: tuple[float, float], finger: bool) -> None:
    """A drag with the mouse, or with a finger on the touch screen (touch events through
    Chromium's input, so the page gets pointer events of a touch, as on a phone)."""
    steps = [
        (start[0] + (end[0] - start[0]) * i / 8, start[1] + (end[1] - start[1]) * i / 8)
        for i in range(9)
    ]
    if not finger:
        page.mouse.move(*start)
        page.mouse.down()
        for x, y in steps[1:]:
            page.mouse.move(x, y)
        page.mouse.up()
        return
    touch = page.context.new_cdp_session(page)
    touch.send(
        "Input.dispatchTouchEvent",
        {"type": "touchStart", "touchPoints": [{"x": start[0], "y": start[1]}]},
    )
    for x, y in steps[1:]:
        touch.send(
            "Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]}
        )
    touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    touch.detach()


def draw(page: Page, points: list[list[float]], finger: bool) -> None:
    """Drag from each point to the next, on the take's picture where it is now."""
    box = on_screen_now(page, ".compare-lead", ".compare-lead video")["picture"]
    for start, end in pairwise(points):
        drag(page, on_screen(box, start), on_screen(box, end), finger)


def shapes_on_frame(page: Page, layer: str, media: str, mirrored: bool) -> dict[str, list]:
    """Each drawn shape's points, taken back from the screen into the frame (0 to 1)."""
    seen = on_screen_now(page, layer, media)
    box, shapes = seen["picture"], seen["shapes"]
    frame = {}
    for name, points in shapes.items():
        taken = []
        for x, y in points:
            across = (x - box["left"]) / box["width"]
            taken.append([1 - across if mirrored else across, (y - box["top"]) / box["height"]])
        frame[name] = taken
    return frame


def assert_in_place(shapes: dict[str, list], where: str) -> None:
    assert set(shapes) == {"arrow", "angle"}, f"{where}: drawn {sorted(shapes)}"
    for name, expected in (("arrow", ARROW), ("angle", ANGLE)):
        for got, want in zip(shapes[name], expected, strict=True):
            off = max(abs(got[0] - want[0]), abs(got[1] - want[1]))
            assert off <= TOLERANCE, f"{where}: the {name}'s point {want} is at {got}"


def teacher_draws_and_sends(page: Page, attempt_id: str, finger: bool, words: str) -> str:
    """The teacher's side; the new comment's element id."""
    page.goto("/accounts/login")
    log_in(page, TEACHER.email, TEACHER.password)
    expect(page).to_have_url(re.compile("/exercises/"))
    page.goto(f"/comments/attempts/{attempt_id}")
    form = page.locator(f"#comment-form-{attempt_id}")
    pause_take_at(page, MOMENT)
    form.get_by_label("Feedback").focus()  # the composer stamps the take's moment
    expect(form.locator("[data-stamp-words]")).to_have_text("At 0:01.6")
    form.get_by_role("button", name="Draw").click()
    expect(page.locator(".compare-stage")).to_have_attribute("data-arrangement", "solo")
    draw(page, ARROW, finger)
    form.get_by_role("button", name="Angle, with its degrees").click()
    draw(page, ANGLE[:2], finger)
    draw(page, ANGLE[1:], finger)
    layer = page.locator(".compare-lead svg.drawing-layer")
    expect(layer.locator("g[data-shape]")).to_have_count(2)
    expect(layer.locator("text")).to_have_text(re.compile(r"^\d+°$"))
    assert_in_place(
        shapes_on_frame(page, ".compare-lead svg.drawing-layer", ".compare-lead video", False),
        "the teacher's draft",
    )
    form.get_by_label("Feedback").fill(words)
    assert not axe_violations(page), "the composer, drawing, has serious axe violations"
    page.screenshot(path=ARTIFACTS / f"{page.viewport_size['width']}-drawing-teacher.png")
    form.get_by_role("button", name="Send feedback").click()
    comment = page.locator("article.comment").filter(has_text=words)
    expect(comment.locator(".timestamp")).to_contain_text("0:01.6")
    # The draft went with the form; the take, still at the moment, shows the comment's.
    expect(form.locator("[data-drawing-input]")).to_have_value("")
    expect(form.get_by_role("button", name="Draw")).to_have_attribute("aria-pressed", "false")
    expect(layer.locator("g[data-shape]")).to_have_count(2)
    return comment.get_attribute("id")


def student_finds_it(
    browser: Browser, live_server: str, attempt: tuple[str, str], comment_id: str, screen: str
) -> None:
    attempt_id, player = attempt
    phone = screen == "phone"
    email, _, password = STUDENT
    options = {"viewport": VIEWPORTS[screen], "is_mobile": phone, "has_touch": phone}
    with watched_page(browser, live_server, **options) as page:
        page.goto("/accounts/login")
        log_in(page, email, password)
        expect(page).to_have_url(re.compile("/exercises/"))
        page.goto(f"/comments/attempts/{attempt_id}")
        marker = page.locator(f"[data-marker][data-comment='{comment_id}']")
        expect(marker).to_be_visible()
        marker.tap() if phone else marker.click()
        take = page.locator(".compare-lead video").element_handle()
        page.wait_for_function(STOPPED_AT_THE_MOMENT, arg=[take, MOMENT])
        layer = ".compare-lead svg.drawing-layer"
        expect(page.locator(layer).locator("g[data-shape]")).to_have_count(2)
        page.screenshot(path=ARTIFACTS / f"{screen}-drawing-student.png")
        assert_in_place(
            shapes_on_frame(page, layer, ".compare-lead video", False), f"the take at {screen} size"
        )

        page.locator(f"button[data-mirror][data-for='{player}']").first.click()
        expect(page.locator(".compare-lead video")).to_have_class(re.compile("mirrored"))
        assert_in_place(
            shapes_on_frame(page, layer, ".compare-lead video", True),
            f"the mirrored take at {screen} size",
        )
        page.screenshot(path=ARTIFACTS / f"{screen}-drawing-student-mirrored.png")

        still = page.locator(f"#{comment_id} figure.comment-still")
        expect(still.locator("img")).to_be_visible(timeout=PROCESSED)
        still.locator("img").evaluate("image => image.decode()")
        expect(still.locator("svg g[data-shape]")).to_have_count(2)
        assert not axe_violations(page), "the page with markers and a still has axe violations"
        assert_in_place(
            shapes_on_frame(
                page,
                f"#{comment_id} figure.comment-still svg",
                f"#{comment_id} figure.comment-still img",
                False,
            ),
            f"the still at {screen} size",
        )


def test_a_drawing_lands_on_the_same_spot_of_the_frame(
    page: Page, browser: Browser, live_server, live_worker, attempt, size
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    words = f"Knee over the toes here ({size})."
    comment_id = teacher_draws_and_sends(page, attempt[0], size == "phone", words)
    for screen in VIEWPORTS:
        student_finds_it(browser, live_server, attempt, comment_id, screen)
