"""Check notifications made by AuditTrail's client against the real OpenStack tools.

Usage: check_events.py FILE
FILE holds one Kafka record value per line (oslo 2.0 envelopes). For each line this prints a
JSON object: the notification's verdict by python-jsonschema on schemas/, and whether pycadf
accepts its payload (pycadf's own is_valid() on the event rebuilt from the dict). Exits 0 only
when every line passes both.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_corpus import load_validators, pycadf_verdict, verdict  # noqa: E402


def main():
    validators = load_validators()
    ok = True
    with open(sys.argv[1], "rb") as fh:
        for number, line in enumerate(fh, 1):
            line = line.rstrip(b"\n")
            envelope = json.loads(line)
            inner = envelope["oslo.message"].encode()
            valid, reason, keyword, _ = verdict(validators, "notification", inner)
            payload = json.loads(inner)["payload"]
            accepted = bool(pycadf_verdict(payload))
            ok = ok and valid and accepted
            print(json.dumps({"line": number, "schema": valid, "reason": reason, "keyword": keyword,
                              "pycadf": accepted, "id": payload.get("id")}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
