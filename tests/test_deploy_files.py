"""The deployment files: Dockerfile and its entrypoint, the compose files, the nginx template,
gunicorn's settings and the GitHub workflows.

No Docker engine here: the files are parsed and held to the shape deployment relies on, the
entrypoint's roles and gunicorn's settings run for real, and where Debian's nginx is
installed the rendered nginx.conf runs in front of a small upstream and is asked what a
browser and the app would ask.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import re
import runpy
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from practika.config import BASE_DIR, TestConfig
from tests.services import free_port, wait_for

WORKFLOWS = BASE_DIR / ".github" / "workflows"
NGINX = Path("/usr/sbin/nginx")
ACCEL_PREFIX = "/_media/"
# A 5 MB tus PATCH over a 256 kbit/s phone link: about 164 s.
SLOW_CHUNK_SECONDS = 5 * 2**20 * 8 / 256_000
# What nginx must accept: the app's MAX_CONTENT_LENGTH (MAX_UPLOAD_MB + 1 MiB), in MiB.
APP_BODY_MB = TestConfig({}).MAX_CONTENT_LENGTH // 2**20


# --- GitHub workflows -------------------------------------------------------------------


def load_workflow(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads a bare `on` as true
    return data


def all_steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def run_text(steps: list[dict]) -> str:
    return "\n".join(step.get("run", "") for step in steps)


def using(steps: list[dict], action: str) -> list[dict]:
    return [step for step in steps if step.get("uses", "").startswith(action + "@")]


@pytest.mark.parametrize("name", ["test.yml", "deploy.yml", "monitor.yml"])
def test_workflow_structure(name):
    workflow = load_workflow(name)
    assert workflow["name"] and workflow["on"] and workflow["jobs"]
    for job_id, job in workflow["jobs"].items():
        if "uses" in job:  # a call of a reusable workflow in this repository
            assert (BASE_DIR / job["uses"]).is_file(), job_id
            continue
        assert job["runs-on"], job_id
        assert job["steps"], job_id
        for step in job["steps"]:
            assert ("run" in step) != ("uses" in step), step
            if "uses" in step:  # pinned to a major version at least, or a commit
                assert re.search(r"@(v\d+(\.\d+)*|[0-9a-f]{40})$", step["uses"]), step["uses"]


def test_test_workflow_lints_tests_and_builds_the_image():
    workflow = load_workflow("test.yml")
    assert {"push", "pull_request", "workflow_call"} <= set(workflow["on"])
    jobs = workflow["jobs"]
    assert "ruff check" in run_text(jobs["lint"]["steps"])
    assert "ruff format --check" in run_text(jobs["lint"]["steps"])
    assert "make test" in run_text(jobs["tests"]["steps"])
    assert "not e2e" in jobs["tests"]["env"]["PYTEST_ARGS"]
    assert jobs["e2e"]["env"]["PYTEST_ARGS"] == "tests/e2e"
    assert "make test" in run_text(jobs["e2e"]["steps"])
    docker = jobs["docker"]["steps"]
    assert using(docker, "docker/setup-buildx-action")
    (build,) = using(docker, "docker/build-push-action")
    assert build["with"]["push"] is False
    assert "scripts/check_docker.sh" in run_text(docker)


def test_deploy_workflow_migrates_rolls_waits_and_rolls_back():
    workflow = load_workflow("deploy.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in workflow["on"]
    assert workflow["permissions"]["id-token"] == "write"
    names = {
        "ECR_REPOSITORY": "practika",
        "ECS_CLUSTER": "practika",
        "WEB_SERVICE": "practika-web",
        "WORKER_SERVICE": "practika-worker",
        "WEB_FAMILY": "practika-web",
        "WORKER_FAMILY": "practika-worker",
        "MIGRATE_FAMILY": "practika-migrate",
    }  # as in terraform/
    assert names.items() <= workflow["env"].items()
    jobs = workflow["jobs"]
    assert jobs["test"]["uses"] == "./.github/workflows/test.yml"
    for name in ("build", "deploy", "rollback"):
        (credentials,) = using(jobs[name]["steps"], "aws-actions/configure-aws-credentials")
        assert "role-to-assume" in credentials["with"], name

    build = jobs["build"]
    assert build["needs"] == "test"
    (push,) = using(build["steps"], "docker/build-push-action")
    assert push["with"]["push"] is True
    assert "GITHUB_SHA" in run_text(build["steps"])  # the image is tagged with the commit

    deploy = jobs["deploy"]["steps"]
    migrate = next(i for i, step in enumerate(deploy) if step.get("id") == "migrate")
    for words in ("aws ecs run-task", "--overrides", '["migrate"]', "tasks-stopped", "exitCode"):
        assert words in deploy[migrate]["run"], words
    rendered = using(deploy, "aws-actions/amazon-ecs-render-task-definition")
    assert {step["with"]["task-definition"] for step in rendered} == {
        "${{ env.MIGRATE_FAMILY }}.json",
        "${{ env.WEB_FAMILY }}.json",
        "${{ env.WORKER_FAMILY }}.json",
        "${{ steps.web-def.outputs.task-definition }}",  # the web task's second container
    }
    (proxy,) = [step for step in rendered if step["with"].get("container-name") == "proxy"]
    assert proxy["with"]["image"] == "${{ env.IMAGE }}"
    rolled = [
        (i, step["with"])
        for i, step in enumerate(deploy)
        if step.get("uses", "").startswith("aws-actions/amazon-ecs-deploy-task-definition@")
        and "service" in step["with"]
    ]
    assert {args["service"] for _, args in rolled} == {
        "${{ env.WEB_SERVICE }}",
        "${{ env.WORKER_SERVICE }}",
    }
    (web,) = [args for _, args in rolled if args["service"] == "${{ env.WEB_SERVICE }}"]
    assert web["task-definition"] == f"${{{{ steps.{proxy['id']}.outputs.task-definition }}}}"
    assert all(i > migrate and args["wait-for-service-stability"] is True for i, args in rolled)
    health = len(deploy) - 1  # health is asked last, once both services are stable
    assert "HEALTH_URL" in deploy[health]["run"] and all(i < health for i, _ in rolled)

    rollback = jobs["rollback"]
    assert rollback["needs"] == "deploy"
    assert "failure()" in rollback["if"] and "needs.deploy.outputs.rolled" in rollback["if"]
    text = run_text(rollback["steps"])
    assert "update-service" in text
    assert "PREVIOUS_WEB" in text and "PREVIOUS_WORKER" in text


def test_monitor_checks_health_every_15_minutes_and_keeps_one_issue():
    workflow = load_workflow("monitor.yml")
    assert workflow["on"]["schedule"] == [{"cron": "*/15 * * * *"}]
    assert "workflow_dispatch" in workflow["on"]
    assert workflow["permissions"]["issues"] == "write"
    steps = all_steps(workflow)
    assert "HEALTH_URL" in run_text(steps)
    (report, close) = using(steps, "actions/github-script")
    script = report["with"]["script"]
    # An open incident gets a comment; only when none is open is a new issue created.
    assert "listForRepo" in script and "createComment" in script and "issues.create(" in script
    assert "failure()" in report["if"]
    assert "state: 'closed'" in close["with"]["script"]


# --- compose files ----------------------------------------------------------------------


def load_compose(name: str) -> dict:
    return yaml.safe_load((BASE_DIR / name).read_text())


def default_of(value: str) -> str:
    """The default in a compose ``${NAME:-default}``."""
    match = re.fullmatch(r"\$\{\w+:-([^}]*)\}", value)
    assert match, value
    return match.group(1)


def test_compose_development_stack():
    services = load_compose("docker-compose.yml")["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "nginx"}
    web, worker, migrate, nginx = (services[n] for n in ("web", "worker", "migrate", "nginx"))
    assert migrate["command"] == ["migrate"]
    assert worker["command"] == ["worker"]
    assert "command" not in web  # the image's CMD: gunicorn
    for service in (web, worker):
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert service["environment"]["STORAGE_ACCEL_PREFIX"] == ACCEL_PREFIX
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    for service in (web, worker, migrate):
        assert "media:/data/media" in service["volumes"]
        assert service["environment"]["STORAGE_URL"] == "/data/media"
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name
    assert "test" not in web["healthcheck"] and "test" not in nginx["healthcheck"]  # the image's
    assert worker["healthcheck"] == {"disable": True}

    # nginx is the image's proxy role, as in the ECS web task, rendered from the same template.
    assert nginx["command"] == ["proxy"] and nginx["image"] == web["image"]
    assert "media:/data/media:ro" in nginx["volumes"]
    # Enough for nginx: test_compose_nginx_settings_make_a_config_nginx_accepts.
    env = nginx["environment"]
    assert env["APP_UPSTREAM"] == "web:8000" and env["MEDIA_ROOT"] == "/data/media"
    assert nginx["ports"] == [f"${{HTTP_PORT:-8080}}:{env['LISTEN_PORT']}"]
    assert nginx["depends_on"]["web"] == {"condition": "service_healthy"}
    # nginx's limit is the app's: MAX_UPLOAD_MB + 1, as MAX_CONTENT_LENGTH in config.py.
    upload_mb = int(default_of(web["environment"]["MAX_UPLOAD_MB"]))
    assert int(default_of(env["MAX_BODY_MB"])) == upload_mb + 1 == APP_BODY_MB
    for name, service in services.items():  # nothing is mounted from the working tree
        binds = [v for v in service.get("volumes", []) if v.startswith((".", "/"))]
        assert binds == [], name


def test_compose_production_overrides():
    services = load_compose("docker-compose.prod.yml")["services"]
    assert set(services) <= set(load_compose("docker-compose.yml")["services"])
    for name, service in services.items():
        assert service["restart"] == ("no" if name == "migrate" else "unless-stopped"), name
        assert not service.get("volumes"), name  # no bind mounts of the working tree
    for name in ("web", "worker", "migrate", "nginx"):
        assert services[name]["image"].startswith("${PRACTIKA_IMAGE:?"), name
    for name in ("web", "worker", "migrate"):
        env = services[name]["environment"]
        assert env["PRACTIKA_ENV"] == "production"
        for secret in ("SECRET_KEY", "DATABASE_URL", "STORAGE_URL"):
            assert env[secret].startswith(f"${{{secret}:?"), (name, secret)  # required
        assert "s3://" in env["STORAGE_URL"]
    for name in ("web", "worker"):
        assert services[name]["deploy"]["resources"]["limits"]["memory"], name


# --- Dockerfile and entrypoint ----------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (BASE_DIR / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_shape():
    steps = dockerfile()
    kinds = [kind for kind, _ in steps]
    assert steps[0] == ("FROM", "python:3.11-slim-bookworm")
    env = " ".join(args for kind, args in steps if kind == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "PYTHONUNBUFFERED=1" in env
    apt = next(args for kind, args in steps if kind == "RUN" and "apt-get" in args)
    assert "--no-install-recommends" in apt and "ffmpeg" in apt and "nginx" in apt
    assert "rm -rf /var/lib/apt/lists/*" in apt
    # The lock is installed before the code arrives, so code changes reuse that layer.
    lock = steps.index(("COPY", "requirements/base.txt requirements/base.txt"))
    install = next(
        i for i, (kind, args) in enumerate(steps) if kind == "RUN" and "pip install" in args
    )
    code = steps.index(("COPY", ". ."))
    assert lock < install < code
    assert "-r requirements/base.txt" in steps[install][1]
    user = [args for kind, args in steps if kind == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert kinds.index("USER") > code
    (healthcheck,) = [args for kind, args in steps if kind == "HEALTHCHECK"]
    # Liveness, never the full report: Redis or the workers away must not get it replaced.
    assert json.loads(healthcheck.split("CMD", 1)[1]) == [
        "/app/deploy/docker-entrypoint.sh",
        "live",
    ]
    (entrypoint,) = [json.loads(args) for kind, args in steps if kind == "ENTRYPOINT"]
    assert entrypoint[-1] == "/app/deploy/docker-entrypoint.sh"
    (cmd,) = [json.loads(args) for kind, args in steps if kind == "CMD"]
    assert cmd == ["gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"]


def test_every_hadolint_ignore_says_why():
    lines = (BASE_DIR / "Dockerfile").read_text().splitlines()
    for i, line in enumerate(lines):
        if "hadolint ignore=" in line:
            rules = line.split("=", 1)[1].split(",")
            reason = lines[i - 1]
            assert reason.startswith("#") and "hadolint" not in reason, line
            assert all(rule.strip() in "\n".join(lines[max(0, i - 6) : i]) for rule in rules)


def test_dockerignore_lets_in_only_what_the_app_runs_on():
    entries = [
        line
        for line in (BASE_DIR / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert entries[0] == "*"
    allowed = [line[1:].rstrip("/") for line in entries if line.startswith("!")]
    for path in allowed:
        assert (BASE_DIR / path).exists(), path
    for needed in ("practika", "templates", "static", "migrations", "wsgi.py", "worker.py"):
        assert needed in allowed
    assert "requirements/base.txt" in allowed and "deploy/docker-entrypoint.sh" in allowed
    assert "deploy/nginx.conf" in allowed and "deploy/render_nginx.py" in allowed  # proxy role
    assert not {".env", "instance", ".venv", "tests"} & set(allowed)


def entrypoint(*args: str, **env: str) -> subprocess.CompletedProcess:
    """The entrypoint as the image runs it, with this virtualenv's python on PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    with subprocess.Popen(
        ["sh", str(BASE_DIR / "deploy" / "docker-entrypoint.sh"), *args],
        cwd=BASE_DIR,
        env={"PATH": path, "HOME": os.environ.get("HOME", "/tmp"), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        stdout, stderr = process.communicate(timeout=60)
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    result.pid = process.pid
    return result


def test_entrypoint_execs_the_command_so_it_gets_the_signals():
    script = (BASE_DIR / "deploy" / "docker-entrypoint.sh").read_text()
    assert script.rstrip().endswith('exec "$@"')
    assert os.access(BASE_DIR / "deploy" / "docker-entrypoint.sh", os.X_OK)
    result = entrypoint("sh", "-c", 'echo "$0 $$"', "hello")
    # exec: the command is the entrypoint's own process, not a child of a waiting shell.
    assert result.returncode == 0 and result.stdout.split() == ["hello", str(result.pid)]


def test_migrate_waits_for_the_database_then_gives_up(tmp_path):
    result = entrypoint(
        "migrate",
        DATABASE_URL=f"postgresql://practika:x@127.0.0.1:{free_port()}/practika",
        INSTANCE_PATH=str(tmp_path),
        MIGRATE_TRIES="2",
        MIGRATE_DELAY="0",
    )
    assert result.returncode == 1
    assert result.stderr.count("waiting for the database") == 1
    assert "did not answer after 2 tries" in result.stderr


def test_migrate_does_not_wait_for_settings_that_cannot_work(tmp_path):
    result = entrypoint("migrate", PRACTIKA_ENV="production", INSTANCE_PATH=str(tmp_path))
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr and "waiting" not in result.stderr


@pytest.mark.skipif(not NGINX.exists(), reason="Debian's nginx is not installed")
def test_proxy_role_renders_the_template_and_runs_nginx(tmp_path):
    result = entrypoint(
        "proxy",
        "-t",  # passed on to nginx: test the configuration instead of serving
        PATH=os.pathsep.join(
            [str(Path(sys.executable).parent), str(NGINX.parent), os.environ["PATH"]]
        ),
        NGINX_DIR=str(tmp_path / "nginx"),
        LISTEN_PORT=str(free_port()),
        APP_UPSTREAM="127.0.0.1:8000",
        MEDIA_ROOT=str(tmp_path / "media"),
        CLIENT_ADDRESS="$practika_forwarded_client",
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    site = (tmp_path / "nginx" / "practika.conf").read_text()
    assert "limit_conn_zone $practika_forwarded_client" in site


def test_live_role_asks_core_live_on_the_proxy_port_or_else_gunicorns(tmp_path):
    """The container check: /core/live (never the full /core/health/) on LISTEN_PORT in the
    proxy role, on BIND's port in the web role; it fails when nothing answers there."""
    upstream = Upstream()
    threading.Thread(target=upstream.serve_forever, args=(0.05,), daemon=True).start()
    port = str(upstream.server_address[1])
    try:
        assert entrypoint("live", BIND=f"127.0.0.1:{port}").returncode == 0
        assert entrypoint("live", LISTEN_PORT=port, BIND="0.0.0.0:1").returncode == 0
        assert upstream.paths == ["/core/live", "/core/live"]
        assert entrypoint("live", BIND=f"127.0.0.1:{free_port()}").returncode != 0
    finally:
        upstream.shutdown()
        upstream.server_close()


def test_migrate_upgrades_a_database_that_answers(tmp_path):
    database = tmp_path / "practika.db"
    result = entrypoint(
        "migrate",
        DATABASE_URL=f"sqlite:///{database}",
        INSTANCE_PATH=str(tmp_path),
        FLASK_APP="wsgi:app",
    )
    assert result.returncode == 0, result.stderr
    assert "Running upgrade" in result.stderr and database.stat().st_size > 0


# --- gunicorn ---------------------------------------------------------------------------


def gunicorn_settings(monkeypatch, **env: str) -> dict:
    for name in ("WEB_CONCURRENCY", "BIND", "PORT", "WEB_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(BASE_DIR / "deploy" / "gunicorn.conf.py"))


def test_gunicorn_workers_follow_the_cpus_unless_told(monkeypatch):
    settings = gunicorn_settings(monkeypatch)
    assert settings["workers"] == 2 * settings["_usable_cpus"]() + 1
    assert settings["bind"] == "127.0.0.1:8000"
    assert settings["control_socket_disable"] is True  # no shared ~/.gunicorn/gunicorn.ctl
    told = gunicorn_settings(monkeypatch, WEB_CONCURRENCY="7", BIND="0.0.0.0:8000")
    assert told["workers"] == 7 and told["bind"] == "0.0.0.0:8000"


def test_gunicorn_waits_for_a_slow_upload_and_logs_json(monkeypatch):
    settings = gunicorn_settings(monkeypatch)
    assert settings["timeout"] >= SLOW_CHUNK_SECONDS
    assert settings["worker_class"] == "gthread"
    assert settings["accesslog"] is None  # the app logs each request itself, as JSON
    formatter = settings["logconfig_dict"]["formatters"]["json"]["()"]
    assert formatter == "practika.weblog.JsonFormatter"


def test_gunicorn_starts_with_empty_metrics_files(monkeypatch, tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"stale")
    (folder / "keep.txt").write_text("not ours")
    settings = gunicorn_settings(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(folder))
    settings["on_starting"](None)
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]


# --- nginx template ---------------------------------------------------------------------

render = runpy.run_path(str(BASE_DIR / "deploy" / "render_nginx.py"))  # not a package


def render_nginx(**values: str) -> str:
    return render["render_site"](values)


def nginx_values(tmp_path: Path, **overrides: str) -> dict[str, str]:
    return {
        "LISTEN_PORT": "8080",
        "APP_UPSTREAM": "127.0.0.1:8000",
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "MAX_BODY_MB": str(APP_BODY_MB),
        "SERVER_NAME": "practika.test",
        "CLIENT_ADDRESS": "$binary_remote_addr",
    } | overrides


def test_the_renderer_reads_the_environment_and_names_what_is_missing(tmp_path):
    env = {"PATH": os.environ["PATH"], "LISTEN_PORT": "8080", "MEDIA_ROOT": str(tmp_path)}
    script = str(BASE_DIR / "deploy" / "render_nginx.py")
    missing = subprocess.run(
        [sys.executable, script, str(tmp_path / "nginx")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode != 0 and "APP_UPSTREAM" in missing.stderr
    env["APP_UPSTREAM"] = "unix:/run/gunicorn.sock"
    subprocess.run([sys.executable, script, str(tmp_path / "nginx")], env=env, check=True)
    site = (tmp_path / "nginx" / "practika.conf").read_text()
    assert "server unix:/run/gunicorn.sock;" in site
    assert f"alias {BASE_DIR / 'static'}/;" in site and "client_max_body_size 1025m;" in site
    assert "client_body_temp_path" in (tmp_path / "nginx" / "nginx.conf").read_text()


@pytest.mark.parametrize(
    "upstream", ["127.0.0.1:8001 127.0.0.1:8002", "127.0.0.1:8001,127.0.0.1:8002 "]
)
def test_app_upstream_may_name_several_servers(tmp_path, upstream):
    site = render_nginx(**nginx_values(tmp_path, APP_UPSTREAM=upstream))
    servers = re.search(r"upstream practika_app \{(.*?)\}", site, re.DOTALL)[1]
    assert re.findall(r"^\s*server (\S+);$", servers, re.MULTILINE) == [
        "127.0.0.1:8001",
        "127.0.0.1:8002",
    ]


def test_app_upstream_that_names_no_server_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="APP_UPSTREAM names no server"):
        render_nginx(**nginx_values(tmp_path, APP_UPSTREAM=" , "))


def nginx_command(folder: Path) -> list[str]:
    return [str(NGINX), "-p", str(folder), "-e", "stderr", "-c", str(folder / "nginx.conf")]


needs_nginx = pytest.mark.skipif(
    not NGINX.exists(), reason="Debian's nginx is not installed (scripts/bootstrap.sh adds it)"
)


@pytest.mark.parametrize("client", ["$binary_remote_addr", "$practika_forwarded_client"])
@needs_nginx
def test_nginx_accepts_the_rendered_config(tmp_path, client):
    render["write_config"](tmp_path / "nginx", nginx_values(tmp_path, CLIENT_ADDRESS=client))
    result = subprocess.run(
        [*nginx_command(tmp_path / "nginx"), "-t"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def as_compose_passes_it(value: str) -> str:
    """A compose file's value as compose hands it to the container with no variable set:
    ``$$`` is a dollar, ``${NAME:-default}`` its default, any other variable is empty."""
    return re.sub(
        r"\$(?:(\$)|\{\w+(?::-([^}]*))?\}|\w+)",
        lambda match: "$" if match[1] else match[2] or "",
        str(value),
    )


@needs_nginx
def test_compose_nginx_settings_make_a_config_nginx_accepts(tmp_path):
    """The proxy role renders what compose gives it (the renderer's defaults for the rest);
    nginx must take the result as it stands: no setting left unfilled, none folded away."""
    services = load_compose("docker-compose.yml")["services"]
    env = {
        name: as_compose_passes_it(value)
        for name, value in services["nginx"]["environment"].items()
    }
    env["APP_UPSTREAM"] = "127.0.0.1:8000"  # only Docker's network knows the name "web"
    render["write_config"](tmp_path / "nginx", render["settings"](env))
    result = subprocess.run(
        [*nginx_command(tmp_path / "nginx"), "-t"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


class Upstream(http.server.ThreadingHTTPServer):
    """Stands in for gunicorn: echoes what nginx forwarded, hands media to X-Accel-Redirect,
    and notes when a request reached it (before or after its body)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), UpstreamHandler)
        self.arrived = threading.Event()
        self.paths: list[str] = []


class UpstreamHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, format, *args):  # quiet
        pass

    def answer(self) -> None:
        self.server.arrived.set()
        self.server.paths.append(self.path)
        received = len(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        if self.path == "/core/media/video":
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("X-Accel-Redirect", f"{ACCEL_PREFIX}videos/a/720p.mp4")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({"headers": dict(self.headers), "received": received}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = answer


VIDEO = bytes(range(256)) * 40


@pytest.fixture
def start_nginx(tmp_path):
    """Starts nginx with the rendered template in front of Upstream (or several, in turn);
    a 1 MiB body limit."""
    (tmp_path / "static" / "vendor").mkdir(parents=True)
    (tmp_path / "static" / "css").mkdir()
    (tmp_path / "static" / "css" / "app.css").write_text("body { color: black; }\n" * 200)
    (tmp_path / "static" / "vendor" / "htmx-2.0.11.min.js").write_text("var htmx;\n")
    video = tmp_path / "media" / "videos" / "a" / "720p.mp4"
    video.parent.mkdir(parents=True)
    video.write_bytes(VIDEO)
    upstreams, servers = [], []

    def start(upstream_count: int = 1, **overrides: str) -> dict:
        for _ in range(upstream_count):
            upstreams.append(Upstream())
            threading.Thread(target=upstreams[-1].serve_forever, args=(0.05,), daemon=True).start()
        addresses = [f"127.0.0.1:{upstream.server_address[1]}" for upstream in upstreams]
        port = free_port()
        values = nginx_values(
            tmp_path,
            LISTEN_PORT=str(port),
            APP_UPSTREAM=", ".join(addresses),
            MAX_BODY_MB="1",
            **overrides,
        )
        render["write_config"](tmp_path / "nginx", values)
        server = subprocess.Popen(
            [*nginx_command(tmp_path / "nginx"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        servers.append(server)
        wait_for(lambda: _listening(port) or server.poll() is not None, timeout=10, what="nginx")
        assert server.poll() is None, server.stderr.read().decode()
        return {"port": port, "upstream": upstreams[0], "upstreams": upstreams}

    try:
        yield start
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
        for upstream in upstreams:
            upstream.shutdown()
            upstream.server_close()


@pytest.fixture
def nginx_site(start_nginx):
    return start_nginx()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def get(port: int, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@needs_nginx
def test_nginx_takes_several_app_servers_in_turn(start_nginx):
    """Round robin without stickiness, one turn shared by nginx's workers: requests on new
    connections, and on one kept alive, go to each server in turn."""
    site = start_nginx(upstream_count=2)
    port, upstreams = site["port"], site["upstreams"]
    for i in range(6):
        assert get(port, f"/exercises/{i}")[0] == 200
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for i in range(6, 10):
        connection.request("GET", f"/exercises/{i}")
        assert connection.getresponse().read()
    connection.close()
    served_by = [
        next(n for n, upstream in enumerate(upstreams) if f"/exercises/{i}" in upstream.paths)
        for i in range(10)
    ]
    assert served_by in ([0, 1] * 5, [1, 0] * 5)


@needs_nginx
def test_nginx_serves_static_files_with_their_cache_lifetimes(nginx_site):
    port = nginx_site["port"]
    status, headers, _ = get(port, "/static/vendor/htmx-2.0.11.min.js")
    assert status == 200
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, _ = get(port, "/static/css/app.css", **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Cache-Control"] == "public, max-age=3600"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Encoding"] == "gzip" and headers["Vary"] == "Accept-Encoding"
    assert headers["Server"] == "nginx"  # no version
    assert not nginx_site["upstream"].arrived.is_set()  # from disk, not the app


@needs_nginx
def test_nginx_sends_media_the_app_allowed_with_ranges_and_only_then(nginx_site):
    port = nginx_site["port"]
    assert get(port, f"{ACCEL_PREFIX}videos/a/720p.mp4")[0] == 404
    status, headers, body = get(port, "/core/media/video", Range="bytes=100-199")
    assert status == 206
    assert headers["Content-Range"] == f"bytes 100-199/{len(VIDEO)}"
    assert headers["Content-Type"] == "video/mp4"
    assert body == VIDEO[100:200]
    # It was behind a permission check: no shared cache may keep it.
    assert headers["Cache-Control"] == "private, max-age=3600"
    assert headers["X-Content-Type-Options"] == "nosniff"


@needs_nginx
def test_nginx_forwards_client_proxy_and_request_id_headers(nginx_site):
    port = nginx_site["port"]
    plain = json.loads(get(port, "/exercises/")[2])["headers"]
    assert plain["X-Forwarded-For"] == "127.0.0.1"
    assert plain["X-Forwarded-Proto"] == "http"
    assert plain["Host"] == f"127.0.0.1:{port}"  # the port kept, for the app's own URLs
    assert re.fullmatch(r"[0-9a-f]{32}", plain["X-Request-ID"])  # nginx made one
    alb = {"X-Forwarded-Proto": "https", "X-Request-ID": "alb-1234abcd"}
    behind_alb = json.loads(get(port, "/exercises/", **alb)[2])["headers"]
    assert behind_alb["X-Forwarded-Proto"] == "https, http"  # PROXY_HOPS=2 reads the first
    assert behind_alb["X-Request-ID"] == "alb-1234abcd"


def send(port: int, method: str, path: str, length: int, parts=(), pause=None):
    """A request whose body is sent in parts, with a pause after the first."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest(method, path)
    connection.putheader("Content-Length", str(length))
    connection.putheader("Content-Type", "application/offset+octet-stream")
    connection.endheaders()
    for i, part in enumerate(parts):
        connection.send(part)
        if pause and i == 0:
            pause()
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


@needs_nginx
def test_nginx_refuses_bodies_over_the_limit_before_reading_them(nginx_site):
    status, _ = send(nginx_site["port"], "POST", "/core/uploads/", 2**20 + 1)
    assert status == 413
    assert not nginx_site["upstream"].arrived.is_set()


@needs_nginx
def test_nginx_passes_a_body_of_exactly_the_limit(nginx_site):
    status, body = send(nginx_site["port"], "POST", "/core/uploads/", 2**20, [b"x" * 2**20])
    assert status == 200 and json.loads(body)["received"] == 2**20


@pytest.mark.parametrize("path", ["/core/uploads/abc", "/api/v1/uploads/abc", "/accounts/login"])
@needs_nginx
def test_nginx_hands_the_app_only_whole_bodies(nginx_site, path):
    """A slow client must never hold a gunicorn thread: the request reaches the app only once
    nginx has its whole body, on every path, uploads included."""
    arrived = nginx_site["upstream"].arrived
    seen_early = []
    status, body = send(
        nginx_site["port"],
        "PATCH",
        path,
        400_000,
        [b"x" * 200_000, b"y" * 200_000],
        pause=lambda: seen_early.append(arrived.wait(1.0)),
    )
    assert seen_early == [False]
    assert status == 200 and json.loads(body)["received"] == 400_000


# The cap is 64 requests in progress per client. On a loaded machine nginx has been seen to
# leave one of 64 stalled requests uncounted for good, so the tests hold a few more: what
# they prove is that one client meets a cap while others are served.
HELD = 64 + 6


def hold(port: int, source: str, count: int, **headers: str) -> list[socket.socket]:
    """`count` requests from `source` whose bodies never finish (as a slow client's)."""
    extra = "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
    held = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
        sock.sendall(
            f"POST /accounts/login HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n"
            f"{extra}\r\nx".encode()
        )
        held.append(sock)
    return held


def status_from(port: int, source: str, **headers: str) -> int:
    """The status nginx answers a GET from `source` with."""
    extra = "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
    with socket.create_connection(
        ("127.0.0.1", port), timeout=10, source_address=(source, 0)
    ) as sock:
        sock.sendall(
            f"GET /exercises/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{extra}\r\n".encode()
        )
        return int(sock.makefile("rb").readline().split()[1])


@needs_nginx
def test_nginx_caps_the_requests_one_address_holds(nginx_site):
    """64 stalled bodies from one address (127.0.0.2: Linux answers all of 127/8) are its
    share; the next request from it is refused, while other addresses are served."""
    port = nginx_site["port"]
    held = hold(port, "127.0.0.2", HELD)
    try:
        wait_for(lambda: status_from(port, "127.0.0.2") == 429, timeout=30, what="the cap")
        assert status_from(port, "127.0.0.1") == 200
    finally:
        for sock in held:
            sock.close()


@needs_nginx
def test_behind_a_load_balancer_the_cap_counts_the_address_it_appended(start_nginx):
    """Every connection comes from the load balancer; the client is the last
    X-Forwarded-For entry, and writing other entries before it does not escape the cap."""
    port = start_nginx(CLIENT_ADDRESS="$practika_forwarded_client")["port"]
    held = [
        sock
        for i in range(HELD)
        for sock in hold(port, "127.0.0.1", 1, X_Forwarded_For=f"10.9.{i}.1, 203.0.113.7")
    ]
    try:
        forwarded = {"X_Forwarded_For": "203.0.113.7"}
        # nginx counts a request once it has read its header: on a loaded machine the 64
        # held ones may take a while to be read, so the wait is long (it ends at the 429).
        wait_for(
            lambda: status_from(port, "127.0.0.1", **forwarded) == 429, timeout=30, what="the cap"
        )
        assert status_from(port, "127.0.0.1", X_Forwarded_For="203.0.113.8") == 200
        assert status_from(port, "127.0.0.1") == 200  # the load balancer's own health check
    finally:
        for sock in held:
            sock.close()
