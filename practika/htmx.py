"""The few htmx helpers every blueprint shares: page or fragment, and redirects htmx follows."""

from flask import Response, redirect, request


def is_htmx() -> bool:
    """True for a request htmx made to swap a fragment (not a boosted full-page navigation)."""
    return (
        request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"
    )


def hx_redirect(url: str, status: int = 303) -> Response:
    """Send the browser to ``url``: htmx by ``HX-Redirect``, plain forms by a 303."""
    if request.headers.get("HX-Request") == "true":
        response = Response(status=200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=status)
