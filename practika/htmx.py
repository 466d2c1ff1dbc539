"""The few htmx helpers every blueprint shares: page or fragment, and redirects htmx follows."""

from flask import Response, redirect, render_template, request


def is_htmx() -> bool:
    """True for a request htmx made to swap a fragment (not a boosted full-page navigation)."""
    return (
        request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"
    )


def render_page_or_fragment(page: str, fragment: str, status: int = 200, **context) -> Response:
    """The full page for a browser, only the fragment for htmx; caches told it varies."""
    template = fragment if is_htmx() else page
    response = Response(render_template(template, **context), status=status)
    response.vary.add("HX-Request")
    return response


def hx_redirect(url: str, status: int = 303) -> Response:
    """Send the browser to ``url``: htmx by ``HX-Redirect``, plain forms by a 303."""
    if request.headers.get("HX-Request") == "true":
        response = Response(status=200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=status)
