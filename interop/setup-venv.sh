#!/usr/bin/env bash
# Create (or reuse) the interop virtualenv at <repo>/.venv-interop and print
# its python path on stdout. Idempotent and quiet: the venv is rebuilt only
# when interop/requirements.txt changed (its SHA-256 is stored in the venv) or
# the venv is broken. Needs python3 >= 3.10 with venv, and PyPI.
#   PY=$(interop/setup-venv.sh) && "$PY" interop/gen_corpus.py /tmp/corpus
# Env: PYTHON (interpreter to build the venv with, default python3),
#      AUDITTRAIL_INTEROP_VENV (venv path, default <repo>/.venv-interop).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="${AUDITTRAIL_INTEROP_VENV:-$root/.venv-interop}"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
py="$venv/bin/python"
want="$( (sha256sum "$req" 2>/dev/null || shasum -a 256 "$req") | cut -d' ' -f1)"

# Tests call this concurrently: one builds the venv, the others wait for it.
exec 9>"$venv.lock"
flock 9

if [[ -x "$py" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
   && "$py" -c 'import pycadf, keystonemiddleware.audit, oslo_messaging, jsonschema, referencing, confluent_kafka, moto.server' >/dev/null 2>&1; then
  echo "$py"
  exit 0
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
{
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
  "$py" -m pip install --quiet --disable-pip-version-check --no-input -r "$req"
  "$py" -c 'import pycadf, keystonemiddleware.audit, oslo_messaging, jsonschema, referencing, confluent_kafka, moto.server'
} >"$log" 2>&1 || { echo "setup-venv.sh: failed to build $venv:" >&2; cat "$log" >&2; exit 1; }
echo "$want" >"$stamp"
echo "$py"
