"""/core/metrics: Prometheus text for the operators' scraper, behind a token."""

import pytest

from practika.queue import get_queue

TOKEN = "scrape-me-" + "x" * 22


@pytest.fixture
def scraper(app, client):
    app.config["METRICS_TOKEN"] = TOKEN
    return lambda token=TOKEN: client.get(
        "/core/metrics", headers={"Authorization": f"Bearer {token}"}
    )


def test_metrics_need_the_token(app, client, scraper):
    assert client.get("/core/metrics").status_code == 404
    assert scraper("wrong").status_code == 404
    app.config["METRICS_TOKEN"] = ""  # not configured: the endpoint does not exist
    assert scraper("").status_code == 404


def test_requests_latencies_and_queues_are_reported(client, scraper):
    client.get("/accounts/login")
    get_queue("media").enqueue("practika.core.tasks.sweep")
    response = scraper()
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert 'practika_http_requests_total{endpoint="accounts.login",method="GET",status="200"}' in text
    assert 'practika_http_request_duration_seconds_bucket{endpoint="accounts.login"' in text
    assert 'practika_queue_depth{queue="media"} 1.0' in text
    assert 'practika_jobs{queue="media",state="failed"} 0.0' in text
    assert "practika_redis_up 1.0" in text


def test_a_redis_outage_is_reported_not_raised(app, scraper, monkeypatch):
    from practika.queue import connect

    monkeypatch.setitem(app.extensions, "redis", connect("redis://127.0.0.1:1/0", timeout=0.2))
    text = scraper().get_data(as_text=True)
    assert "practika_redis_up 0.0" in text and "practika_queue_depth" not in text
