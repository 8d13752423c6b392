#!/usr/bin/env bash
# Create (or reuse) the Keystone virtualenv at <repo>/.venv-keystone and print its python path
# on stdout. A venv of its own, apart from interop/setup-venv.sh's, so that Keystone's pins never
# fight the interop tools'. Idempotent and quiet: rebuilt only when
# interop/keystone-requirements.txt changed (its SHA-256 is stored in the venv) or the venv is
# broken. Needs python3 >= 3.10 with venv, and PyPI (about a minute the first time).
#   PY=$(interop/setup-keystone-venv.sh) && "$PY" interop/keystone_server.py DIR
# Env: PYTHON (interpreter to build the venv with, default python3),
#      AUDITTRAIL_KEYSTONE_VENV (venv path, default <repo>/.venv-keystone).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="${AUDITTRAIL_KEYSTONE_VENV:-$root/.venv-keystone}"
req="$here/keystone-requirements.txt"
stamp="$venv/.requirements.sha256"
py="$venv/bin/python"
want="$( (sha256sum "$req" 2>/dev/null || shasum -a 256 "$req") | cut -d' ' -f1)"

# Tests may call this concurrently: one builds the venv, the others wait for it.
exec 9>"$venv.lock"
flock 9

check='import keystone.server.wsgi, keystone.cmd.manage'
if [[ -x "$py" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && "$py" -c "$check" >/dev/null 2>&1; then
  echo "$py"
  exit 0
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
attempt() {
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
  "$py" -m pip install --quiet --disable-pip-version-check --no-input --retries 5 --timeout 60 -r "$req"
  "$py" -c "$check"
}
# One retry: a registry hiccup should not fail a CI run.
{ attempt || { sleep 5; attempt; }; } >"$log" 2>&1 \
  || { echo "setup-keystone-venv.sh: failed to build $venv:" >&2; cat "$log" >&2; exit 1; }
echo "$want" >"$stamp"
echo "$py"
