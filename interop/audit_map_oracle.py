"""keystonemiddleware's own answer for an audit map: action and target typeURI per call.

Usage: audit_map_oracle.py MAPFILE CASES
CASES: JSON lines {"method", "path", "serviceType", "bodyFirstKey"?}. Prints, per case, JSON
{"action", "typeURI"} computed by keystonemiddleware.audit's OpenStackAuditApi.
"""
import json
import sys

from keystonemiddleware.audit import _api


class Request:
    def __init__(self, method, path, body_key):
        self.method = method
        self.path = path
        self._body_key = body_key

    @property
    def json(self):
        if self._body_key is None:
            raise ValueError("no body")
        return {self._body_key: {}}


def main():
    api = _api.OpenStackAuditApi(sys.argv[1])
    with open(sys.argv[2]) as fh:
        for line in fh:
            case = json.loads(line)
            req = Request(case["method"], case["path"], case.get("bodyFirstKey"))
            mapped = api._MAP.service_endpoints.get(case["serviceType"], "unknown")
            type_uri = api._build_typeURI(req, mapped) if mapped != "unknown" else "unknown"
            print(json.dumps({"action": api.get_action(req), "typeURI": type_uri}))


if __name__ == "__main__":
    main()
