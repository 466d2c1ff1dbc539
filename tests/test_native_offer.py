"""The native copy on the pages (issue 15): offered only to a browser whose "plays" cookie
names its family and only until something plays everywhere; served only to those who may see
the video; a hostile cookie changes nothing."""

from __future__ import annotations

import io
from html.parser import HTMLParser

import pytest

from practika.accounts.services.api_tokens import issue_token
from practika.core.models import VideoAsset
from practika.extensions import db
from practika.storage import get_storage
from tests.conftest import log_in

HTMX = {"HX-Request": "true"}
WEBM = 'video/webm; codecs="vp8, opus"'
WEBM_BYTES = b"\x1a\x45\xdf\xa3" + b"webm" * 64  # an EBML header's magic, then anything


class Sources(HTMLParser):
    """The ``<source>`` elements of a page, their attributes unescaped as a browser reads them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[dict[str, str | None]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "source":
            self.found.append(dict(attrs))


@pytest.fixture
def asset(app, teacher) -> VideoAsset:
    """A recorder's take while its smallest rung is made: only its native WebM exists."""
    asset = VideoAsset(
        owner=teacher,
        orig_filename="take.webm",
        storage_path="videos/x/original",
        processing_status="processing",
        processing_stage="playable",
        native_type=WEBM,
    )
    db.session.add(asset)
    db.session.flush()
    asset.native_path = f"videos/{asset.id}/native.webm"
    get_storage().save(asset.native_path, io.BytesIO(WEBM_BYTES))
    db.session.commit()
    return asset


def status(client, asset, plays: str | None = None, **params) -> str:
    if plays is not None:
        client.set_cookie("plays", plays)
    response = client.get(f"/core/videos/{asset.id}/status", headers=HTMX, query_string=params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def native_source(asset) -> dict[str, str]:
    return {"src": f"/core/media/{asset.id}/native", "type": WEBM}


def mp4_source(asset) -> dict[str, str]:
    return {"src": f"/core/media/{asset.id}/video", "type": "video/mp4"}


@pytest.mark.parametrize("plays", ["vp8", "vp9.vp8", "hevc.vp8.vp9"])
def test_a_browser_that_plays_the_family_gets_the_native_copy(client, teacher, asset, plays):
    log_in(client, teacher.email)
    html = status(client, asset, plays)
    assert Sources(html).found == [native_source(asset)]
    assert 'data-native-family="vp8"' in html
    assert 'hx-trigger="load delay:1s"' not in html  # the player is not replaced under it
    assert "Playing the original in this browser" in html


@pytest.mark.parametrize("plays", [None, "", "hevc", "vp9", "VP8", "vp8x", "opus"])
def test_any_other_browser_waits_for_what_plays_everywhere(client, teacher, asset, plays):
    log_in(client, teacher.email)
    html = status(client, asset, plays)
    assert Sources(html).found == []
    assert 'hx-trigger="load delay:1s"' in html  # it polls, waiting
    assert "Making it playable" in html


@pytest.mark.parametrize(
    "plays",
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "x" * 3000,
        "vp\uff18",  # a full-width digit eight: not the family's name
        "vp8\u200b",
        "ünïcödé.é",
    ],
)
def test_a_hostile_plays_cookie_changes_nothing(client, teacher, asset, plays):
    log_in(client, teacher.email)
    html = status(client, asset, plays)
    assert Sources(html).found == [] and 'hx-trigger="load delay:1s"' in html
    assert "<script>alert" not in html and "onerror=alert" not in html and "x" * 3000 not in html


def test_a_hostile_cookie_naming_the_family_among_junk_is_only_read_for_it(client, teacher, asset):
    log_in(client, teacher.email)
    html = status(client, asset, "<script>.vp8." + "y" * 3000)
    assert Sources(html).found == [native_source(asset)]
    assert "<script>" not in html and "y" * 3000 not in html


def test_the_full_page_offers_the_same_as_its_fragment(client, teacher, asset):
    log_in(client, teacher.email)
    client.set_cookie("plays", "vp8")
    page = client.get("/core/videos/")
    assert page.status_code == 200
    assert native_source(asset) in Sources(page.get_data(as_text=True)).found
    client.delete_cookie("plays")
    page = client.get("/core/videos/").get_data(as_text=True)
    assert all(source["src"] != native_source(asset)["src"] for source in Sources(page).found)


def test_once_the_smallest_rung_exists_every_browser_gets_the_mp4(client, teacher, asset):
    asset.renditions = {"360p": {"path": f"videos/{asset.id}/360p.mp4", "height": 360}}
    asset.processing_stage = "renditions"
    db.session.commit()
    log_in(client, teacher.email)
    for plays in ("vp8", "hevc", None):
        html = status(client, asset, plays)
        assert Sources(html).found == [mp4_source(asset)]
        assert "data-native-family" not in html


