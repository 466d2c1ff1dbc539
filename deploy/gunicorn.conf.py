"""Gunicorn settings for Practika: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

Uploads stream through the web process, so timeouts fit a slow phone; threads keep a worker
answering status polls while one request receives an upload. Gunicorn's own lines are JSON
like the app's; the app logs one line per request itself, so gunicorn's access log is off.
"""

import os

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
timeout = 300
graceful_timeout = 10
accesslog = None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "practika.weblog.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"level": "INFO", "handlers": []},  # the app adds its JSON handler to root
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}
