"""The OpenAPI description stays true: schemathesis generates requests for every operation in
/api/v1/openapi.json (valid ones and broken ones) and sends them to the app with a real
token, checking that nothing answers 5xx and every response matches the description."""

from __future__ import annotations

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

from practika.api.tokens import issue_token
from practika.extensions import db
from practika.queue import get_queue

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_the_description_is_served_without_a_token(client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"] == "3.1.0" and "/exercises" in document["paths"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_api_matches_its_description(app, teacher):
    """Every operation, with schema-valid and with broken input. (Driven by hand rather than
    through schemathesis' pytest plugin, which does not run under pytest 9 yet.)"""
    app.config["API_RATE_LIMIT"] = "100000 per minute"  # the checker is not a person
    headers = {"Authorization": f"Bearer {issue_token(teacher, 'schemathesis', None)[1]}"}
    db.session.commit()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 16
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck),
                      database=None)  # fmt: skip
            def check(case):
                case.call_and_validate(headers=headers, checks=CHECKS)

            check()
    get_queue("media").empty()  # uploads queued jobs that nobody runs here
