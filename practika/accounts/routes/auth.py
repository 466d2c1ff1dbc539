import math
import time

from flask import (
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter import RequestLimit
from flask_login import current_user, login_required, login_user, logout_user

from practika.accounts import bp
from practika.accounts.forms import (
    ChangePasswordForm,
    LoginForm,
    ResetPasswordForm,
    ResetRequestForm,
    RoleForm,
    SignupForm,
)
from practika.accounts.guards import is_safe_next
from practika.accounts.models import new_session_token, normalize_email
from practika.accounts.services import AccountError
from practika.accounts.services.invitations import find_pending
from practika.accounts.services.signed_links import Purpose, TokenError, read_token
from practika.accounts.services.users import (
    authenticate,
    change_password,
    choose_role,
    confirm_email_change,
    end_every_session,
    find_by_login,
    record_login,
    send_password_reset,
    send_verification,
    sign_up,
    verify_email,
)
from practika.classes import pending
from practika.extensions import db, limiter
from practika.htmx import hx_redirect


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _mail_limit() -> str:
    return current_app.config["MAIL_RATE_LIMIT"]


def _form_account() -> str:
    """Rate limits per account, whichever address it comes from and whether it is named by
    email or by username (one account, one count); per typed name when it is no account."""
    login = request.form.get("email", "")[:254]
    user = find_by_login(login)
    return f"account:{user.id}" if user is not None else "login:" + normalize_email(login)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_form_account)
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
            if user.profile.email_verified_at is None:
                flash("Please confirm your email: open the link we sent you.", "warning")
            home = pending.next_page(url_for("exercises.index"))
            return hx_redirect(next_url if is_safe_next(next_url) else home)
        form.password.errors.append("That email or username and password do not match.")
    status = 422 if form.errors else 200
    return render_template("accounts/login.html", form=form, next=next_url), status


@bp.post("/logout")
@login_required
def logout():
    # A new session token: a copy of the login cookie (a shared computer, a stolen cookie)
    # stops working too. It ends the user's other sessions as well; that is the price.
    current_user.session_token = new_session_token()
    db.session.commit()
    logout_user()
    flash("You are logged out.", "info")
    return hx_redirect(url_for("accounts.login"))


def _signup_limit() -> str:
    return current_app.config["SIGNUP_RATE_LIMIT"]


def _signup_email() -> str:
    return "signup-email:" + normalize_email(request.form.get("email", ""))


def _accepted(response: Response) -> bool:
    """Only a sign-up that went through counts (a form sent back with errors does not)."""
    return response.status_code == 200


def _signup_refused(limit: RequestLimit) -> Response:
    """The form back as it was sent, saying how long to wait: never a page that loses it."""
    minutes = max(1, math.ceil((limit.reset_at - time.time()) / 60))
    form = SignupForm()
    form.form_errors.append(
        f"Too many new accounts from here just now. Try again in {minutes} minute"
        f"{'' if minutes == 1 else 's'}; what you typed is kept."
    )
    invitation = request.args.get("invitation")
    page = render_template("accounts/signup.html", form=form, invitation=invitation)
    return make_response(page, 429, {"Retry-After": str(minutes * 60)})


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(_signup_limit, methods=["POST"], deduct_when=_accepted, on_breach=_signup_refused)
@limiter.limit(
    _mail_limit,
    methods=["POST"],
    key_func=_signup_email,
    deduct_when=_accepted,
    on_breach=_signup_refused,
)
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    token = request.args.get("invitation")
    invitation = find_pending(token)
    if current_app.config["BETA_INVITE_ONLY"] and invitation is None and not pending.waiting():
        return render_template("accounts/invitation_needed.html", had_link=bool(token)), 403
    form = SignupForm(email=invitation.email if invitation else None)
    if form.validate_on_submit():
        if invitation is not None and normalize_email(form.email.data) != invitation.email:
            form.email.errors.append(f"This invitation is for {invitation.email}.")
        else:
            try:
                sign_up(
                    username=form.username.data,
                    email=form.email.data,
                    password=form.password.data,
                    invitation=invitation,
                )
            except AccountError as error:
                form.username.errors.append(str(error))
            else:
                return render_template("accounts/check_email.html", email=form.email.data)
    return render_template(
        "accounts/signup.html", form=form, invitation=token if invitation else None
    ), (422 if form.errors else 200)


