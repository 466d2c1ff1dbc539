#!/usr/bin/env bash
# Check the container files without building or running anything:
#   - hadolint on the Dockerfile: must pass with nothing reported; a rule that does not fit is
#     ignored inline in the Dockerfile (`# hadolint ignore=DLxxxx`) with its reason beside it;
#   - checkov's Dockerfile checks, offline;
#   - `docker compose config` on docker-compose.yml, alone and with docker-compose.prod.yml,
#     when the docker CLI has its compose plugin (it needs no engine); skipped, saying so,
#     where it has not.
# The checkers live in .venv-checks/ (requirements/checks.txt), kept out of the app's .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1mcheck-docker:\033[0m %s\n' "$*"; }

# --- the checkers' virtualenv (the same steps as scripts/check_terraform.sh) ------------
python=${PYTHON:-python3}
[ -x .venv-checks/bin/python ] || { say "creating .venv-checks"; "$python" -m venv .venv-checks; }
stamp=.venv-checks/.installed-checks
digest=$(sha256sum requirements/checks.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
  say "installing the checkers from requirements/checks.txt"
  .venv-checks/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/checks.txt
  echo "$digest" > "$stamp"
fi

# --- Dockerfile -------------------------------------------------------------------------
say "hadolint Dockerfile"
.venv-checks/bin/hadolint Dockerfile

say "checkov (Dockerfile checks)"
# Offline: no platform account, no guideline download.
BC_SKIP_MAPPING=TRUE .venv-checks/bin/checkov --quiet --compact --skip-download \
  --framework dockerfile -f Dockerfile

# --- compose files ----------------------------------------------------------------------
# An empty --env-file: a developer's .env must not change what is checked.
no_env=$(mktemp)
trap 'rm -f "$no_env"' EXIT
compose() { docker compose --env-file "$no_env" "$@"; }
if ! docker compose version >/dev/null 2>&1; then
  say "skipped docker compose config: the docker CLI here has no compose plugin" \
    "(\`docker compose version\` fails); tests/test_deploy_files.py still checks the files"
else
  say "docker compose config (development)"
  compose -f docker-compose.yml config -q
  say "docker compose config (with the production overrides)"
  # Placeholders for what production requires: the file refuses to render without them.
  PRACTIKA_IMAGE=registry.example/practika:check SECRET_KEY=check POSTGRES_PASSWORD=check \
    DATABASE_URL=postgresql://practika:check@postgres:5432/practika \
    STORAGE_URL=s3://practika-media/media MAIL_FROM="Practika <no-reply@practika.example>" \
    BASE_URL=https://practika.example \
    compose -f docker-compose.yml -f docker-compose.prod.yml config -q
  if env -u SECRET_KEY PRACTIKA_IMAGE=x \
    compose -f docker-compose.yml -f docker-compose.prod.yml config -q >/dev/null 2>&1; then
    say "docker-compose.prod.yml rendered without SECRET_KEY and the other secrets: it must not"
    exit 1
  fi
fi
say "ok"
