from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from practika.accounts import bp
from practika.accounts.access import is_safe_next
from practika.accounts.forms import LoginForm
from practika.accounts.services import authenticate, record_login
from practika.extensions import db, limiter
from practika.htmx import hx_redirect


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("exercises.index"))
    form = LoginForm()
    next_url = request.args.get("next")
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            record_login(user)
            db.session.commit()
            flash(f"Welcome back, {user.display_name}.", "success")
            return hx_redirect(next_url if is_safe_next(next_url) else url_for("exercises.index"))
        form.password.errors.append("That email or username and password do not match.")
    status = 422 if form.errors else 200
    return render_template("accounts/login.html", form=form, next=next_url), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("You are logged out.", "info")
    return hx_redirect(url_for("accounts.login"))
