import re

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from practika.accounts.models import RoleName
from practika.accounts.services import passwords
from practika.accounts.services.preferences import PLAYBACK_SPEEDS

USERNAME_RULE = "3 to 30 letters, digits, dots, dashes or underscores."
EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class LoginForm(FlaskForm):
    # Named after the column it is looked up in; a username is accepted too.
    email = StringField(
        "Email or username",
        validators=[DataRequired(message="Enter your email or username."), Length(max=254)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(message="Enter your password."), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField("Keep me logged in on this device")


def _email_shape(form, field) -> None:
    if not EMAIL_SHAPE.match(field.data or ""):
        raise ValidationError("Enter an email address like name@example.com.")


class NewPasswordMixin:
    password = PasswordField(
        "Password",
        description=passwords.RULE,
        validators=[DataRequired(message="Choose a password."), Length(max=1024)],
        render_kw={"autocomplete": "new-password", "minlength": passwords.MIN_LENGTH},
    )
    # The account's own name and address, where the form does not ask for them.
    personal: tuple[str, ...] = ()

    def validate_password(self, field) -> None:
        asked = [getattr(self, name, None) for name in ("username", "email")]
        personal = [*self.personal, *(f.data for f in asked if f is not None)]
        if problem := passwords.password_problem(field.data or "", personal=personal):
            raise ValidationError(problem)


class SignupForm(NewPasswordMixin, FlaskForm):
    username = StringField(
        "Username",
        description=USERNAME_RULE,
        validators=[
            DataRequired(message="Choose a username."),
            Regexp(r"^[A-Za-z0-9_.-]{3,30}$", message=USERNAME_RULE),
        ],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    email = StringField(
        "Email",
        validators=[DataRequired(message="Enter your email."), Length(max=254), _email_shape],
        render_kw={"autocomplete": "email", "type": "email", "autocapitalize": "none"},
    )


class RoleForm(FlaskForm):
    # Shown once, while a new account has no role; changing it later is the admin's job.
    role = RadioField(
        "I am a",
        choices=[
            SelectChoice(RoleName.STUDENT, "Student: I practise exercises"),
            SelectChoice(RoleName.TEACHER, "Teacher: I build exercises"),
        ],
        validators=[DataRequired(message="Choose student or teacher.")],
    )


class ResetRequestForm(FlaskForm):
    email = StringField(
        "Email",
        validators=[DataRequired(message="Enter your email."), Length(max=254), _email_shape],
        render_kw={"autocomplete": "email", "type": "email", "autocapitalize": "none"},
    )


class ResetPasswordForm(NewPasswordMixin, FlaskForm):
    pass


class ChangePasswordForm(NewPasswordMixin, FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired(message="Enter your current password."), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.password.label.text = "New password"  # beside the current one, say which


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class ProfileForm(FlaskForm):
    # Field names are the column names (and the preference keys); no role, no is_staff:
    # those are the admin's, and a posted value is simply not read.
    first_name = StringField(
        "First name",
        filters=[_strip],
        validators=[Length(max=150, message="Use at most 150 characters.")],
        render_kw={"autocomplete": "given-name"},
    )
    last_name = StringField(
        "Last name",
        filters=[_strip],
        validators=[Length(max=150, message="Use at most 150 characters.")],
        render_kw={"autocomplete": "family-name"},
    )
    email = StringField(
        "Email",
        filters=[_strip],
        description="Change it and we send a link to the new address; until it is opened we "
        "keep writing to this one.",
        validators=[DataRequired(message="Enter your email."), Length(max=254), _email_shape],
        render_kw={"autocomplete": "email", "type": "email", "autocapitalize": "none"},
    )
    current_password = PasswordField(
        "Current password",
        description="Needed only to change your email.",
        validators=[Optional(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    email_notifications = BooleanField("Email me about comments and feedback", default=True)
    playback_speed = SelectField(
        "Default playback speed",
        choices=[SelectChoice(value, label) for value, (label, _) in PLAYBACK_SPEEDS.items()],
        default="1",
    )


class InviteForm(FlaskForm):
    email = StringField(
        "Email to invite",
        validators=[DataRequired(message="Enter an email address."), Length(max=254)],
        render_kw={"type": "email", "autocomplete": "off", "autocapitalize": "none"},
    )
