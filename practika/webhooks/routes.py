"""The staff page for webhooks: register endpoints (their secret shown once), switch them off
and on, give one a new secret, delete one; see recent deliveries with each attempt's answer,
and send one again. In place with htmx; a plain form post gets the page back."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Response, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from practika.accounts.guards import staff_required
from practika.extensions import db
from practika.htmx import is_htmx
from practika.webhooks import bp
from practika.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from practika.webhooks.services import (
    EVENTS,
    WebhookError,
    redeliver,
    register_endpoint,
    rotate_secret,
)

RECENT = 50  # deliveries on the page


def _endpoints() -> list[WebhookEndpoint]:
    return list(
        db.session.scalars(sa.select(WebhookEndpoint).order_by(WebhookEndpoint.created_at.desc()))
    )


def _deliveries() -> list[WebhookDelivery]:
    return list(
        db.session.scalars(
            sa.select(WebhookDelivery)
            .options(so.selectinload(WebhookDelivery.history))
            .options(so.joinedload(WebhookDelivery.endpoint))
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
            .limit(RECENT)
        )
    )


def _render(part: str, status: int = 200, *, also: str | None = None, **context) -> Response:
    """For htmx, the fragment ``part`` (and ``also`` out of band); otherwise the whole page."""
    context = {"events": EVENTS, "form": {}, "pending": DeliveryStatus.PENDING, **context}
    if not is_htmx() or "endpoints" in (part, also):
        context["endpoints"] = _endpoints()
    if not is_htmx() or "deliveries" in (part, also):
        context["deliveries"] = _deliveries()
    if is_htmx():
        html = render_template(f"webhooks/_{part}.html", **context)
        if also:
            html += render_template(f"webhooks/_{also}.html", oob=True, **context)
    else:
        html = render_template("webhooks/index.html", **context)
    return make_response(html, status)


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    return db.get_or_404(WebhookEndpoint, endpoint_id)


@bp.get("/")
@staff_required
def index():
    return _render("endpoints")


@bp.post("/")
@staff_required
def create():
    form = {
        "url": request.form.get("url", ""),
        "description": request.form.get("description", ""),
        "events": request.form.getlist("events"),
    }
    try:
        endpoint, secret = register_endpoint(
            form["url"], form["events"], description=form["description"], created_by=current_user
        )
    except WebhookError as error:
        db.session.rollback()
        return _render("endpoints", 422, error=str(error), form=form)
    db.session.commit()
    return _render("endpoints", 201, new_secret=secret, secret_for=endpoint)


@bp.get("/deliveries")
@staff_required
def deliveries():
    """The recent deliveries (it polls itself while some are pending)."""
    if not is_htmx():
        return redirect(url_for("webhooks.index", _anchor="deliveries"), 303)
    return _render("deliveries")


@bp.post("/<id:endpoint_id>/toggle")
@staff_required
def toggle(endpoint_id: int):
    endpoint = _endpoint(endpoint_id)
    endpoint.is_active = not endpoint.is_active
    db.session.commit()
    notice = f"{endpoint.url} is {'on' if endpoint.is_active else 'off'}."
    if not is_htmx():
        flash(notice, "success")
        return redirect(url_for("webhooks.index"), 303)
    return _render("endpoints", notice=notice)


@bp.post("/<id:endpoint_id>/secret")
@staff_required
def new_secret(endpoint_id: int):
    endpoint = _endpoint(endpoint_id)
    secret = rotate_secret(endpoint)
    db.session.commit()
    return _render("endpoints", new_secret=secret, secret_for=endpoint)


@bp.post("/<id:endpoint_id>/delete")
@staff_required
def delete(endpoint_id: int):
    endpoint = _endpoint(endpoint_id)
    url = endpoint.url
    db.session.delete(endpoint)  # its deliveries go with it (ON DELETE CASCADE)
    db.session.commit()
    notice = f"{url} is deleted, with its deliveries."
    if not is_htmx():
        flash(notice, "success")
        return redirect(url_for("webhooks.index"), 303)
    return _render("endpoints", notice=notice, also="deliveries")


@bp.post("/deliveries/<uuid:delivery_id>/redeliver")
@staff_required
def redeliver_view(delivery_id: uuid.UUID):
    delivery = db.get_or_404(WebhookDelivery, delivery_id)
    try:
        notice, category = redeliver(delivery), "success"
    except WebhookError as error:
        db.session.rollback()
        notice, category = str(error), "error"
    if not is_htmx():
        flash(notice, category)
        return redirect(url_for("webhooks.index", _anchor="deliveries"), 303)
    return _render("deliveries", delivery_notice=notice, notice_category=category)
