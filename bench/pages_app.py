"""What bench_pages.py serves under gunicorn: the app configured from the environment, as
wsgi.py builds it, plus a bare route to measure the floor against.

Run by gunicorn as ``bench.pages_app:create_bench_app()``; importing it builds nothing.
"""

from flask import Flask

from practika import create_app


def create_bench_app() -> Flask:
    app = create_app()
    app.add_url_rule("/bench/hello", "bench_hello", lambda: "hello")
    return app
