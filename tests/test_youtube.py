"""YouTube links: only real YouTube hosts and ids, one canonical form, a nocookie embed."""

import pytest

from practika.core.models import VideoAsset
from practika.core.youtube import NotYouTube, canonical_url, embed_url, youtube_id
from practika.extensions import db

ID = "dQw4w9WgXcQ"


@pytest.mark.parametrize(
    "url",
    [
        f"https://www.youtube.com/watch?v={ID}",
        f"http://youtube.com/watch?v={ID}&t=42s&list=PL123",
        f"https://m.youtube.com/watch?feature=share&v={ID}",
        f"https://youtu.be/{ID}?si=abc",
        f"https://www.youtube.com/shorts/{ID}",
        f"https://www.youtube.com/embed/{ID}",
        f"https://www.youtube-nocookie.com/embed/{ID}",
        f"https://www.youtube.com/live/{ID}",
        f"  HTTPS://WWW.YOUTUBE.COM/watch?v={ID}  ",
    ],
)
def test_every_youtube_form_gives_the_id(url):
    assert youtube_id(url) == ID


@pytest.mark.parametrize(
    "url",
    [
        f"https://evil.example/watch?v={ID}",
        f"https://youtube.com.evil.example/watch?v={ID}",
        f"https://www.youtube.com@evil.example/watch?v={ID}",
        f"https://user:pw@www.youtube.com/watch?v={ID}",
        f"https://www.youtube.com:8443/watch?v={ID}",
        f"javascript://www.youtube.com/watch?v={ID}",
        f"ftp://youtu.be/{ID}",
        "https://www.youtube.com/watch?v=short",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ%22onload=alert(1)",
        "https://youtu.be/../../etc/passwd",
        "https://www.youtube.com/channel/UC123",
        "not a url",
        "",
    ],
)
def test_anything_else_is_refused(url):
    with pytest.raises(NotYouTube):
        youtube_id(url)


def test_stored_canonical_and_embedded_without_cookies():
    assert canonical_url(ID) == f"https://www.youtube.com/watch?v={ID}"
    assert embed_url(ID) == f"https://www.youtube-nocookie.com/embed/{ID}"


def test_adding_a_link_from_the_videos_page(teacher_client):
    response = teacher_client.post(
        "/core/videos/youtube",
        data={"youtube_url": f"https://youtu.be/{ID}?t=3"},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "YouTube video added." in html
    assert f'src="https://www.youtube-nocookie.com/embed/{ID}"' in html
    asset = db.session.scalar(db.select(VideoAsset))
    assert asset.youtube_url == f"https://www.youtube.com/watch?v={ID}"
    assert (asset.video_type, asset.processing_status) == ("youtube", "ready")


def test_a_bad_link_is_refused_with_a_reason(teacher_client):
    response = teacher_client.post(
        "/core/videos/youtube",
        data={"youtube_url": "https://vimeo.com/123"},
        follow_redirects=True,
    )
    assert "That is not a YouTube video link." in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(VideoAsset)) == 0
