"""htmx in one place: every route that answers a page or a fragment depending on HX-Request
says so with ``Vary: HX-Request``, whichever of the two it sends, so no cache (the browser's
own, for Back) serves a fragment where a page belongs; and the search gives its results
alone to htmx without looking at which element asked."""

from dataclasses import dataclass

import pytest

from practika.accounts.services.api_tokens import issue_token
from practika.comments.models import VideoComment
from practika.core.models import VideoAsset, VideoClip
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.webhooks.models import WebhookDelivery
from practika.webhooks.services import register_endpoint
from tests.conftest import log_in

FRAGMENT = {"HX-Request": "true"}


@dataclass(frozen=True)
class World:
    exercise: str
    clip: str
    comment: str
    failed_video: str
    token: str
    endpoint: str
    delivery: str


@pytest.fixture
def world(app, teacher, staff_user) -> World:
    """One of everything the branching routes act on: the teacher's exercise with a clip and
    a comment, a failed video, an API token; a webhook endpoint with a delivery."""
    model = VideoAsset(owner=teacher, processing_status="ready", duration_sec=12.0)
    exercise = Exercise(name="Scales", created_by=teacher, video_asset=model)
    clip = VideoClip(original_video=model, clip_hash="a" * 64, start_time=1, end_time=2, duration=1)
    exercise.clips.append(clip)
    comment = VideoComment(exercise=exercise, author=teacher, text="Slow down at the turn.")
    failed = VideoAsset(owner=teacher, processing_status="failed", processing_error="No video.")
    token, _ = issue_token(teacher, "LMS", 30)
    endpoint, _ = register_endpoint("https://93.184.215.14/hook", ["video.ready"])
    db.session.add_all([exercise, clip, comment, failed])
    db.session.flush()
    delivery = WebhookDelivery(endpoint_id=endpoint.id, event="video.ready", payload="{}")
    db.session.add(delivery)
    db.session.commit()
    ids = (exercise.id, clip.id, comment.id, failed.id, token.id, endpoint.id, delivery.id)
    return World(*map(str, ids))


# Who asks, how, where (filled in from the world), with what form: one row per route that
# branches on HX-Request, in every module that has one.
ROUTES = [
    ("tess", "GET", "/exercises/", {}),
    ("tess", "POST", "/exercises/{exercise}/clips", {"start": "2", "end": "1"}),
    ("tess", "POST", "/exercises/{exercise}/clips/{clip}/title", {"title": "The turn"}),
    ("tess", "POST", "/exercises/{exercise}/clips/{clip}/down", {}),
    ("tess", "POST", "/exercises/{exercise}/clips/{clip}/delete", {}),
    ("tess", "POST", "/exercises/{exercise}/delete", {}),
    ("tess", "GET", "/comments/exercises/{exercise}/discussion", {}),
    ("tess", "POST", "/comments/exercises/{exercise}", {"text": "Keep the beat."}),
    ("tess", "POST", "/comments/{comment}/replies", {"text": "And breathe."}),
    ("tess", "POST", "/comments/{comment}/edit", {"text": "Slower at the turn."}),
    ("tess", "POST", "/comments/{comment}/delete", {}),
    ("tess", "POST", "/core/videos/{failed_video}/retry", {}),
    ("tess", "POST", "/accounts/tokens", {"name": "Script", "expires": "30"}),
    ("tess", "POST", "/accounts/tokens/{token}/revoke", {}),
    ("ada", "GET", "/webhooks/", {}),
    ("ada", "POST", "/webhooks/", {"url": "ftp://nowhere", "events": "video.ready"}),
    ("ada", "GET", "/webhooks/deliveries", {}),
    ("ada", "POST", "/webhooks/{endpoint}/toggle", {}),
    ("ada", "POST", "/webhooks/{endpoint}/secret", {}),
    ("ada", "POST", "/webhooks/{endpoint}/delete", {}),
    ("ada", "POST", "/webhooks/deliveries/{delivery}/redeliver", {}),
    ("tess", "GET", "/exercises/00000000-0000-0000-0000-000000000000", {}),  # the error page
]


def is_page(response) -> bool:
    """A whole page, or a redirect to one; anything else is a fragment (or HX-Redirect)."""
    html = response.get_data(as_text=True).lstrip().lower()
    return response.status_code in (302, 303) or html.startswith("<!doctype html")


@pytest.mark.parametrize("as_fragment", [False, True], ids=["page", "fragment"])
@pytest.mark.parametrize(("who", "method", "path", "form"), ROUTES, ids=[r[2] for r in ROUTES])
def test_a_route_that_branches_on_hx_request_varies_on_it(
    client, world, who, method, path, form, as_fragment
):
    log_in(client, f"{who}@example.com")
    headers = FRAGMENT if as_fragment else {}
    response = client.open(path.format(**vars(world)), method=method, data=form, headers=headers)
    assert is_page(response) is not as_fragment  # the branch the test meant was taken
    assert "HX-Request" in response.vary


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({"HX-Request": "true"}, True),  # the search box, whatever element it swaps
        ({"HX-Request": "true", "HX-Boosted": "true"}, False),  # a boosted link to the list
        ({"HX-History-Restore-Request": "true"}, False),  # Back, after the history cache
        ({}, False),
    ],
)
def test_the_search_gives_htmx_its_results_and_everyone_else_the_page(
    client, world, headers, fragment
):
    log_in(client, "tess@example.com")
    html = client.get("/exercises/?q=scal", headers=headers).get_data(as_text=True)
    assert "Scales" in html
    assert html.lstrip().startswith('<div id="exercise-results"') is fragment
    assert ("<header" in html) is not fragment
