#!/usr/bin/env bash
# Check terraform/ without touching the network or the tree:
#   1. terraform fmt -check -recursive terraform/
#   2. terraform init (from a local provider mirror only), terraform validate and terraform
#      test (mocked AWS provider), on a copy of terraform/ in a temporary folder, so no
#      .terraform/ or lock file is left behind
#   3. checkov on terraform/ with all its frameworks (the Terraform checks, and the secrets
#      scan of every file, the tests included), from its own virtualenv .venv-checks/
#      (requirements/checks.txt)
# Steps 1-2 print "skipped: <reason>" and go on when Terraform or the AWS provider mirror is
# not on this machine; checkov always runs, and any failed check fails the script. Checks we
# accept are skipped in the code, next to the resource (or the line, for a secret), with their
# reason.
#
# Where the provider is looked for: $TF_PLUGIN_DIR, then /opt/tf-plugins, then the usual
# implied mirror folders (~/.terraform.d/plugins, ~/.local/share/terraform/plugins,
# /usr/local/share/terraform/plugins, /usr/share/terraform/plugins).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1mcheck-terraform:\033[0m %s\n' "$*"; }
started=$SECONDS
skipped=()
step_started=$SECONDS
step_done() { say "$1 ($((SECONDS - step_started)) s)"; step_started=$SECONDS; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Terraform must never reach out: no version checkpoint, no registry, no user CLI config.
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
export TF_CLI_CONFIG_FILE="$tmp/terraformrc"
: > "$TF_CLI_CONFIG_FILE"

# --- find Terraform and the AWS provider mirror -------------------------------------------
terraform_bin=$(command -v terraform || true)
plugin_dir=""
if [ -n "$terraform_bin" ]; then
  platform=$("$terraform_bin" version -json | sed -n 's/.*"platform": *"\([^"]*\)".*/\1/p')
  candidates=(/opt/tf-plugins "$HOME/.terraform.d/plugins" "$HOME/.local/share/terraform/plugins"
    /usr/local/share/terraform/plugins /usr/share/terraform/plugins)
  [ -z "${TF_PLUGIN_DIR:-}" ] || candidates=("$TF_PLUGIN_DIR" "${candidates[@]}")
  for dir in "${candidates[@]}"; do
    aws="$dir/registry.terraform.io/hashicorp/aws"
    # unpacked (<version>/<platform>/terraform-provider-aws_*) or packed (*.zip) layout
    if compgen -G "$aws/*/$platform/terraform-provider-aws_*" >/dev/null \
      || compgen -G "$aws/terraform-provider-aws_*_$platform.zip" >/dev/null; then
      plugin_dir=$dir
      break
    fi
  done
fi

# --- 1. fmt --------------------------------------------------------------------------------
if [ -z "$terraform_bin" ]; then
  say "terraform fmt: skipped: terraform is not installed (not on PATH)"
  skipped+=(fmt)
else
  say "terraform fmt -check ($("$terraform_bin" version | head -n1), $terraform_bin)"
  if ! "$terraform_bin" fmt -check -recursive -diff terraform/; then
    say "terraform fmt: FAILED (run: terraform fmt -recursive terraform/)"
    exit 1
  fi
  step_done "terraform fmt: ok"
fi

# --- 2. init + validate ------------------------------------------------------------------------
if [ -z "$terraform_bin" ]; then
  say "terraform validate and test: skipped: terraform is not installed (not on PATH)"
  skipped+=(validate test)
elif [ -z "$plugin_dir" ]; then
  say "terraform validate and test: skipped: no local mirror of registry.terraform.io/hashicorp/aws" \
    "for $platform (looked in \$TF_PLUGIN_DIR, /opt/tf-plugins and the implied mirror folders)"
  skipped+=(validate test)
else
  versions=$(cd "$plugin_dir/registry.terraform.io/hashicorp/aws" && ls | paste -sd' ')
  say "terraform validate (AWS provider from $plugin_dir: $versions)"
  # A copy, so that init's lock file and TF_DATA_DIR stay in the temporary folder.
  mkdir "$tmp/config"
  tar -C terraform --exclude=.terraform --exclude=.terraform.lock.hcl --exclude='*.tfstate*' \
    --exclude=terraform.tfvars -cf - . | tar -C "$tmp/config" -xf -
  export TF_DATA_DIR="$tmp/data"
  if ! init_log=$("$terraform_bin" -chdir="$tmp/config" init -backend=false -input=false \
    -no-color -plugin-dir="$plugin_dir" 2>&1); then
    printf '%s\n' "$init_log"
    say "terraform init: FAILED (does the mirror hold the version versions.tf asks for?)"
    exit 1
  fi
  "$terraform_bin" -chdir="$tmp/config" validate -no-color
  step_done "terraform validate: ok"

  # terraform test plans and "applies" the whole configuration against a mocked AWS provider
  # (terraform/tests/*.tftest.hcl): no credentials, no network, and the assertions check the
  # names, commands and settings the app and the deploy workflow rely on. Mock providers
  # cannot mock ephemeral resources yet (Terraform 1.11), so in the copy the ephemeral
  # password generators become the equivalent data source first.
  say "terraform test (mocked AWS provider)"
  sed -i -e 's/^ephemeral "aws_secretsmanager_random_password"/data "aws_secretsmanager_random_password"/' \
    -e 's/ephemeral\.aws_secretsmanager_random_password\./data.aws_secretsmanager_random_password./g' \
    "$tmp/config"/*.tf
  "$terraform_bin" -chdir="$tmp/config" test -no-color
  step_done "terraform test: ok"
fi

# --- 3. checkov ----------------------------------------------------------------------------
venv=.venv-checks
lock=requirements/checks.txt
if [ ! -x "$venv/bin/python" ]; then
  say "creating $venv"
  python3 -m venv "$venv"
fi
stamp="$venv/.installed-$(basename "$lock" .txt)"
digest=$(sha256sum "$lock" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
  say "installing the check tools from $lock into $venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$lock"
  echo "$digest" > "$stamp"
fi

say "checkov $("$venv/bin/checkov" --version) on terraform/"
# No network: no Bridgecrew/Prisma mapping or policy download, no update check.
export BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=TRUE
if ! "$venv/bin/checkov" --quiet --compact -d terraform \
  --skip-download --download-external-modules false; then
  say "checkov: FAILED: fix the resource, or skip the check next to it with" \
    "#checkov:skip=CKV_...:<the reason>"
  exit 1
fi
step_done "checkov: ok"

if [ ${#skipped[@]} -gt 0 ]; then
  say "Terraform checks passed in $((SECONDS - started)) s, except what was skipped: ${skipped[*]}"
else
  say "all Terraform checks passed in $((SECONDS - started)) s"
fi
