#!/usr/bin/env bash
# libFuzzer run of the notification decoder + validator (AuditModel sources built with
# `swiftc -sanitize=fuzzer,address`), seeded from the samples. Exits non-zero on a crash,
# a leak, an out-of-memory or a timeout (a hang).
#   scripts/fuzz-decode.sh [seconds]      default 20; run longer on demand, e.g. 600
# Env: FUZZ_JOBS (parallel workers, default 1), FUZZ_SAMPLES (seed file, default ../shared/samples).
# Run it under the build lock like any Swift build: flock /tmp/swift-build.lock scripts/fuzz-decode.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-20}"
out=".build/fuzz"
mkdir -p "$out/corpus" "$out/artifacts"

sources=$(find Sources/AuditModel -name '*.swift' ! -name 'SchemaValidator+Bundle.swift' | sort)
stamp="$out/sources.sha256"
want=$(cat $sources scripts/fuzz/FuzzDecode.swift | sha256sum | cut -d' ' -f1)
if [[ ! -x "$out/fuzz-decode" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name AuditModel -package-name AuditTrail \
    $sources scripts/fuzz/FuzzDecode.swift -o "$out/fuzz-decode" >"$out/build.log" 2>&1 \
    || { cat "$out/build.log" >&2; echo "fuzz-decode: build failed" >&2; exit 1; }
  echo "$want" >"$stamp"
fi

# Seeds: each sample line, its inner message, a log-driver form and a bare event.
samples="${FUZZ_SAMPLES:-$root/../shared/samples/notifications.jsonl}"
[[ -f "$samples" ]] || samples="$root/Tests/AuditModelTests/Fixtures/notifications.jsonl"
n=0
while IFS= read -r line; do
  n=$((n + 1))
  printf '%s' "$line" >"$out/corpus/sample-$n.json"
done <"$samples"
printf '2026-11-22 10:12:02.735 4242 INFO oslo.messaging.notification.audit.http.request [-] {"event_type": "audit.http.request"}' >"$out/corpus/logdriver.txt"
printf '{"typeURI": "x", "eventType": "activity", "id": "1", "eventTime": "2026-11-22T10:12:02+00:00", "action": "read", "outcome": "pending"}' >"$out/corpus/bare.json"

AUDITTRAIL_SCHEMAS="$root/schemas" "$out/fuzz-decode" "$out/corpus" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  ${FUZZ_JOBS:+-jobs=$FUZZ_JOBS -workers=$FUZZ_JOBS} -artifact_prefix="$out/artifacts/" -print_final_stats=1 \
  2>"$out/fuzz.log" || { tail -60 "$out/fuzz.log" >&2; echo "fuzz-decode: FAILED (artifacts in $out/artifacts)" >&2; exit 1; }
grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$out/fuzz.log" | tail -2
echo "fuzz-decode: ${seconds}s without a crash"
