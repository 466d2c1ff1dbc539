from flask_wtf import FlaskForm
from wtforms import FloatField, HiddenField, TextAreaField
from wtforms.validators import Length, Optional

from practika.comments.alignment import MAX_RATE, MIN_RATE
from practika.comments.services import MAX_TEXT
from practika.numbers import Seconds


class CommentForm(FlaskForm):
    """A comment, a reply, or feedback at a moment of the video (``at_seconds``), with what
    was drawn on that frame (``drawing``: JSON, checked by comments.drawing)."""

    text = TextAreaField(
        "Comment", validators=[Optional(), Length(max=MAX_TEXT)], render_kw={"rows": 3}
    )
    at_seconds = FloatField(
        "At (seconds)",
        validators=[Optional(), Seconds()],
        render_kw={"step": "0.1", "min": "0", "inputmode": "decimal"},
    )
    drawing = HiddenField()


class AttemptForm(FlaskForm):
    """An attempt's note, and what the recorder played while the take was made: the clip's
    id and the model's speed (checked by ``alignment.recorded_against``)."""

    note = TextAreaField(
        "Note for your teacher (optional)",
        validators=[Optional(), Length(max=MAX_TEXT)],
        render_kw={"rows": 2, "placeholder": "What did you find hard?"},
    )
    against_clip = HiddenField()
    # Its bounds go to the page too, so the recorder never sends a speed the form refuses.
    against_rate = HiddenField(render_kw={"data-min": MIN_RATE, "data-max": MAX_RATE})
