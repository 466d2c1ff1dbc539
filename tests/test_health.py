"""GET /core/health/: every dependency named, 200 when all are well, 503 naming what is not."""

from practika import create_app
from practika.extensions import db
from tests.conftest import PASSWORD, log_in, make_config

DEPENDENCIES = {"database", "redis", "storage", "ffmpeg", "workers"}


def test_healthy_with_every_dependency_up(client, worker):
    response = client.get("/core/health/")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert set(body["checks"]) == DEPENDENCIES
    for entry in body["checks"].values():
        assert entry["status"] == "ok"
        assert entry["latency_ms"] >= 0
    assert response.headers["Cache-Control"] == "no-store"


def test_no_worker_running_is_unhealthy_and_says_so(client):
    response = client.get("/core/health/")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error"
    assert body["failing"] == ["workers"]
    assert "no RQ worker" in body["checks"]["workers"]["detail"]


def test_missing_ffmpeg_is_named(client, app, worker):
    app.config["FFMPEG_BINARY"] = "/nonexistent/ffmpeg"
    body = client.get("/core/health/").get_json()
    assert body["failing"] == ["ffmpeg"]
    assert "not found" in body["checks"]["ffmpeg"]["detail"]


def test_redis_going_down_is_reported_and_pages_still_render(
    database_url, own_redis, tmp_path, app, teacher
):
    app = create_app(make_config(database_url, own_redis.url, tmp_path / "own"))
    client = app.test_client()
    assert client.get("/core/health/").get_json()["checks"]["redis"]["status"] == "ok"

    own_redis.stop()

    response = client.get("/core/health/")
    assert response.status_code == 503
    body = response.get_json()
    assert "redis" in body["failing"]
    assert body["checks"]["redis"]["status"] == "error"
    assert body["checks"]["redis"]["latency_ms"] < 3000  # fails fast, not after a long hang
    assert body["checks"]["database"]["status"] == "ok"
    # The site keeps working without Redis: pages render and people can log in.
    assert client.get("/").status_code == 200
    assert log_in(client, teacher.email, PASSWORD).status_code == 303
    assert client.get("/exercises/").status_code == 200
    with app.app_context():
        db.engine.dispose()
