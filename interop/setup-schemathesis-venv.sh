#!/usr/bin/env bash
# Create (or reuse) the schemathesis virtualenv at <repo>/.venv-schemathesis and
# print its schemathesis path on stdout. Idempotent and quiet: the venv is
# rebuilt only when interop/schemathesis-requirements.txt changed (its SHA-256
# is stored in the venv) or the venv is broken. Apart from .venv-interop so
# neither set of pins moves the other. Needs python3 >= 3.10 with venv, and PyPI.
#   ST=$(interop/setup-schemathesis-venv.sh) && "$ST" run http://127.0.0.1:8080/openapi.json
# Env: PYTHON (interpreter to build the venv with, default python3),
#      AUDITTRAIL_SCHEMATHESIS_VENV (venv path, default <repo>/.venv-schemathesis).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="${AUDITTRAIL_SCHEMATHESIS_VENV:-$root/.venv-schemathesis}"
req="$here/schemathesis-requirements.txt"
stamp="$venv/.requirements.sha256"
py="$venv/bin/python"
bin="$venv/bin/schemathesis"
want="$( (sha256sum "$req" 2>/dev/null || shasum -a 256 "$req") | cut -d' ' -f1)"

# Tests may call this concurrently: one builds the venv, the others wait for it.
exec 9>"$venv.lock"
flock 9

if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && "$bin" --version >/dev/null 2>&1; then
  echo "$bin"
  exit 0
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
{
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
  "$py" -m pip install --quiet --disable-pip-version-check --no-input -r "$req"
  "$bin" --version
} >"$log" 2>&1 || { echo "setup-schemathesis-venv.sh: failed to build $venv:" >&2; cat "$log" >&2; exit 1; }
echo "$want" >"$stamp"
echo "$bin"
