from flask_wtf import FlaskForm
from wtforms import FloatField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from practika.numbers import Seconds


class ExerciseForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired(message="Give the exercise a name."), Length(max=200)]
    )
    description = TextAreaField(
        "Description",
        description="What to practise and how. Line breaks are kept; links become clickable.",
        validators=[Optional(), Length(max=5000)],
        render_kw={"rows": 6},
    )
    youtube_url = StringField(
        "Or a YouTube link",
        validators=[Optional(), Length(max=255)],
        render_kw={"type": "url", "inputmode": "url", "placeholder": "https://youtu.be/…"},
    )


class ClipForm(FlaskForm):
    """A clip of the model video; times in seconds, taken from the player or typed."""

    title = StringField(
        "Title",
        validators=[Optional(), Length(max=200)],
        render_kw={"placeholder": "e.g. The turn"},
    )
    start = FloatField(
        "Start (s)",
        validators=[InputRequired(message="Where does it start?"), Seconds()],
        render_kw={"step": "0.1", "min": "0", "inputmode": "decimal"},
    )
    end = FloatField(
        "End (s)",
        validators=[InputRequired(message="Where does it end?"), Seconds()],
        render_kw={"step": "0.1", "min": "0", "inputmode": "decimal"},
    )


class ClipTitleForm(FlaskForm):
    title = StringField("Clip title", validators=[Optional(), Length(max=200)])
