from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from practika.classes.models import CODE_LENGTH


class ClassForm(FlaskForm):
    name = StringField(
        "Class name",
        validators=[DataRequired(message="Give the class a name."), Length(max=100)],
        render_kw={"placeholder": "e.g. Year 9 guitar, Tuesday", "autocomplete": "off"},
    )


class JoinForm(FlaskForm):
    code = StringField(
        "Class code",
        description=f"{CODE_LENGTH} letters and digits, from your teacher.",
        validators=[DataRequired(message="Type the code your teacher gave you."), Length(max=40)],
        render_kw={
            "autocomplete": "off",
            "autocapitalize": "characters",
            "spellcheck": "false",
            "placeholder": "ABCD-EFGH",
        },
    )


class TeacherForm(FlaskForm):
    email = StringField(
        "Co-teacher's email",
        validators=[DataRequired(message="Enter their email address."), Length(max=254)],
        render_kw={"type": "email", "autocomplete": "off", "autocapitalize": "none"},
    )
