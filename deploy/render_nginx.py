"""Write a runnable nginx configuration for Practika into a folder of its own: the server
template deploy/nginx.conf filled in, inside a main config that keeps every file nginx
writes (pid, temp files of buffered bodies) in that folder. One renderer for every place
nginx stands in front of gunicorn: `make run` (scripts/run.sh), `make test-stack`, and the
image's `proxy` role (docker-compose.yml, the ECS web task).

    python deploy/render_nginx.py FOLDER     # the settings from the environment
    nginx -p FOLDER -c FOLDER/nginx.conf -e stderr -g 'daemon off;'

Settings (deploy/nginx.conf says what each means): LISTEN_PORT, APP_UPSTREAM (one gunicorn,
or several separated by spaces or commas) and MEDIA_ROOT are required; STATIC_ROOT (the
static/ beside this file), MAX_BODY_MB (1025), SERVER_NAME (_) and CLIENT_ADDRESS
($binary_remote_addr) have defaults. Standard library only: the proxy
role runs it without the app's settings or secrets.
"""

from __future__ import annotations

import os
import string
import sys
from collections.abc import Mapping
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "nginx.conf"
DEFAULTS = {
    "STATIC_ROOT": str(HERE.parent / "static"),
    "MAX_BODY_MB": "1025",  # the app's default MAX_UPLOAD_MB (1024) + 1
    "SERVER_NAME": "_",
    "CLIENT_ADDRESS": "$binary_remote_addr",
}
REQUIRED = ("LISTEN_PORT", "APP_UPSTREAM", "MEDIA_ROOT")
TEMP_KINDS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")

# Connections, not requests: a slow client holds one for as long as it likes (its request is
# counted by limit_conn in the template), a proxied request holds two. nginx raises its own
# open-file limit to fit where the hard limit allows.
MAIN = """\
{user}worker_processes auto;
worker_rlimit_nofile 16384;
pid {folder}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  # The app logs every request it answers (JSON, with its request id); what nginx refuses
  # itself (a 429 from the connection cap, a 413) goes to the error log.
  access_log off;
  sendfile on;
  tcp_nopush on;
  # Longer than the ALB's idle timeout (60 s): the load balancer closes idle connections.
  keepalive_timeout 75s;
{temp_paths}  include {folder}/practika.conf;
}}
"""


def settings(environ: Mapping[str, str]) -> dict[str, str]:
    missing = [name for name in REQUIRED if not environ.get(name)]
    if missing:
        raise SystemExit(f"render_nginx: set {', '.join(missing)}")
    return {name: environ.get(name) or DEFAULTS.get(name, "") for name in (*REQUIRED, *DEFAULTS)}


def upstream_servers(upstream: str) -> str:
    """The upstream's `server` lines: one for each address in APP_UPSTREAM, which names one
    gunicorn or several (separated by spaces or commas) for nginx to take in turn."""
    addresses = upstream.replace(",", " ").split()
    if not addresses:
        raise SystemExit("render_nginx: APP_UPSTREAM names no server")
    return "\n    ".join(f"server {address};" for address in addresses)


def render_site(values: Mapping[str, str]) -> str:
    servers = upstream_servers(values["APP_UPSTREAM"])
    return string.Template(TEMPLATE.read_text()).safe_substitute(values, APP_SERVERS=servers)


def write_config(folder: Path, values: Mapping[str, str]) -> Path:
    """Write folder/practika.conf and folder/nginx.conf; returns the latter."""
    folder = folder.resolve()
    for kind in TEMP_KINDS:
        (folder / kind).mkdir(parents=True, exist_ok=True)
    (folder / "practika.conf").write_text(render_site(values))
    temp_paths = "".join(f"  {kind}_temp_path {folder}/{kind};\n" for kind in TEMP_KINDS)
    # Started by root, nginx would run its workers as nobody, who may not read the checkout
    # or write this folder; root only happens on developers' and CI machines.
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = folder / "nginx.conf"
    main.write_text(MAIN.format(user=user, folder=folder, temp_paths=temp_paths))
    return main


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(write_config(Path(sys.argv[1]), settings(os.environ)))
