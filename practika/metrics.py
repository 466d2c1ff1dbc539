"""Prometheus metrics at ``/core/metrics``, for the operators' scraper only: requests and their
latency by endpoint, counted by the web processes, and the queues' depth and their jobs'
states, read from Redis when scraped (the worker runs elsewhere; Redis sees every job).

Under gunicorn, each worker process counts its own requests; with ``PROMETHEUS_MULTIPROC_DIR``
set to an empty folder (the Dockerfile and make run do), a scrape adds them all up. The
endpoint answers only a request bearing ``METRICS_TOKEN``; without that setting it does not
exist, and a wrong token gets the same 404.
"""

from __future__ import annotations

import os
import secrets
import time

from flask import Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from redis.exceptions import RedisError

from practika.queue import QUEUE_NAMES, get_queue, get_redis

REQUESTS = Counter(
    "practika_http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"]
)
LATENCY = Histogram(
    "practika_http_request_duration_seconds",
    "Time to answer a request, by endpoint",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
JOB_STATES = ("started", "failed", "finished", "scheduled", "deferred")


class QueueCollector:
    """Per queue: jobs waiting, and jobs in each of RQ's registries (``failed`` is what the
    operators act on). If Redis cannot answer, ``practika_redis_up`` says 0 instead."""

    def collect(self):
        up = GaugeMetricFamily("practika_redis_up", "Redis answered this scrape")
        depth = GaugeMetricFamily("practika_queue_depth", "Jobs waiting", labels=["queue"])
        jobs = GaugeMetricFamily("practika_jobs", "Jobs by state", labels=["queue", "state"])
        try:
            for name in QUEUE_NAMES:
                queue = get_queue(name)
                depth.add_metric([name], queue.count)
                for state in JOB_STATES:
                    registry = getattr(queue, f"{state}_job_registry")
                    jobs.add_metric([name, state], registry.count)
        except RedisError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield from (up, depth, jobs)


def _exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    queues = CollectorRegistry()
    queues.register(QueueCollector())
    return generate_latest(registry) + generate_latest(queues)


def metrics_view() -> Response:
    token = current_app.config["METRICS_TOKEN"]
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not token or not secrets.compare_digest(offered.encode(), token.encode()):
        abort(404)
    return Response(_exposition(), mimetype=CONTENT_TYPE_LATEST)


def init_metrics(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is not None:
            endpoint = request.endpoint or "unmatched"
            REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
            LATENCY.labels(endpoint).observe(time.perf_counter() - started)
        return response


def _new_failures(queue) -> int:
    """Jobs that failed for good since the last call: the growth of the failed registry (it
    shrinks when failures expire or are retried, which is no new failure)."""
    now = queue.failed_job_registry.count
    seen = get_redis().getset(f"practika:failed-seen:{queue.name}", now)
    return max(0, now - int(seen)) if seen is not None else now


def publish_queue_metrics() -> None:
    """Queue depth and new failed jobs per queue to CloudWatch (namespace CLOUDWATCH_NAMESPACE),
    for the worker service's autoscaling and the failed-jobs alarm (terraform/README.md).
    The worker calls it once per sweep interval; without the setting it does nothing."""
    config = current_app.config
    if not config["CLOUDWATCH_NAMESPACE"]:
        return
    import boto3

    data = []
    for name in QUEUE_NAMES:
        queue = get_queue(name)
        dimensions = [{"Name": "Queue", "Value": name}]
        data += [
            {"MetricName": "QueueDepth", "Dimensions": dimensions, "Value": queue.count},
            {"MetricName": "FailedJobs", "Dimensions": dimensions, "Value": _new_failures(queue)},
        ]
    client = boto3.client(
        "cloudwatch",
        region_name=config["AWS_REGION"],
        endpoint_url=config["CLOUDWATCH_ENDPOINT_URL"],
    )
    client.put_metric_data(
        Namespace=config["CLOUDWATCH_NAMESPACE"],
        MetricData=[{**datum, "Unit": "Count"} for datum in data],
    )
