from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


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