@pytest.mark.parametrize("status_", ["ready", "failed"])
def test_a_finished_video_never_offers_a_native_copy(client, teacher, asset, status_):
    """Whatever is left on the row (a kept or failed video's copy), the page offers none."""
    asset.processing_status = status_
    if status_ == "ready":
        asset.renditions = {"360p": {"path": f"videos/{asset.id}/360p.mp4", "height": 360}}
    db.session.commit()
    log_in(client, teacher.email)
    html = status(client, asset, "vp8.vp9.hevc")
    assert native_source(asset) not in Sources(html).found


def test_a_queued_retry_still_offers_the_native_copy(client, teacher, asset):
    asset.processing_status = "queued"
    db.session.commit()
    log_in(client, teacher.email)
    html = status(client, asset, "vp8")
    assert Sources(html).found == [native_source(asset)]
    assert "sharper versions wait for a free worker" in html


@pytest.mark.parametrize(
    ("playable", "says"),
    [
        (
            False,
            "Playing the original in this browser; a version for every browser is on its way"
            " (about 1 min left).",
        ),
        (True, "Playable now; sharper versions are on their way (about 1 min left)."),
    ],
)
def test_the_note_says_what_plays_and_when_the_rest_is_due(client, teacher, asset, playable, says):
    asset.eta_seconds = 75
    asset.processing_stage = "renditions"
    if playable:
        asset.renditions = {"360p": {"path": f"videos/{asset.id}/360p.mp4", "height": 360}}
    db.session.commit()
    log_in(client, teacher.email)
    assert says in status(client, asset, "vp8")
    note = status(client, asset, "vp8", part="note")  # the line that polls alone
    assert says in note and 'hx-trigger="load delay:2s"' in note


def test_the_native_copy_is_served_to_its_owner_as_webm(client, teacher, asset):
    log_in(client, teacher.email)
    response = client.get(f"/core/media/{asset.id}/native")
    assert response.status_code == 200
    assert response.mimetype == "video/webm"
    assert response.data == WEBM_BYTES
    ranged = client.get(f"/core/media/{asset.id}/native", headers={"Range": "bytes=0-3"})
    assert ranged.status_code == 206 and ranged.data == WEBM_BYTES[:4]


def test_the_native_copy_is_not_found_for_others_and_asks_strangers_to_log_in(
    client, student, asset
):
    url = f"/core/media/{asset.id}/native"
    response = client.get(url)
    assert response.status_code == 303 and "/accounts/login" in response.headers["Location"]
    log_in(client, student.email)  # not in any class of the teacher's
    assert client.get(url).status_code == 404
    assert client.get(f"/core/videos/{asset.id}/status").status_code == 404


def test_a_video_without_a_native_copy_has_no_native_media(client, teacher, asset):
    get_storage().delete(asset.native_path)
    asset.native_path = asset.native_type = None
    db.session.commit()
    log_in(client, teacher.email)
    assert client.get(f"/core/media/{asset.id}/native").status_code == 404


def test_deleting_the_video_deletes_its_native_copy(client, teacher, asset):
    asset_id, key = asset.id, asset.native_path
    log_in(client, teacher.email)
    response = client.post(f"/core/videos/{asset_id}/delete")
    assert response.status_code == 303
    db.session.expunge_all()
    assert db.session.get(VideoAsset, asset_id) is None
    assert not get_storage().exists(key)


def test_the_api_names_the_native_copy_and_serves_it_only_to_those_who_may_see_it(
    client, teacher, student, asset
):
    """An API client is told the copy's URL and type (it asks its own player), and only while
    nothing plays everywhere; others get 404 as for every video."""
    owner = {"Authorization": f"Bearer {issue_token(teacher, 'app', None)[1]}"}
    other = {"Authorization": f"Bearer {issue_token(student, 'app', None)[1]}"}
    db.session.commit()
    described = client.get(f"/api/v1/videos/{asset.id}", headers=owner).json
    assert described["native_type"] == WEBM and described["video_url"] is None
    assert described["native_url"].endswith(f"/api/v1/videos/{asset.id}/native")
    served = client.get(f"/api/v1/videos/{asset.id}/native", headers=owner)
    assert (served.status_code, served.mimetype, served.data) == (200, "video/webm", WEBM_BYTES)
    assert client.get(f"/api/v1/videos/{asset.id}/native", headers=other).status_code == 404
    asset.renditions = {"360p": {"path": f"videos/{asset.id}/360p.mp4", "height": 360}}
    db.session.commit()
    described = client.get(f"/api/v1/videos/{asset.id}", headers=owner).json
    assert (described["native_url"], described["native_type"]) == (None, None)
    assert described["video_url"].endswith(f"/api/v1/videos/{asset.id}/video")
