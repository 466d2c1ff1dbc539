"""Error pages: a full page for a browser, a fragment in the flash area for htmx."""

import logging

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

from practika.api.inputs import Invalid
from practika.api.problems import problem
from practika.comments import drawing
from practika.extensions import db
from practika.htmx import is_htmx
from practika.numbers import OutOfRange

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Please try again."),
    403: ("Not allowed", "You are not allowed to do that."),
    404: ("Not found", "There is nothing here. The link may be old or mistyped."),
    405: ("Not allowed", "That action is not available here."),
    413: ("Too large", "That file is larger than this site accepts."),
    422: ("Cannot use that", "Something in the request is out of range."),
    429: ("Slow down", "Too many attempts. Please wait a minute and try again."),
    503: ("Busy", "The site is busy for a moment. Please try again."),
    500: (
        "Something went wrong",
        "We could not finish that. It has been logged; please try again.",
    ),
}


# What a database says when a write waited out its lock timeout (SQLite, PostgreSQL).
LOCKED = ("database is locked", "lock timeout")
BUSY = "The site is busy for a moment and could not save that. Please try again."

# When the page itself cannot be rendered (say the database is down and base.html asks who
# is logged in), this still tells the person what happened.
BARE_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>{title} · Practika</title>"
    "<h1>{title}</h1><p>{message}</p><p><a href=/>Go to the start page</a></p></html>"
)


# Where a comment may carry a drawing. Past the body's or a field's limit there, what is too
# large is the drawing (the text has its own cap, a video its upload): it is refused as a
# drawing, 422, like any other the checks refuse.
DRAWING_ENDPOINTS = frozenset(
    {"comments.reply", "comments.comment_on_exercise", "api.create_comment", "api.create_reply"}
)


def render_error(status: int, detail: str | None = None) -> Response:
    if request.path.startswith("/api/"):  # API clients get problem details, never a page
        return problem(status, detail)
    title, message = MESSAGES.get(status, MESSAGES[500])
    context = {"status": status, "title": title, "message": detail or message}
    try:
        return _render_error(status, context)
    except Exception:  # the error page must not fail in turn
        logging.getLogger(__name__).exception("error page could not be rendered")
        bare = BARE_PAGE.format(title=escape(context["title"]), message=escape(context["message"]))
        return Response(bare, status=status, mimetype="text/html")


def _render_error(status: int, context: dict) -> Response:
    if not is_htmx():
        return Response(render_template("errors/error.html", **context), status=status)
    response = Response(render_template("errors/_error.html", **context), status=status)
    # Shown as an alert in the flash area, whatever the request meant to swap.
    response.headers["HX-Retarget"] = "#flashes"
    response.headers["HX-Reswap"] = "afterbegin"
    return response


def init_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> Response:
        return render_error(
            400, "Your form expired or was sent from elsewhere. Reload the page and try again."
        )

    @app.errorhandler(OutOfRange)
    def _out_of_range(error: OutOfRange) -> Response:
        return render_error(422, str(error))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        if error.response is not None:  # a view's own answer (a rate-limited form, kept)
            return error.response
        detail = error.description if request.path.startswith("/api/") else None
        return render_error(error.code or 500, detail)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(error: RequestEntityTooLarge) -> Response:
        whole_body_fits = (request.content_length or 0) <= (app.config["MAX_CONTENT_LENGTH"] or 0)
        if request.endpoint in DRAWING_ENDPOINTS and whole_body_fits:
            if request.path.startswith("/api/"):  # the field's reason, as the API gives it
                return Invalid({"drawing": drawing.TOO_LARGE}).get_response()
            return render_error(422, drawing.TOO_LARGE)
        return _http(error)

    @app.errorhandler(OperationalError)
    def _database(error: OperationalError) -> Response:
        """A write that waited its whole busy timeout for a lock is a busy moment, not a bug:
        say so, and when to try again, instead of a 500. Anything else is a 500."""
        db.session.rollback()
        if not any(words in str(error.orig) for words in LOCKED):
            app.log_exception((type(error), error, error.__traceback__))
            return render_error(500)
        logging.getLogger(__name__).warning("database busy: %s", error.orig)
        response = render_error(503, BUSY)
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(InternalServerError)
    def _internal(error: InternalServerError) -> Response:
        db.session.rollback()
        return render_error(500)
