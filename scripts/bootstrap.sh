#!/usr/bin/env bash
# Install what Practika needs and is missing: system packages, the virtualenv, locked deps.
#   scripts/bootstrap.sh run    what `make run` needs (FFmpeg, redis-server, nginx)
#   scripts/bootstrap.sh test   and what the tests need (PostgreSQL server, Chromium)
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

purpose=${1:-run}
say() { printf '\033[1mpractika:\033[0m %s\n' "$*"; }

# --- system packages (Debian names) --------------------------------------------------
declare -A need=([ffmpeg]=ffmpeg [ffprobe]=ffmpeg [redis-server]=redis-server [redis-cli]=redis-tools [curl]=curl)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
# nginx stands in front of gunicorn in make run as in production (scripts/run.sh says why).
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ "$purpose" = test ]; then
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null \
    || missing+=(postgresql)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-dejavu-core)
fi
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    sudo_cmd=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null && command -v apt-get >/dev/null; then
    sudo_cmd=(sudo)
  else
    say "please install these system packages, then run this again: ${missing[*]}"
    say "(on Debian or Ubuntu: sudo apt-get install ${missing[*]})"
    exit 1
  fi
  say "installing system packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# --- Python virtualenv with the locked dependencies ----------------------------------
python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  say "Practika needs Python 3.11 or newer as '$python' (set PYTHON=... to pick another)"
  exit 1
fi
[ -x .venv/bin/python ] || { say "creating .venv"; "$python" -m venv .venv; }

lock=requirements/base.txt
[ "$purpose" = test ] && lock=requirements/dev.txt
stamp=".venv/.installed-$(basename "$lock" .txt)"
digest=$(sha256sum "$lock" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
  say "installing Python dependencies from $lock"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$lock"
  echo "$digest" > "$stamp"
fi
