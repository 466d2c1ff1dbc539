"""The profile page (name, email, preferences) and the throttled record of when a person was
last active."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, flash, render_template, request
from flask_login import current_user, login_required

from practika.accounts import bp
from practika.accounts.forms import ProfileForm
from practika.accounts.models import Profile, User, normalize_email
from practika.accounts.services.api_tokens import tokens_of
from practika.accounts.services.preferences import PLAYBACK_SPEEDS, preferences_of, speed_choice
from practika.accounts.services.users import request_email_change
from practika.extensions import db, limiter
from practika.htmx import hx_redirect
from practika.model_base import utcnow
from practika.stamps import record_quietly

EMAIL_TAKEN = "That email is used by another account."

# Requests that say nothing about a person being there: assets, health checks, and the
# status polls a page makes on its own every second.
ACTIVITY_EXEMPT = {
    "static",
    "core.health",
    "core.metrics",
    "core.media",
    "core.clip_media",
    "core.video_status",
    "core.clip_status",
}


def _keeps_email() -> bool:
    """Saving a name or a preference sends no mail, so only a new email is rate limited."""
    if not current_user.is_authenticated:
        return True  # login_required answers first
    return normalize_email(request.form.get("email", "")) == current_user.email


def _mail_limit() -> str:
    return current_app.config["MAIL_RATE_LIMIT"]


@bp.route("/profile", methods=["GET", "POST"])
@login_required
@limiter.limit(
    _mail_limit,
    methods=["POST"],
    key_func=lambda: f"profile-email:{current_user.id}",
    exempt_when=_keeps_email,
)
def profile():
    user = current_user._get_current_object()
    preferences = preferences_of(user.profile)
    form = ProfileForm(
        data={
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "email_notifications": bool(preferences["email_notifications"]),
            "playback_speed": speed_choice(preferences["playback_speed"]),
        }
    )
    if form.validate_on_submit():
        email = normalize_email(form.email.data)
        email_changed = email != user.email
        if email_changed and not user.check_password(form.current_password.data or ""):
            form.current_password.errors.append("Enter your current password to change your email.")
        elif email_changed and db.session.scalar(
            sa.select(User.id).where(User.email == email, User.id != user.id)
        ):
            form.email.errors.append(EMAIL_TAKEN)
        else:
            user.first_name = form.first_name.data
            user.last_name = form.last_name.data
            user.profile.preferences = {  # a new dict, so the JSON column is seen to change
                **(user.profile.preferences or {}),
                "email_notifications": form.email_notifications.data,
                "playback_speed": PLAYBACK_SPEEDS[form.playback_speed.data][1],
            }
            db.session.commit()
            if email_changed:
                request_email_change(user, email)
                flash(
                    f"Saved. Open the link we sent to {email} to move your account there; "
                    f"until then we write to {user.email}.",
                    "warning",
                )
            else:
                flash("Your profile is saved.", "success")
            return hx_redirect(request.path)
    status = 422 if form.errors else 200
    return render_template(
        "accounts/profile.html", form=form, user=user, api_tokens=tokens_of(user)
    ), status


@bp.before_app_request
def _record_activity():
    """Note when a logged-in person was last here, at most once per interval.

    The endpoint is checked before ``current_user``, which would load the user. The throttle
    reads the profile that came with the user (no query of its own), and the write is a single
    UPDATE whose WHERE clause repeats the throttle, so two requests at once write once.
    """
    if request.endpoint is None or request.endpoint in ACTIVITY_EXEMPT:
        return None
    if not current_user.is_authenticated:
        return None
    profile = current_user.profile
    now = utcnow()
    interval = timedelta(seconds=current_app.config["PROFILE_ACTIVITY_INTERVAL"])
    cutoff = now - interval
    if profile.last_activity_at is not None and profile.last_activity_at > cutoff:
        return None
    record_quietly(
        sa.update(Profile)
        .where(
            Profile.id == profile.id,
            sa.or_(Profile.last_activity_at.is_(None), Profile.last_activity_at <= cutoff),
        )
        .values(last_activity_at=now, first_login_at=sa.func.coalesce(Profile.first_login_at, now))
        .execution_options(synchronize_session=False),
        "a profile's last activity",
    )
    return None
