"""What bench_upload_paths.py serves for the direct path: the app configured from the
environment, as wsgi.py builds it, except that its S3 client waits up to 10 minutes for an
answer instead of 30 seconds.

moto joins the parts of a 1 GiB upload in tens of seconds on a busy machine (its
CompleteMultipartUpload copies the GiB several times in Python; S3 itself answers at once
and keeps the connection open while it works). With the app's 30 s the client times out,
botocore sends the request again while moto is still at the first one, and the upload
fails. Waiting longer changes no work the web process does, only how long it waits.

Run by gunicorn as ``bench.upload_app:create_bench_app()``; importing it builds nothing.
"""

import boto3
from botocore.config import Config
from flask import Flask

from practika import create_app

PATIENCE_SECONDS = 600


def create_bench_app() -> Flask:
    app = create_app()
    storage = app.extensions["storage"]
    meta = storage.client.meta
    storage.client = boto3.client(
        "s3",
        endpoint_url=meta.endpoint_url,
        region_name=meta.region_name,
        config=meta.config.merge(Config(read_timeout=PATIENCE_SECONDS)),
    )
    return app
