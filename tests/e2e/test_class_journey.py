"""A class from its first minute, in Chromium against the live server and a real worker: a
teacher on a desktop creates a class and publishes an exercise to it; a new student on a
360 px phone opens the join link, signs up, confirms from the outbox, chooses a role and
lands in the class; a student of another class gets 404 for the exercise; the new student
sends an attempt, which waits in the teacher's inbox; the teacher answers; the student sees
the badge and the feedback; the class's progress grid shows the change."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from practika.media.synth import synth_video
from tests.e2e.conftest import ARTIFACTS, PROCESSED
from tests.e2e.test_accounts_journey import link_from_outbox
from tests.e2e.test_practice_journey import STUDENT, TEACHER, second_page
from tests.e2e.test_smoke import log_in, open_menu

PASSWORD = "a sound passphrase"


@pytest.mark.timeout(600)  # a ceiling for a loaded machine
def test_a_class_from_creation_to_feedback(
    browser: Browser, live_server: str, live_env, live_worker, tmp_path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    outbox = Path(live_env["INSTANCE_PATH"]) / "outbox"

    # The teacher, on a desktop: a class, and an exercise published to it alone.
    teacher = second_page(browser, live_server, "desktop", errors)
    teacher.goto("/accounts/login")
    log_in(teacher, TEACHER.email, TEACHER.password)
    teacher.get_by_role("link", name="Classes").click()
    teacher.get_by_label("Class name").fill("Thursday strings")
    teacher.get_by_role("button", name="Create class").click()
    expect(teacher.get_by_role("heading", level=1)).to_have_text("Thursday strings")
    expect(teacher.locator(".class-qr")).to_be_visible()
    qr = teacher.locator(".class-qr")
    assert qr.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0  # it draws
    join_link = teacher.get_by_label("Join link").input_value()
    class_url = teacher.url

    teacher.goto("/exercises/new")
    teacher.get_by_label("Name").fill("Bow hold")
    teacher.get_by_label("Upload a video").set_input_files(
        synth_video(tmp_path / "model.mp4", seconds=3, width=640, height=360)
    )
    with teacher.expect_request(lambda request: request.method == "PATCH"):
        teacher.get_by_role("button", name="Create exercise").click()
    expect(teacher.get_by_role("heading", level=1)).to_have_text("Bow hold")
    expect(teacher.locator(".stage video")).to_be_visible(timeout=PROCESSED)
    exercise_url = teacher.url
    expect(teacher.locator("#publish h2")).to_have_text("Draft")
    teacher.reload()  # the video plays now: publish it
    teacher.locator("#publish").get_by_label("Thursday strings").check()
    teacher.locator("#publish").get_by_role("button", name="Save who sees it").click()
    expect(teacher.locator("#publish h2")).to_have_text("Published")
    teacher.screenshot(path=ARTIFACTS / "desktop-class-exercise-published.png", full_page=True)

    # A new student, on a phone: the join link, through sign-up, into the class.
    newcomer = second_page(browser, live_server, "phone", errors)
    newcomer.goto(join_link)
    expect(newcomer.get_by_text("Sign up, or log in, to join “Thursday strings”.")).to_be_visible()
    newcomer.get_by_label("Username").fill("new-violinist")
    newcomer.get_by_label("Email").fill("violinist@example.com")
    newcomer.get_by_label("Password").fill(PASSWORD)
    newcomer.get_by_role("button", name="Create account").click()
    expect(newcomer.get_by_role("heading", name="Check your email")).to_be_visible()
    confirm = link_from_outbox(
        outbox, "violinist@example.com", "Confirm your email for Practika", live_server
    )
    newcomer.goto(confirm)
    expect(newcomer.get_by_text("Your email is confirmed.")).to_be_visible()
    log_in(newcomer, "new-violinist", PASSWORD)
    newcomer.get_by_label("Student: I practise exercises").check()
    newcomer.get_by_role("button", name="Continue").click()
    expect(newcomer.get_by_role("heading", level=1)).to_have_text("Thursday strings")
    expect(newcomer.get_by_role("link", name="Bow hold")).to_be_visible()
    newcomer.screenshot(path=ARTIFACTS / "phone-class-joined.png", full_page=True)

    # A student of another class: not in their list, and 404 by its address.
    other = second_page(browser, live_server, "desktop", errors)
    other.goto("/accounts/login")
    log_in(other, STUDENT.email, STUDENT.password)
    expect(other.get_by_role("heading", level=1)).to_have_text("Exercises")
    expect(other.get_by_role("link", name="Bow hold")).to_have_count(0)
    assert other.goto(exercise_url).status == 404

    # The new student records an attempt with the (fake) camera and sends it.
    newcomer.get_by_role("link", name="Bow hold").click()
    form = newcomer.locator("#attempt-form")
    form.locator("[data-recorder-start]").click()
    expect(form.locator("[data-recorder-message]")).to_contain_text("Recording 0:02")
    form.get_by_role("button", name="Stop").click()
    expect(form.locator("[data-recorder-preview]")).to_be_visible()
    expect(form.locator("[data-recorder-message]")).to_contain_text("It is uploaded")
    form.get_by_role("button", name="Send attempt").click()
    expect(newcomer).to_have_url(re.compile(r"/comments/attempts/"))
    attempt_url = newcomer.url
    # The teacher hears of it once its video plays.
    take = newcomer.locator(".compare-side").first.locator(".stage video")
    expect(take).to_be_visible(timeout=PROCESSED)

    # It waits in the teacher's inbox; the teacher answers it.
    teacher.goto("/exercises/")
    inbox = teacher.get_by_role("link", name=re.compile("^Inbox"))
    expect(inbox.locator(".nav-count")).to_have_text(re.compile(r"[1-9]"))
    inbox.click()
    waiting = teacher.locator(".inbox-list .attempt-card", has_text="new-violinist")
    expect(waiting).to_be_visible()
    teacher.screenshot(path=ARTIFACTS / "desktop-inbox.png", full_page=True)
    waiting.get_by_role("link").first.click()
    expect(teacher).to_have_url(attempt_url)
    teacher.get_by_role("textbox", name="Feedback").fill("Relax the thumb.")
    teacher.get_by_role("button", name="Send feedback").click()
    expect(teacher.locator("#feedback .comment", has_text="Relax the thumb")).to_be_visible()

    # The student sees the badge, and the feedback.
    newcomer.goto("/exercises/")
    menu = newcomer.get_by_role("banner").get_by_role("button", name=re.compile("^Menu"))
    expect(menu.locator(".nav-count")).to_have_text("1")  # a phone shows it on the menu button
    open_menu(newcomer)
    badge = newcomer.get_by_role("link", name=re.compile("^My attempts")).locator(".nav-count")
    expect(badge).to_have_text("1")
    expect(newcomer.locator(".badge-new")).to_be_visible()
    newcomer.goto(attempt_url)
    expect(newcomer.locator("#feedback .comment", has_text="Relax the thumb")).to_be_visible()
    newcomer.goto("/exercises/")
    expect(newcomer.locator(".badge-new")).to_have_count(0)

    # The class's grid shows the student's attempt answered.
    teacher.goto(class_url)
    cell = teacher.locator(".progress-grid tr", has_text="new-violinist").locator(".status-pill")
    expect(cell).to_have_text("Answered")
    teacher.set_viewport_size({"width": 360, "height": 740})
    teacher.screenshot(path=ARTIFACTS / "phone-class-page.png", full_page=True)
    assert not errors, f"the browsers reported errors: {errors}"
