"""The few htmx helpers every blueprint shares: page or fragment, and redirects htmx follows.

Whatever asks these helpers answers differently with and without ``HX-Request``, so they
mark the response ``Vary: HX-Request`` themselves: a cache (the browser's own, for Back)
never serves a fragment for a page, and no route has to remember to say so."""

from flask import Response, after_this_request, g, redirect, request


def _varies_on_hx_request() -> None:
    if not g.get("_varies_on_hx_request"):  # once per request, however often it asks
        g._varies_on_hx_request = True
        after_this_request(_add_vary)


def _add_vary(response: Response) -> Response:
    response.vary.add("HX-Request")
    return response


def is_htmx() -> bool:
    """True for a request htmx made to swap a fragment (not a boosted full-page navigation)."""
    _varies_on_hx_request()
    return (
        request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"
    )


def hx_redirect(url: str, status: int = 303) -> Response:
    """Send the browser to ``url``: htmx by ``HX-Redirect``, plain forms by a 303."""
    _varies_on_hx_request()
    if request.headers.get("HX-Request") == "true":
        response = Response(status=200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=status)
