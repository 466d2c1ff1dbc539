"""Personal API tokens on the profile page: make one (its secret shown once), see when each
was last used, revoke one. In place with htmx; a plain form post gets a page back."""

from __future__ import annotations

from flask import Response, abort, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from practika.accounts import bp
from practika.accounts.models import ApiToken
from practika.accounts.services.api_tokens import issue_token, revoke_token, tokens_of
from practika.extensions import db
from practika.htmx import is_htmx

EXPIRY_CHOICES = {"30": 30, "90": 90, "365": 365, "never": None}


def tokens_panel(new_secret: str | None = None, error: str | None = None, status: int = 200):
    """The tokens section, swapped in place for htmx. Without JavaScript, a new secret or an
    error gets a page of its own (a redirect would lose it: the secret exists nowhere else);
    anything else goes back to the profile."""
    if not is_htmx() and new_secret is None and error is None:
        return redirect(url_for("accounts.profile", _anchor="api-tokens"), 303)
    template = "accounts/_tokens.html" if is_htmx() else "accounts/tokens.html"
    response: Response = make_response(
        render_template(
            template, tokens=tokens_of(current_user), new_secret=new_secret, error=error
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"  # a secret is kept by no cache, nor by Back
    return response


@bp.post("/tokens")
@login_required
def create_token():
    name = request.form.get("name", "").strip()
    expiry = request.form.get("expires", "90")
    if not name or len(name) > 100 or expiry not in EXPIRY_CHOICES:
        return tokens_panel(error="Give the token a name (up to 100 characters).", status=422)
    _, secret = issue_token(current_user, name, EXPIRY_CHOICES[expiry])
    db.session.commit()
    return tokens_panel(new_secret=secret, status=201)


@bp.post("/tokens/<id:token_id>/revoke")
@login_required
def revoke_token_view(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    revoke_token(token)
    return tokens_panel()
