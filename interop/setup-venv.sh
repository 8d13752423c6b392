#!/usr/bin/env bash
# Create (or reuse) one of the project's Python virtualenvs and print its entry point on stdout.
# Each has its own pins, so that none moves another's:
#   interop (default)  .venv-interop       requirements.txt               python: pycadf,
#                      keystonemiddleware, oslo.messaging, jsonschema, confluent-kafka, moto
#   keystone           .venv-keystone      keystone-requirements.txt      python: Keystone
#   schemathesis       .venv-schemathesis  schemathesis-requirements.txt  the schemathesis CLI
# Idempotent and quiet: a venv is rebuilt only when its requirements file changed (its SHA-256 is
# stored in the venv) or the venv is broken. Needs python3 >= 3.10 with venv, and PyPI (a minute
# or so the first time).
#   PY=$(interop/setup-venv.sh) && "$PY" interop/gen_corpus.py /tmp/corpus
#   PY=$(interop/setup-venv.sh keystone) && "$PY" interop/keystone_server.py DIR
#   ST=$(interop/setup-venv.sh schemathesis) && "$ST" run http://127.0.0.1:8080/openapi.json
# Env: PYTHON (interpreter to build the venv with, default python3); AUDITTRAIL_INTEROP_VENV,
#      AUDITTRAIL_KEYSTONE_VENV, AUDITTRAIL_SCHEMATHESIS_VENV (venv paths).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
name="${1:-interop}"
case "$name" in
  interop)
    venv="${AUDITTRAIL_INTEROP_VENV:-$root/.venv-interop}"
    req="$here/requirements.txt"
    entry="$venv/bin/python"
    check=("$entry" -c 'import pycadf, keystonemiddleware.audit, oslo_messaging, jsonschema, referencing, confluent_kafka, moto.server')
    ;;
  keystone)
    venv="${AUDITTRAIL_KEYSTONE_VENV:-$root/.venv-keystone}"
    req="$here/keystone-requirements.txt"
    entry="$venv/bin/python"
    check=("$entry" -c 'import keystone.server.wsgi, keystone.cmd.manage')
    ;;
  schemathesis)
    venv="${AUDITTRAIL_SCHEMATHESIS_VENV:-$root/.venv-schemathesis}"
    req="$here/schemathesis-requirements.txt"
    entry="$venv/bin/schemathesis"
    check=("$entry" --version)
    ;;
  *)
    echo "setup-venv.sh: unknown venv '$name' (interop, keystone or schemathesis)" >&2
    exit 2
    ;;
esac
stamp="$venv/.requirements.sha256"
want="$( (sha256sum "$req" 2>/dev/null || shasum -a 256 "$req") | cut -d' ' -f1)"

# Tests call this concurrently: one builds the venv, the others wait for it.
exec 9>"$venv.lock"
flock 9

if [[ -x "$entry" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && "${check[@]}" >/dev/null 2>&1; then
  echo "$entry"
  exit 0
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
attempt() {
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --retries 5 --timeout 60 -r "$req"
  "${check[@]}"
}
# One retry: a registry hiccup should not fail a CI run.
{ attempt || { sleep 5; attempt; }; } >"$log" 2>&1 \
  || { echo "setup-venv.sh: failed to build $venv:" >&2; cat "$log" >&2; exit 1; }
echo "$want" >"$stamp"
echo "$entry"