@bp.get("/verify/<token>")
def verify(token: str):
    try:
        user = verify_email(token)
    except TokenError as error:
        return render_template("accounts/token_error.html", message=str(error)), 400
    db.session.commit()
    flash("Your email is confirmed.", "success")
    if current_user.is_authenticated and current_user.id == user.id:
        return redirect(url_for("core.index"))
    return redirect(url_for("accounts.login"))


@bp.post("/verify/resend")
@login_required
@limiter.limit(_mail_limit, key_func=lambda: f"resend:{current_user.id}")
def resend_verification():
    if current_user.profile.email_verified_at is None:
        send_verification(current_user)
        flash(f"We sent a new link to {current_user.email}.", "info")
    return hx_redirect(url_for("core.index"))


@bp.route("/onboarding", methods=["GET", "POST"])
@login_required
def onboarding():
    if current_user.profile.role is not None or current_user.is_staff:
        return redirect(url_for("core.index"))
    form = RoleForm()
    if form.validate_on_submit():
        choose_role(current_user, form.role.data)
        db.session.commit()
        flash("You are all set.", "success")
        return hx_redirect(pending.next_page(url_for("core.index")))
    return render_template("accounts/onboarding.html", form=form), 422 if form.errors else 200


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(_mail_limit, methods=["POST"])
@limiter.limit(_mail_limit, methods=["POST"], key_func=_form_account)
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        send_password_reset(normalize_email(form.email.data))
        return render_template("accounts/check_email.html", email=form.email.data, reset=True)
    return render_template("accounts/reset_request.html", form=form), 422 if form.errors else 200


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        user = read_token(token, Purpose.RESET_PASSWORD)
    except TokenError as error:
        return render_template("accounts/token_error.html", message=str(error)), 400
    form = ResetPasswordForm()
    form.personal = (user.username, user.email)
    if form.validate_on_submit():
        change_password(user, form.password.data)  # every login and API token ends
        db.session.commit()
        logout_user()
        flash("Your password is changed. Log in with the new one.", "success")
        return hx_redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form), 422 if form.errors else 200


@bp.get("/email/<token>")
def confirm_email(token: str):
    """The link mailed to a new address: the account moves to it now."""
    try:
        user = confirm_email_change(token)
    except TokenError as error:
        return render_template("accounts/token_error.html", message=str(error)), 400
    db.session.commit()
    flash(f"Your email is now {user.email}.", "success")
    return redirect(
        url_for("accounts.profile" if current_user.is_authenticated else "accounts.login")
    )


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit(_login_limit, methods=["POST"], key_func=lambda: f"password:{current_user.id}")
def password():
    """Change the password: the current one first. Every other session and every API token
    ends; this one goes on under the new password."""
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    form.personal = (user.username, user.email)
    if form.validate_on_submit():
        if not user.check_password(form.current_password.data):
            form.current_password.errors.append("That is not your current password.")
        else:
            change_password(user, form.password.data)
            db.session.commit()
            remembered = current_app.config["REMEMBER_COOKIE_NAME"] in request.cookies
            login_user(user, remember=remembered)  # this device, under the new session token
            flash("Your password is changed. You are logged out everywhere else.", "success")
            return hx_redirect(url_for("accounts.profile"))
    status = 422 if form.errors else 200
    return render_template("accounts/password.html", form=form), status


@bp.post("/logout-everywhere")
@login_required
def logout_everywhere():
    """End every login on every device, and every API token."""
    end_every_session(current_user)
    db.session.commit()
    logout_user()
    flash("You are logged out everywhere, and your API tokens no longer work.", "info")
    return hx_redirect(url_for("accounts.login"))


# Pages a user without a role may still reach (everything else sends them to choose one).
ONBOARDING_OPEN = {
    "static",
    "core.health",
    "accounts.onboarding",
    "accounts.logout",
    "accounts.verify",
    "accounts.resend_verification",
    "accounts.confirm_email",
    "accounts.logout_everywhere",
    "classes.join_link",  # it keeps the code while the role is chosen
}


@bp.before_app_request
def _require_a_role():
    """A new account chooses student or teacher before anything else."""
    if request.endpoint in ONBOARDING_OPEN or request.blueprint == "api":
        return None  # the API answers bearer tokens only, never the login cookie
    if not current_user.is_authenticated:
        return None
    if current_user.needs_a_role:
        return hx_redirect(url_for("accounts.onboarding"))
    return None
