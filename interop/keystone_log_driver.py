"""Write an oslo log-driver file with the real producers: keystonemiddleware + oslo.messaging's `log` driver.

Usage: keystone_log_driver.py OUT CALLS [SEED]
Drives keystonemiddleware's AuditMiddleware (same services, audit maps and request mix as
gen_corpus.py) with notification driver `log`, whose notifications go through Python logging;
a handler formats them as oslo.log does (`<date> <time>.<ms> <pid> INFO <logger> [<context>] <json>`)
into OUT, between the service's own log lines (one per request, as an API server logs them).
Prints one JSON object: calls, lines, and the CADF ids logged as requests and responses.
"""
import json
import logging
import random
import sys
import warnings

import gen_corpus


def main():
    out, calls = sys.argv[1], int(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20261123
    warnings.simplefilter("ignore")
    clock = gen_corpus.install_determinism(seed)
    rng = random.Random(seed)

    logged = []
    lines = [0]

    class OsloFormat(logging.Formatter):
        """oslo.log's default line; the context is `[-]` or a request's ids."""
        def format(self, record):
            lines[0] += 1
            if record.name.startswith("oslo.messaging.notification."):
                message = json.loads(record.getMessage())
                logged.append((message["event_type"], message["payload"]["id"]))
                context = "[-]" if rng.random() < 0.5 else "[req-%s %s %s - default default]" % (
                    gen_corpus.uid(rng), gen_corpus.hexid(rng), gen_corpus.hexid(rng))
            else:
                context = "[-]"
            stamp = self.formatTime(record, "%Y-%m-%d %H:%M:%S")
            return "%s.%03d %d %s %s %s %s" % (stamp, record.msecs, 4242, record.levelname, record.name,
                                               context, record.getMessage())

    handler = logging.FileHandler(out, mode="w", encoding="utf-8")
    handler.setFormatter(OsloFormat())
    notifications = logging.getLogger("oslo.messaging.notification")
    notifications.addHandler(handler)
    notifications.setLevel(logging.INFO)
    notifications.propagate = False
    service = logging.getLogger("nova.api.openstack.requestlog")
    service.addHandler(handler)
    service.setLevel(logging.INFO)
    service.propagate = False

    # One service log line per request, as an API server writes beside the notifications.
    import webob.request
    original = webob.request.BaseRequest.get_response

    def get_response(self, *args, **kwargs):
        service.info('%s "%s %s" status: 200 len: 2 microversion: 2.1 time: 0.01' % (
            self.remote_addr, self.method, self.path_qs))
        return original(self, *args, **kwargs)

    webob.request.BaseRequest.get_response = get_response
    _, stats = gen_corpus.capture_keystonemiddleware(rng, clock, calls, driver="log")
    handler.close()
    print(json.dumps({"calls": stats["calls"], "lines": lines[0],
                      "requests": sorted(i for t, i in logged if t == "audit.http.request"),
                      "responses": sorted(i for t, i in logged if t == "audit.http.response")}))


if __name__ == "__main__":
    main()
