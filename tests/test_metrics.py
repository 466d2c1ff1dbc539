"""/core/metrics: Prometheus text for the operators' scraper, behind a token."""

import uuid
from datetime import UTC, datetime, timedelta

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
    assert (
        'practika_http_requests_total{endpoint="accounts.login",method="GET",status="200"}' in text
    )
    assert 'practika_http_request_duration_seconds_bucket{endpoint="accounts.login"' in text
    assert 'practika_queue_depth{queue="media"} 1.0' in text
    assert 'practika_jobs{queue="media",state="failed"} 0.0' in text
    assert "practika_redis_up 1.0" in text


def test_a_redis_outage_is_reported_not_raised(app, scraper, monkeypatch):
    from practika.queue import connect

    monkeypatch.setitem(app.extensions, "redis", connect("redis://127.0.0.1:1/0", timeout=0.2))
    text = scraper().get_data(as_text=True)
    assert "practika_redis_up 0.0" in text and "practika_queue_depth" not in text


def test_queue_depth_is_published_to_cloudwatch(app, s3_endpoint, aws_credentials):
    """moto's server stands in for CloudWatch over HTTP (the same endpoint serves every AWS
    API); the worker calls this once per sweep interval."""
    import boto3

    from practika.metrics import publish_queue_metrics

    namespace = f"PractikaTest{uuid.uuid4().hex[:8]}"  # moto's server lives for the session
    app.config.update(CLOUDWATCH_NAMESPACE=namespace, CLOUDWATCH_ENDPOINT_URL=s3_endpoint)
    for _ in range(2):
        get_queue("media").enqueue("practika.core.tasks.sweep")
    publish_queue_metrics()
    cloudwatch = boto3.client("cloudwatch", endpoint_url=s3_endpoint, region_name="us-east-1")
    metrics = cloudwatch.list_metrics(Namespace=namespace)["Metrics"]
    names = {(m["MetricName"], m["Dimensions"][0]["Value"]) for m in metrics}
    assert ("QueueDepth", "media") in names and ("FailedJobs", "mail") in names
    stats = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName="QueueDepth",
        Dimensions=[{"Name": "Queue", "Value": "media"}],
        Statistics=["Maximum"],
        Period=60,
        StartTime=datetime.now(UTC) - timedelta(minutes=5),
        EndTime=datetime.now(UTC) + timedelta(minutes=5),
    )
    assert [point["Maximum"] for point in stats["Datapoints"]] == [2.0]


def test_nothing_is_published_without_a_namespace(app, s3_endpoint, aws_credentials):
    """The worker calls this every sweep: unless told where, CloudWatch hears nothing."""
    import boto3

    from practika.metrics import publish_queue_metrics

    app.config.update(CLOUDWATCH_NAMESPACE="", CLOUDWATCH_ENDPOINT_URL=s3_endpoint)
    get_queue("media").enqueue("practika.core.tasks.sweep")  # something it could report
    cloudwatch = boto3.client("cloudwatch", endpoint_url=s3_endpoint, region_name="us-east-1")
    before = cloudwatch.list_metrics()["Metrics"]
    publish_queue_metrics()
    assert cloudwatch.list_metrics()["Metrics"] == before
