"""A teacher uploads a video from the browser: tus sends it in pieces with a progress bar,
the worker processes it, and the status on the page turns into a player by itself."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from practika.media.synth import synth_video
from tests.e2e.conftest import PROCESSED
from tests.e2e.test_smoke import STUDENT, TEACHER, log_in, open_menu


def test_teacher_uploads_a_video_and_watches_it_become_playable(
    page: Page, shoot, live_worker, tmp_path, size
) -> None:
    name = f"warm-up on {size}.mp4"  # both screen sizes upload to the same server
    video = synth_video(tmp_path / name, seconds=3, width=640, height=360)
    page.goto("/accounts/login")
    log_in(page, TEACHER.email, TEACHER.password)
    open_menu(page)
    page.get_by_role("link", name="Videos").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your videos")
    shoot("videos-empty")

    page.get_by_label("Video file").set_input_files(video)
    # tus sends the bytes in PATCH requests (the form's plain POST is the no-JS fallback).
    with page.expect_request(lambda request: request.method == "PATCH"):
        page.get_by_role("button", name="Upload").click()
    item = page.get_by_role("article").filter(has_text=name)
    expect(item).to_be_visible()
    # The status fragment polls itself until the worker has made the video playable.
    expect(item.locator("video")).to_be_visible(timeout=PROCESSED)
    shoot("videos-ready")


def test_a_file_that_is_no_video_is_refused_before_a_byte_is_sent(page: Page, tmp_path) -> None:
    """Checked by its first bytes, whatever its name says: nothing is uploaded or posted."""
    notes = tmp_path / "lesson notes.mp4"  # a text file, named like a video
    notes.write_text("Bar 12: slower. Bar 16: breathe.\n" * 20)
    page.goto("/accounts/login")
    log_in(page, TEACHER.email, TEACHER.password)
    open_menu(page)
    page.get_by_role("link", name="Videos").click()
    expect(page).to_have_url(re.compile("/core/videos/$"))
    page.wait_for_load_state()  # the upload script listens for the file from now on
    sent = []
    page.on("request", lambda request: "/core/uploads/" in request.url and sent.append(request))

    page.get_by_label("Video file").set_input_files(notes)
    expect(page.locator(".upload-message")).to_have_text(
        "“lesson notes.mp4” is not a video. Choose a video file (MP4, MOV or WebM, as a phone "
        "or camera records it)."
    )
    assert page.get_by_label("Video file").input_value() == ""  # let go: it cannot be sent
    page.get_by_role("button", name="Upload").click()  # the browser asks for a file instead
    page.wait_for_timeout(500)
    assert sent == []


def test_a_form_error_after_an_upload_keeps_the_video(page: Page, shoot, tmp_path) -> None:
    """The teacher forgets the name: the whole video went up, and it is still attached
    when the form comes back; saving again makes the exercise with it, uploading nothing."""
    video = synth_video(tmp_path / "warm-up.mp4", seconds=2, width=320, height=240)
    page.goto("/accounts/login")
    log_in(page, TEACHER.email, TEACHER.password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Exercises")
    page.goto("/exercises/new")
    page.get_by_label("Upload a video").set_input_files(video)
    with page.expect_request(lambda request: request.method == "PATCH"):
        page.get_by_role("button", name="Create exercise").click()
    expect(page.get_by_text("Give the exercise a name.")).to_be_visible()
    attached = page.locator(".video-attached")
    expect(attached).to_contain_text("Video attached: warm-up.mp4")
    shoot("form-error-video-attached")

    patches = []
    page.on("request", lambda request: request.method == "PATCH" and patches.append(request))
    page.get_by_label("Name").fill("Warm-up")
    page.get_by_role("button", name="Create exercise").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Warm-up")
    assert patches == []  # the video was not sent again
    expect(page.locator(".stage")).to_be_visible()


def test_leaving_during_an_upload_asks_first(page: Page, tmp_path) -> None:
    """A link (followed in place by htmx) and closing the tab both ask while a video is
    going up; staying keeps the upload going."""
    video = synth_video(tmp_path / "long take.mp4", seconds=6, width=640, height=360)
    page.goto("/accounts/login")
    log_in(page, TEACHER.email, TEACHER.password)
    open_menu(page)
    page.get_by_role("link", name="Videos").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your videos")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(  # a slow uplink: the upload takes a while
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 100, "downloadThroughput": -1, "uploadThroughput": 20_000},
    )
    page.get_by_label("Video file").set_input_files(video)
    with page.expect_request(lambda request: request.method == "PATCH"):
        page.get_by_role("button", name="Upload").click()

    questions = []

    def answer(dialog) -> None:
        questions.append(dialog.message)
        dialog.dismiss()  # stay

    page.on("dialog", answer)
    open_menu(page)
    page.get_by_role("link", name="Exercises").click()
    expect(page.locator(".upload-message")).to_contain_text("Uploading")
    assert questions == ["A video is still uploading. Leave this page and stop the upload?"]
    expect(page.get_by_role("heading", level=1)).to_have_text("Your videos")

    page.remove_listener("dialog", answer)
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    page.close(run_before_unload=True)
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"]


def test_what_was_typed_survives_a_reload_until_the_form_is_sent(page: Page) -> None:
    page.goto("/accounts/login")
    log_in(page, TEACHER.email, TEACHER.password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Exercises")
    page.goto("/exercises/new")
    page.get_by_label("Name").fill("Arpeggios in E")
    page.get_by_label("Description").fill("Two octaves.\nSlowly, then at tempo.")
    page.reload()
    expect(page.get_by_label("Name")).to_have_value("Arpeggios in E")
    expect(page.get_by_label("Description")).to_have_value("Two octaves.\nSlowly, then at tempo.")

    page.get_by_label("Or a YouTube link").fill("https://youtu.be/dQw4w9WgXcQ")
    page.get_by_role("button", name="Create exercise").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Arpeggios in E")
    page.goto("/exercises/new")  # sent and accepted: the draft is gone
    expect(page.get_by_label("Name")).to_have_value("")


def recording(page: Page, seconds: int) -> Locator:
    """The demo student records at the demo exercise for ``seconds``; its attempt form."""
    page.goto("/accounts/login")
    log_in(page, STUDENT.email, STUDENT.password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Exercises")
    page.get_by_role("link", name="Follow the pattern").first.click()
    form = page.locator("#attempt-form")
    form.locator("[data-recorder-start]").click()
    expect(form.locator("[data-recorder-message]")).to_contain_text(f"Recording 0:{seconds:02}")
    return form


def test_send_while_recording_stops_and_sends_the_take(page: Page) -> None:
    form = recording(page, 2)
    with page.expect_request(lambda request: request.method == "PATCH"):
        form.get_by_role("button", name="Send attempt").click()  # still recording
    expect(page).to_have_url(re.compile(r"/comments/attempts/"))
    expect(page.get_by_text("Attempt sent.")).to_be_visible()


def test_retake_asks_before_the_take_is_deleted(page: Page) -> None:
    form = recording(page, 1)
    form.get_by_role("button", name="Stop").click()
    expect(form.locator("[data-recorder-preview]")).to_be_visible()

    page.once("dialog", lambda dialog: dialog.dismiss())  # keep it
    form.get_by_role("button", name="Retake").click()
    expect(form.locator("[data-recorder-message]")).to_contain_text("Recorded")
    assert form.locator("input[type=file][hidden]").evaluate("input => input.files.length") == 1

    page.once("dialog", lambda dialog: dialog.accept())  # record again
    with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
        form.get_by_role("button", name="Retake").click()
    assert deleted.value.status == 204  # the old take is gone from the server too
    expect(form.locator("[data-recorder-message]")).to_contain_text("Recording")
