"""GET /core/health/: every dependency named, 200 when all are well, 503 naming what is not;
GET /core/live: 200 while the process answers and reaches its database, whatever Redis does."""

from practika.extensions import db
from tests.conftest import PASSWORD, create_test_app, log_in, make_config
from tests.services import free_port

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
    app = create_test_app(make_config(database_url, own_redis.url, tmp_path / "own"))
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


# --- GET /core/live: liveness for the load balancer and the container ------------------


def test_live_answers_ok_with_the_database_up(client):
    response = client.get("/core/live")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok"
    assert response.mimetype == "text/plain"
    assert response.headers["Cache-Control"] == "no-store"


def test_live_answers_503_when_the_database_is_unreachable(redis_server, tmp_path):
    nowhere = f"postgresql://practika:x@127.0.0.1:{free_port()}/practika?connect_timeout=2"
    app = create_test_app(make_config(nowhere, redis_server.url, tmp_path))
    response = app.test_client().get("/core/live")
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "database unreachable"


def test_live_stays_ok_while_redis_and_the_workers_are_down(database_url, own_redis, tmp_path):
    app = create_test_app(make_config(database_url, own_redis.url, tmp_path / "own"))
    client = app.test_client()
    own_redis.stop()
    assert client.get("/core/health/").status_code == 503  # the full report says so...
    response = client.get("/core/live")  # ...but the task is alive and must not be replaced
    assert response.status_code == 200 and response.get_data(as_text=True) == "ok"
    with app.app_context():
        db.engine.dispose()
