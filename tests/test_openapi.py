"""The OpenAPI description stays true and whole: it describes exactly the routes the API
blueprint registers, and every route docs/api.md names; schemathesis generates requests for
every operation in /api/v1/openapi.json (valid ones and broken ones) and sends them to the
app with a real token, checking that nothing answers 5xx and every response matches the
description."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from practika.accounts.services.api_tokens import issue_token
from practika.config import BASE_DIR
from practika.extensions import db
from practika.queue import get_queue

API_PREFIX = "/api/v1"
HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}
# tus PATCH bodies are raw bytes, like application/octet-stream.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_the_description_is_served_without_a_token(client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"] == "3.1.0" and "/exercises" in document["paths"]


def described(app) -> set[tuple[str, str]]:
    """(method, path) of every operation in the description."""
    paths = app.test_client().get(f"{API_PREFIX}/openapi.json").json["paths"]
    return {
        (method.upper(), path)
        for path, item in paths.items()
        for method in item
        if method.upper() in HTTP_METHODS
    }


def registered(app) -> set[tuple[str, str]]:
    """(method, path) of every route of the API blueprint, in OpenAPI's spelling: an
    ``any(a, b)`` part is one path for each choice, and the HEAD that Flask adds to every GET
    is left out (OPTIONS too)."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = rule.rule.removeprefix(API_PREFIX)
        choices = re.search(r"<any\(([^)]*)\):\w+>", path)
        paths = (
            [path.replace(choices[0], c.strip()) for c in choices[1].split(",")]
            if choices
            else [path]
        )
        methods = rule.methods - {"OPTIONS"} - ({"HEAD"} if "GET" in rule.methods else set())
        for each in paths:
            each = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", each)
            routes |= {(method, each) for method in methods}
    return routes


def documented() -> set[tuple[str, str]]:
    """(method, path) of every row of docs/api.md's endpoint table. A cell names
    `METHODS /path` (methods joined by "," or "/"); a bare `/tail` after it is the same
    methods on a sibling path (`GET /videos/{id}/video`, `/poster`)."""
    text = (BASE_DIR / "docs" / "api.md").read_text()
    table = text.split("## Endpoints", 1)[1]
    routes, methods, path = set(), [], ""
    for line in table.splitlines():
        if not line.startswith("| `"):
            continue
        for span in re.findall(r"`([^`]+)`", line.split("|")[1]):
            named, _, where = span.rpartition(" ")
            where = where.split("?")[0]
            if named:
                methods, path = re.findall(r"[A-Z]+", named), where
            else:
                path = path.rsplit("/", 1)[0] + where
            routes |= {(method, path) for method in methods}
    assert routes, "no endpoint table found in docs/api.md"
    return routes


def unnamed(routes: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The docs write `{id}` where the description says `{video_id}`."""
    return {(method, re.sub(r"\{[^}]*\}", "{}", path)) for method, path in routes}


def test_the_description_has_every_route_and_only_real_ones(app):
    """A route added to the API, or named in docs/api.md, is described; nothing described
    is missing from the app."""
    assert registered(app) == described(app)
    assert unnamed(documented()) <= unnamed(described(app))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_api_matches_its_description(app, teacher):
    """Every operation, with schema-valid and with broken input. (Driven by hand rather than
    through schemathesis' pytest plugin, which does not run under pytest 9 yet.)"""
    app.config["API_RATE_LIMIT"] = "100000 per minute"  # the checker is not a person
    headers = {"Authorization": f"Bearer {issue_token(teacher, 'schemathesis', None)[1]}"}
    db.session.commit()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    # Every operation, but the description's own URL, which schemathesis leaves out.
    labels = {operation.label for operation in operations}
    assert labels == {f"{method} {path}" for method, path in described(app)} - {"GET /openapi.json"}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=15,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            def check(case):
                case.call_and_validate(headers=headers, checks=CHECKS)

            check()
    get_queue("media").empty()  # uploads queued jobs that nobody runs here
