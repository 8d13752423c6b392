#!/usr/bin/env bash
# The long crash run: a worker process killed with SIGKILL at random moments, restarted each
# time, while a stream of unkeyed notifications goes through it (embedded broker); then the
# store alone must show every notification exactly once and verify clean. The suite runs the
# same test with 10 kills over 100k notifications; this runs it at scale with a release worker.
#   scripts/crash-run.sh [calls] [kills] [seed]     default 500000 calls (1M notifications), 100 kills
# Prints the test's own report lines (kills, notifications, redeliveries recognised) and its verdict.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
calls="${1:-500000}"
kills="${2:-100}"
seed="${3:-$RANDOM}"
swift build -c release --product audit-trail
swift build --build-tests
start=$(date +%s)
set +e
AUDIT_TRAIL_BIN="$root/.build/release/audit-trail" AUDIT_CRASH_CALLS="$calls" AUDIT_CRASH_KILLS="$kills" AUDIT_CRASH_SEED="$seed" \
  swift test --skip-build --filter CrashRecoveryTests 2>&1 | grep -E '^crash run:|^✔ Test|^✘|Expectation failed|Caught error'
status=${PIPESTATUS[0]}
set -e
echo "crash run: $calls calls, $kills kills, seed $seed: $([[ $status == 0 ]] && echo PASSED || echo FAILED) in $(( $(date +%s) - start )) s"
exit "$status"
