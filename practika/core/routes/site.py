"""The landing page, and the health, liveness and metrics endpoints that monitoring reads."""

from flask import jsonify, make_response, redirect, render_template, url_for
from flask_login import current_user

from practika.core import bp
from practika.core.health import is_live, run_checks
from practika.extensions import limiter
from practika.metrics import metrics_view


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("exercises.index"))
    return render_template("core/index.html")


@bp.get("/core/health/")
@limiter.exempt
def health():
    healthy, checks = run_checks()
    failing = [name for name, entry in checks.items() if entry["status"] != "ok"]
    body = {"status": "ok" if healthy else "error", "failing": failing, "checks": checks}
    response = jsonify(body)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/core/live")
@limiter.exempt
def live():
    """For the load balancer and the container's health check: plain text, no Redis."""
    response = make_response(("ok", 200) if is_live() else ("database unreachable", 503))
    response.mimetype = "text/plain"
    response.headers["Cache-Control"] = "no-store"
    return response


bp.add_url_rule("/core/metrics", "metrics", limiter.exempt(metrics_view))
