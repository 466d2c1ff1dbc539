from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


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
    video = FileField(
        "Model video",
        description="Upload a video (MP4, MOV or WebM) or record one on your phone.",
        render_kw={"accept": "video/*"},
    )
    youtube_url = StringField(
        "Or a YouTube link",
        validators=[Optional(), Length(max=255)],
        render_kw={"type": "url", "inputmode": "url", "placeholder": "https://youtu.be/…"},
    )
