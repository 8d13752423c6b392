#!/usr/bin/env python3
"""Differential corpus for AuditTrail's decoder and CADF validator.

Usage:  PY=$(interop/setup-venv.sh) && "$PY" interop/gen_corpus.py OUTDIR [--seed N]

Writes to OUTDIR (created):
  corpus.jsonl     one line per case:
                   {"b64": base64 of the raw bytes, "kind": "event"|"notification",
                    "valid": bool, "reason": str|null,
                    "source": where the base document came from, "mutation": label|null,
                    "keyword": failing schema keyword|null, "pycadf": bool|null}
                   kind "event": bytes of a bare CADF event (cadf-event.schema.json);
                   kind "notification": bytes of an oslo inner message (notification.schema.json).
  envelopes.jsonl  every notification captured from the real producers, one Kafka
                   message value per line, exactly as oslo.messaging's Kafka driver
                   serialises it (oslo 2.0 envelope; same format as shared/samples/notifications.jsonl)
  logdriver.log    the same notifications as oslo.messaging's `log` notification driver
                   writes them (`<date> <pid> INFO oslo.messaging.notification.<event_type> [-] {json}`)
  summary.json     counts, timings and pycadf/schema disagreements

`valid` is python-jsonschema's verdict (Draft202012Validator, referencing Registry
holding both files of schemas/), after these byte-level rules, checked in this order
(see schemas/README.md; the corpus has one defect per document, so the order only
matters for documents with several defects):
  1. bytes must be strict UTF-8 (no BOM, no surrogates, no overlongs)      else reason "notJSON"
  2. container nesting depth <= MAX_DEPTH (512; top-level container = 1)    else reason "tooDeep"
     (the corpus only has depths <= 200 or >= 1000, never near the limit)
  3. one RFC 8259 JSON text (no NaN/Infinity, surrounding whitespace ok)    else reason "notJSON"
  4. no string holding an unpaired UTF-16 surrogate escape (e.g. "\\ud800") else reason "notJSON"
  5. no object with two members of the same name (after unescaping)       else reason "duplicateKey"
     Python's json keeps the last duplicate silently; audit evidence whose fields are
     ambiguous (two readers may see two different values) is not safe to accept, so
     the corpus marks such documents invalid and the worker must quarantine them.
  6. schema verdict; reason = JSON Pointer of the instance location of
     jsonschema.exceptions.best_match (e.g. "/payload/eventTime", "" = root);
     informational only: compare `valid` strictly, reasons loosely.
`pycadf` is pycadf 4.1.0's own verdict for kind "event" documents that parse
(rules 1-4; duplicate keys resolved last-wins as pycadf's json would): the dict is
loaded into pycadf objects through their validating attribute descriptors and
is_valid() is called at every level (see load_event below). null when not applicable.
"""

import argparse
import base64
import copy
import datetime
import hashlib
import io
import json
import logging
import os
import random
import re
import sys
import tempfile
import time
import types
import uuid
import warnings
from pathlib import Path

MAX_DEPTH = 512
HERE = Path(__file__).resolve().parent
SCHEMAS = HERE.parent / "schemas"

# ---------------------------------------------------------------------------
# Determinism: seeded uuid4 and a simulated clock, patched in before the
# OpenStack libraries generate anything (pycadf ids are uuid5(ns, uuid4())).
# ---------------------------------------------------------------------------


class Clock:
    def __init__(self, rng, start):
        self.rng = rng
        self.now = start

    def tick(self, lo=50, hi=900):
        self.now += datetime.timedelta(microseconds=self.rng.randint(lo, hi))
        return self.now

    def jump(self):
        self.now += datetime.timedelta(milliseconds=self.rng.randint(5, 4000))


def install_determinism(seed):
    rng = random.Random(seed ^ 0x5EED)
    uuid.uuid4 = lambda: uuid.UUID(int=rng.getrandbits(128), version=4)
    clock = Clock(random.Random(seed ^ 0xC10C),
                  datetime.datetime(2026, 11, 22, 10, 12, 2, 734485, tzinfo=datetime.timezone.utc))

    import pycadf.timestamp as pts
    from oslo_utils import timeutils

    class _DT(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            t = clock.tick()
            return t if tz is not None else t.replace(tzinfo=None)

    pts.datetime = types.SimpleNamespace(datetime=_DT, UTC=datetime.timezone.utc)

    def utcnow(with_timezone=False):
        if clock.rng.random() < 0.03:     # land on a whole second: str() then has no fraction
            clock.now = clock.now.replace(microsecond=0) + datetime.timedelta(seconds=1)
            t = clock.now
        else:
            t = clock.tick()
        return t if with_timezone else t.replace(tzinfo=None)

    timeutils.utcnow = utcnow
    return clock


# ---------------------------------------------------------------------------
# Audit maps (api_audit_map.conf) for the four services, after pycadf's
# etc/pycadf/{nova,ironic,glance}_api_audit_map.conf plus custom actions.
# ---------------------------------------------------------------------------

AUDIT_MAPS = {
    "compute": """
[DEFAULT]
target_endpoint_type = None
[custom_actions]
enable = enable
disable = disable
delete = delete
startup = start/startup
shutdown = stop/shutdown
reboot = start/reboot
os-migrations/get = read
os-server-password/post = update
[path_keywords]
add = None
action = None
enable = None
disable = None
defaults = None
delete = None
detail = None
diagnostics = None
extensions = alias
flavors = flavor
images = image
ips = label
limits = None
metadata = key
os-aggregates = os-aggregate
os-availability-zone = None
os-hypervisors = hypervisor
os-instance-actions = instance-action
os-keypairs = keypair
os-migrations = None
os-quota-sets = tenant
os-server-password = None
os-services = None
os-volume_attachments = attachment
servers = server
[service_endpoints]
compute = service/compute
""",
    "baremetal": """
[DEFAULT]
target_endpoint_type = None
[custom_actions]
power/put = update/power
provision/put = update/provision
maintenance/put = update/maintenance
maintenance/delete = update/maintenance
validate/get = read/validate
[path_keywords]
nodes = node
drivers = driver
chassis = chassis
ports = port
states = state
power = None
provision = None
maintenance = None
validate = None
boot_device = None
supported = None
console = None
detail = None
vendor_passthrus = vendor_passthru
[service_endpoints]
baremetal = service/compute/baremetal
""",
    "identity": """
[DEFAULT]
target_endpoint_type = identity
[custom_actions]
tokens/post = authenticate
tokens/get = read/token
tokens/head = read/token
tokens/delete = delete/token
password/post = update/password
[path_keywords]
auth = None
tokens = None
users = user
projects = project
roles = role
groups = group
domains = domain
role_assignments = None
password = None
credentials = credential
[service_endpoints]
identity = service/identity
""",
    "image": """
[DEFAULT]
target_endpoint_type = None
[custom_actions]
file/get = read/download
file/put = update/upload
import/post = update/import
[path_keywords]
detail = None
file = None
images = image
members = member
tags = tag
import = None
[service_endpoints]
image = service/storage/image
""",
}

SERVICES = {
    # type: (publisher (argv[0]), catalog name, internal host, public host, version prefix)
    "compute": ("nova-api-wsgi", "nova", "nova.internal.cloud.example:8774", "compute.cloud.example:8774", "/v2.1"),
    "baremetal": ("ironic-api-wsgi", "ironic", "ironic.internal.cloud.example:6385", "baremetal.cloud.example:6385", ""),
    "identity": ("keystone-wsgi-public", "keystone", "keystone.internal.cloud.example:5000", "identity.cloud.example:5000", "/v3"),
    "image": ("glance-api", "glance", "glance.internal.cloud.example:9292", "image.cloud.example:9292", ""),
}


def hexid(rng, n=32):
    return "%0*x" % (n, rng.getrandbits(4 * n))


def uid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def catalog(rng):
    cat = []
    for stype, (_, name, internal, public, ver) in SERVICES.items():
        ep = {"id": hexid(rng), "region": "RegionOne",
              "adminURL": "http://%s%s" % (internal, ver),
              "internalURL": "http://%s%s" % (internal, ver),
              "publicURL": "https://%s%s" % (public, ver)}
        cat.append({"endpoints_links": [], "endpoints": [ep], "type": stype, "name": name})
    return cat


def request_plan(rng, stype):
    """(method, path, json body or None) for a service, with ids filled in."""
    u = lambda: uid(rng)
    if stype == "compute":
        s = u()
        return rng.choice([
            ("GET", "/v2.1/servers", None), ("GET", "/v2.1/servers/detail", None),
            ("GET", "/v2.1/servers/detail?all_tenants=1&limit=%d" % rng.randint(1, 1000), None),
            ("POST", "/v2.1/servers", {"server": {"name": "vm-%d" % rng.randint(0, 999), "flavorRef": "m1.small"}}),
            ("GET", "/v2.1/servers/" + s, None), ("PUT", "/v2.1/servers/" + s, {"server": {"name": "x"}}),
            ("DELETE", "/v2.1/servers/" + s, None),
            ("POST", "/v2.1/servers/%s/action" % s, {rng.choice(["os-start", "os-stop", "reboot", "resize", "createImage", "os-getConsoleOutput", "lock", "unshelve"]): None}),
            ("POST", "/v2.1/servers/%s/action" % s, {}),
            ("POST", "/v2.1/servers/%s/action" % s, "not json"),
            ("GET", "/v2.1/servers/%s/os-instance-actions" % s, None),
            ("GET", "/v2.1/servers/%s/metadata/%s" % (s, rng.choice(["role", "owner", "env"])), None),
            ("PUT", "/v2.1/servers/%s/metadata/role" % s, {"meta": {"role": "db"}}),
            ("GET", "/v2.1/servers/%s/ips" % s, None), ("GET", "/v2.1/servers/%s/diagnostics" % s, None),
            ("POST", "/v2.1/servers/%s/os-server-password" % s, None),
            ("GET", "/v2.1/os-keypairs", None), ("DELETE", "/v2.1/os-keypairs/key-%d" % rng.randint(0, 99), None),
            ("GET", "/v2.1/flavors/detail", None), ("GET", "/v2.1/flavors/%d" % rng.randint(1, 9), None),
            ("GET", "/v2.1/os-hypervisors/detail", None), ("GET", "/v2.1/os-migrations", None),
            ("GET", "/v2.1/limits", None), ("PUT", "/v2.1/os-services/" + u(), {"status": "disabled"}),
            ("GET", "/v2.1/os-services/" + u(), None), ("GET", "/v2.1/os-availability-zone/detail", None),
            ("HEAD", "/v2.1/servers/" + s, None), ("PATCH", "/v2.1/servers/" + s, {}),
            ("OPTIONS", "/v2.1/servers", None), ("GET", "/v2.1/servers.json", None),
            ("GET", "/v2.1/servers/", None), ("GET", "/v2.1/servers?name=%E2%9C%93caf%C3%A9", None),
        ])
    if stype == "baremetal":
        n = u()
        return rng.choice([
            ("GET", "/v1/nodes", None), ("GET", "/v1/nodes/detail", None), ("GET", "/v1/nodes/" + n, None),
            ("PATCH", "/v1/nodes/" + n, [{"op": "replace", "path": "/name", "value": "n1"}]),
            ("PUT", "/v1/nodes/%s/states/power" % n, {"target": "power on"}),
            ("PUT", "/v1/nodes/%s/states/provision" % n, {"target": "deploy"}),
            ("PUT", "/v1/nodes/%s/maintenance" % n, {"reason": "disk"}),
            ("DELETE", "/v1/nodes/%s/maintenance" % n, None),
            ("GET", "/v1/nodes/%s/validate" % n, None), ("GET", "/v1/ports/detail?node=" + n, None),
            ("POST", "/v1/ports", {"node_uuid": n, "address": "52:54:00:12:34:56"}),
            ("GET", "/v1/drivers", None), ("GET", "/v1/chassis", None), ("DELETE", "/v1/nodes/" + n, None),
            ("POST", "/v1/nodes", {"driver": "ipmi"}),
        ])
    if stype == "identity":
        usr, prj = hexid(rng), hexid(rng)
        return rng.choice([
            ("POST", "/v3/auth/tokens", {"auth": {"identity": {"methods": ["password"]}}}),
            ("POST", "/v3/auth/tokens", {"auth": {"identity": {"methods": ["password"]}}}),
            ("GET", "/v3/auth/tokens", None), ("HEAD", "/v3/auth/tokens", None), ("DELETE", "/v3/auth/tokens", None),
            ("GET", "/v3/users", None), ("GET", "/v3/users/" + usr, None),
            ("POST", "/v3/users/%s/password" % usr, {"user": {"password": "s3cret", "original_password": "old"}}),
            ("PATCH", "/v3/users/" + usr, {"user": {"enabled": False}}), ("GET", "/v3/projects", None),
            ("GET", "/v3/projects/" + prj, None), ("POST", "/v3/projects", {"project": {"name": "p"}}),
            ("PUT", "/v3/projects/%s/users/%s/roles/%s" % (prj, usr, hexid(rng)), None),
            ("GET", "/v3/role_assignments?user.id=" + usr, None), ("DELETE", "/v3/users/" + usr, None),
        ])
    img = u()
    return rng.choice([
        ("GET", "/v2/images", None), ("GET", "/v2/images?limit=20&sort=created_at:desc", None),
        ("GET", "/v2/images/" + img, None), ("POST", "/v2/images", {"name": "cirros", "disk_format": "qcow2"}),
        ("GET", "/v2/images/%s/file" % img, None), ("PUT", "/v2/images/%s/file" % img, None),
        ("POST", "/v2/images/%s/import" % img, {"method": {"name": "web-download"}}),
        ("PUT", "/v2/images/%s/tags/%s" % (img, rng.choice(["gold", "ubuntu", "t%C3%A4g"])), None),
        ("DELETE", "/v2/images/%s/tags/gold" % img, None), ("GET", "/v2/images/%s/members" % img, None),
        ("PATCH", "/v2/images/" + img, [{"op": "replace", "path": "/name", "value": "n"}]),
        ("DELETE", "/v2/images/" + img, None),
    ])


STATUSES = [200] * 30 + [201] * 8 + [202] * 5 + [204] * 8 + [300, 302, 304] + \
    [400] * 3 + [401] * 3 + [403] * 3 + [404] * 5 + [405, 409, 409, 413, 429] + [500] * 3 + [502, 503, 504]
AGENTS = ["openstacksdk/3.3.0 keystoneauth1/5.8.0 python-requests/2.32.3 CPython/3.12.3",
          "python-novaclient", "curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64) Horizon",
          "gophercloud/v2.1.0", "terraform-provider-openstack/2.1.0 caf\u00e9", None]
NAMES = ["admin", "nova", "glance", "ironic", "heidi.qa310", "alice", "bob.ops", "svc-backup",
         "j\u00fcrgen", "\u00e9milie"]


class AppError(Exception):
    pass


def capture_keystonemiddleware(rng, clock, n_calls, driver="test", transport_url="fake:/"):
    """Drive the real keystonemiddleware AuditMiddleware around a tiny WSGI app;
    capture what oslo.messaging's notifier emits (driver 'test'), or let it publish
    through another driver and transport (e.g. messagingv2 over kafka://)."""
    import webob
    import webob.dec
    from oslo_config import cfg
    from oslo_messaging.notify import _impl_test
    from keystonemiddleware import audit

    logging.getLogger("keystonemiddleware").setLevel(logging.CRITICAL)
    logging.getLogger("keystonemiddleware.audit").setLevel(logging.CRITICAL)
    cfg.CONF([], project="audittrail-corpus")
    tmp = tempfile.mkdtemp(prefix="audit-maps-")
    plan = {}

    @webob.dec.wsgify
    def app(req):
        st = plan["status"]
        if st == "raise":
            raise AppError("backend exploded")
        return webob.Response(status=st, body=b"" if st in (204, 304) else b"{}", content_type="application/json")

    mws = {}
    for stype, (pub, *_rest) in SERVICES.items():
        p = os.path.join(tmp, stype + "_api_audit_map.conf")
        with open(p, "w") as f:
            f.write(AUDIT_MAPS[stype])
        saved, sys.argv[0] = sys.argv[0], "/usr/bin/" + pub   # publisher_id = basename(argv[0])
        try:
            mws[stype] = audit.AuditMiddleware(app, audit_map_file=p, service_name=SERVICES[stype][1],
                                               driver=driver, transport_url=transport_url)
        finally:
            sys.argv[0] = saved

    users = [(hexid(rng), rng.choice(NAMES), hexid(rng)) for _ in range(40)]
    cat = json.dumps(catalog(rng))
    _impl_test.reset()
    out, stats = [], {"calls": 0, "raised": 0}
    for i in range(n_calls):
        clock.jump()
        stype = rng.choice(list(SERVICES))
        pub, name, internal, public, ver = SERVICES[stype]
        method, path, body = request_plan(rng, stype)
        r = rng.random()
        host = internal if r < 0.6 else public if r < 0.9 else "other.cloud.example:1234"
        scheme = "https" if host == public else "http"
        user_id, user_name, project = rng.choice(users)
        env = {"REQUEST_METHOD": method, "REMOTE_ADDR": rng.choice(
            ["203.0.113.%d" % rng.randint(1, 254), "198.51.100.%d" % rng.randint(1, 254), "2001:db8::%x" % rng.randint(1, 65535)])}
        req = webob.Request.blank(scheme + "://" + host + path, environ=env)
        if body is not None:
            req.body = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            req.content_type = "application/json"
        e = req.environ
        if rng.random() < 0.93:      # auth_token middleware ran
            r = rng.random()     # mostly Fernet-like; some short ones, which pycadf's mask_value leaks whole
            tok = ("gAAAAAB" + base64.urlsafe_b64encode(rng.randbytes(rng.choice([138, 150, 180]))).decode().rstrip("=") if r < 0.8 else
                   base64.b64encode(rng.randbytes(24)).decode() if r < 0.9 else rng.choice(["tok", "abcd", ""]))
            e["HTTP_X_AUTH_TOKEN"] = tok
            e["HTTP_X_USER_ID"] = user_id
            e["HTTP_X_USER_NAME"] = user_name
            e["HTTP_X_PROJECT_ID"] = project
            e["HTTP_X_IDENTITY_STATUS"] = rng.choice(["Confirmed"] * 6 + ["Invalid"])
            if rng.random() < 0.95:
                e["HTTP_X_SERVICE_CATALOG"] = cat
        if rng.random() < 0.9:
            e["openstack.request_id"] = "req-" + uid(rng)
        if rng.random() < 0.3:
            e["openstack.global_request_id"] = "req-" + uid(rng)
        ag = rng.choice(AGENTS)
        if ag:
            e["HTTP_USER_AGENT"] = ag
        if rng.random() < 0.1:
            e["HTTP_X_FORWARDED_FOR"] = "192.0.2.%d" % rng.randint(1, 254)
        plan["status"] = "raise" if rng.random() < 0.05 else rng.choice(STATUSES)
        stats["calls"] += 1
        try:
            req.get_response(mws[stype])
        except AppError:
            stats["raised"] += 1
    for ctxt, msg, priority, _retry in _impl_test.NOTIFICATIONS:
        out.append((ctxt, msg, priority))
    _impl_test.reset()
    stats["notifications"] = len(out)
    return out, stats


def oslo_inner_bytes(ctxt, msg):
    """The inner message exactly as the Kafka driver's pack_message builds it
    (impl_kafka.pack_message: msg['_context'] = ctxt; serialize_msg -> jsonutils.dumps)."""
    from oslo_serialization import jsonutils
    m = dict(msg)
    m["_context"] = ctxt if isinstance(ctxt, dict) else ctxt.to_dict()
    return m, jsonutils.dumps(m).encode("utf-8")


def oslo_envelope_bytes(ctxt, msg):
    """Same as oslo_messaging._drivers.impl_kafka: pack_message() then
    jsonutils.dumps(message).encode('utf-8'). (impl_kafka itself imports
    confluent_kafka, so its two lines are repeated here with the same helpers.)"""
    from oslo_messaging._drivers import common as driver_common
    from oslo_serialization import jsonutils
    m = dict(msg)
    m["_context"] = ctxt if isinstance(ctxt, dict) else ctxt.to_dict()
    return jsonutils.dumps(driver_common.serialize_msg(m)).encode("utf-8")


def logdriver_lines(captured):
    """Run every notification through oslo.messaging's real LogDriver."""
    from oslo_messaging.notify import _impl_log
    buf = io.StringIO()
    h = logging.StreamHandler(buf)

    class Fmt(logging.Formatter):   # oslo.log's default: "%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s [-] %(message)s"
        def format(self, record):
            m = json.loads(record.getMessage())
            ts = m["timestamp"] if "." in m["timestamp"] else m["timestamp"] + ".000000"
            return "%s %d %s %s [-] %s" % (ts[:23], 4242, record.levelname, record.name, record.getMessage())

    h.setFormatter(Fmt())
    base = logging.getLogger(_impl_log.LogDriver.LOGGER_BASE)
    base.addHandler(h)
    base.setLevel(logging.DEBUG)
    base.propagate = False
    drv = _impl_log.LogDriver(None, None, None)
    for ctxt, msg, priority in captured:
        drv.notify(ctxt, msg, priority, None)
    base.removeHandler(h)
    return buf.getvalue().encode("utf-8")


def direct_pycadf_events(rng, clock, n):
    """Events built directly with pycadf's classes, covering what keystonemiddleware
    never emits (monitor/control types, *Id forms, policy reasons, measurements, ...)."""
    from oslo_serialization import jsonutils
    from pycadf import (attachment, cadftaxonomy, cadftype, credential, endpoint, event, eventfactory,
                        geolocation, host, measurement, metric, reason, reporterstep, resource, tag, timestamp)
    out = []
    actions = sorted(cadftaxonomy.ACTION_TAXONOMY) + ["update/tags", "read/list", "authenticate/login", "create/backup", "unknown"]
    rtypes = sorted(cadftaxonomy.RESOURCE_TAXONOMY) + ["service/compute/servers/server", "service/identity"]
    for i in range(n):
        clock.jump()

        def res(rid=None):
            r = resource.Resource(id=rid or uid(rng), typeURI=rng.choice(rtypes), name=rng.choice(NAMES),
                                  domain=rng.choice([None, "Default", "ldap"]),
                                  ref=rng.choice([None, "https://ref.example/%d" % i]))
            if rng.random() < 0.4:
                r.credential = (credential.FederatedCredential(token=hexid(rng), type="http://docs.oasis-open.org/security/saml/v2.0",
                                                               identity_provider="idp-" + hexid(rng, 6), user="u", groups=[{"id": "g1"}])
                                if rng.random() < 0.3 else credential.Credential(token=rng.choice(["abc", hexid(rng, 40)]), type=rng.choice([None, "bearer"])))
            if rng.random() < 0.4:
                r.host = host.Host(id=rng.choice([None, uid(rng)]), address="192.0.2.%d" % rng.randint(1, 254),
                                   agent=rng.choice([None, "agent/1.0"]), platform=rng.choice([None, "linux"]))
            if rng.random() < 0.2:
                r.geolocation = geolocation.Geolocation(id=uid(rng), latitude="+372 45' 45.90\"", longitude="-0.1", city="Paris", regionICANN="fr")
            if rng.random() < 0.3:
                r.add_address(endpoint.Endpoint(url="https://svc.example:%d" % rng.randint(1, 65535), name=rng.choice([None, "public"]), port=rng.choice([None, "443"])))
            if rng.random() < 0.15:
                r.add_attachment(attachment.Attachment(typeURI="mime:text/plain", name="note", content="hello"))
            return r

        kw = {"eventType": rng.choice([cadftype.EVENTTYPE_ACTIVITY, cadftype.EVENTTYPE_MONITOR, cadftype.EVENTTYPE_CONTROL]),
              "action": rng.choice(actions), "outcome": rng.choice(sorted(cadftaxonomy.OUTCOME_TAXONOMY))}
        if rng.random() < 0.3:
            kw["initiatorId"] = uid(rng)
        else:
            kw["initiator"] = res()
        if rng.random() < 0.3:
            kw["targetId"] = uid(rng)
        else:
            kw["target"] = res()
        r = rng.random()
        if r < 0.3:
            kw["observerId"] = uid(rng)
        elif r < 0.6:
            kw["observer"] = resource.Resource(id="target")
        else:
            kw["observer"] = res()
        if rng.random() < 0.5:
            kw["reason"] = (reason.Reason(reasonType="HTTP", reasonCode=str(rng.choice(STATUSES))) if rng.random() < 0.6 else
                            reason.Reason(policyType="http://policy.example/rbac", policyId="policy-%d" % rng.randint(0, 99)))
        if rng.random() < 0.2:
            kw["name"] = "event %d" % i
        if rng.random() < 0.2:
            kw["severity"] = rng.choice(["low", "high", "critical"])
        if rng.random() < 0.3:
            kw["eventTime"] = clock.tick().isoformat()          # RFC 3339 "+00:00"
        ev = eventfactory.EventFactory().new_event(**kw)
        for _ in range(rng.randint(0, 2)):
            ev.add_tag(tag.generate_name_value_tag(rng.choice(["correlation_id", "path"]), uid(rng)))
        for _ in range(rng.choice([0, 0, 1, 2])):
            ev.add_reporterstep(reporterstep.Reporterstep(
                role=rng.choice(sorted(cadftype.VALID_REPORTER_ROLES)),
                reporterTime=rng.choice([None, timestamp.get_utc_now()]),
                **({"reporter": resource.Resource(id="target")} if rng.random() < 0.5 else {"reporterId": uid(rng)})))
        if rng.random() < 0.2:
            ev.add_attachment(attachment.Attachment(typeURI="mime:application/json", name="body", content={"k": [1, 2, {"x": None}]}))
        if rng.random() < 0.2:
            m = metric.Metric(metricId=uid(rng), unit="ms", name="latency")
            ev.add_measurement(measurement.Measurement(result=rng.randint(0, 999), **({"metric": m} if rng.random() < 0.5 else {"metricId": uid(rng)}),
                                                       calculatedBy=resource.Resource(id=uid(rng), typeURI="service/bss/metering") if rng.random() < 0.3 else None))
            # NB: not res(): oslo's to_primitive(max_depth=3) serialises objects nested deeper than
            # event > measurement > calculatedBy > host as null, which pycadf itself would reject.
        assert ev.is_valid()
        out.append(jsonutils.dumps(ev.as_dict()).encode("utf-8"))
    return out


# ---------------------------------------------------------------------------
# pycadf's own verdict: load a dict into pycadf objects through the validating
# descriptors (setattr raises ValueError/TypeError on a bad value), then is_valid().
# ---------------------------------------------------------------------------

def pycadf_verdict(d):
    from pycadf import (attachment, credential, endpoint, event, geolocation, host, measurement, metric,
                        reason, reporterstep, resource)

    def obj(cls, src, special=None):
        if not isinstance(src, dict):
            raise TypeError("not an object")
        o = cls.__new__(cls)
        for k, v in src.items():
            if special and k in special:
                special[k](o, v)
            else:
                setattr(o, k, v)
        return o

    def listof(adder, loader):
        def f(o, v):
            if not isinstance(v, list):
                raise TypeError("not a list")
            for x in v:
                getattr(o, adder)(loader(x))
        return f

    def att(v):
        return obj(attachment.Attachment, v)

    def res(v):
        return obj(resource.Resource, v, {
            "credential": lambda o, x: setattr(o, "credential", obj(credential.Credential, x)),
            "host": lambda o, x: setattr(o, "host", obj(host.Host, x)),
            "geolocation": lambda o, x: setattr(o, "geolocation", obj(geolocation.Geolocation, x)),
            "addresses": listof("add_address", lambda x: obj(endpoint.Endpoint, x)),
            "attachments": listof("add_attachment", att),
        })

    def meas(v):
        return obj(measurement.Measurement, v, {
            "metric": lambda o, x: setattr(o, "metric", obj(metric.Metric, x)),
            "calculatedBy": lambda o, x: setattr(o, "calculatedBy", res(x)),
        })

    def step(v):
        return obj(reporterstep.Reporterstep, v, {"reporter": lambda o, x: setattr(o, "reporter", res(x))})

    def tags(o, v):
        if not isinstance(v, list):
            raise TypeError("not a list")
        for t in v:
            o.add_tag(t)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ev = obj(event.Event, d, {
                "initiator": lambda o, x: setattr(o, "initiator", res(x)),
                "target": lambda o, x: setattr(o, "target", res(x)),
                "observer": lambda o, x: setattr(o, "observer", res(x)),
                "reason": lambda o, x: setattr(o, "reason", obj(reason.Reason, x)),
                "reporterchain": listof("add_reporterstep", step),
                "measurements": listof("add_measurement", meas),
                "attachments": listof("add_attachment", att),
                "tags": tags,
            })
            return bool(ev.is_valid())
    except Exception:
        return False


# ---------------------------------------------------------------------------
# Verdicts
# ---------------------------------------------------------------------------

class DuplicateKey(Exception):
    pass


def _no_dups(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise DuplicateKey()
    return dict(pairs)


def _reject_constant(name):
    raise ValueError("non-standard JSON constant " + name)


_SURR = re.compile("[\ud800-\udfff]")


def nesting_depth(text):
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0
    depth = best = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            best = max(best, depth)
        elif ch in "]}":
            depth -= 1
    return best


def _has_surrogate(x):
    if isinstance(x, str):
        return bool(_SURR.search(x))
    if isinstance(x, list):
        return any(_has_surrogate(v) for v in x)
    if isinstance(x, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in x.items())
    return False


def parse(raw):
    """-> (doc, reason) ; reason None when the bytes are an acceptable JSON document."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "notJSON"
    if nesting_depth(text) > MAX_DEPTH:
        return None, "tooDeep"
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None, "notJSON"
    if _has_surrogate(doc):
        return None, "notJSON"
    try:
        json.loads(text, object_pairs_hook=_no_dups)
    except DuplicateKey:
        return doc, "duplicateKey"
    return doc, None


def load_validators():
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    docs = {p.name: json.loads(p.read_text()) for p in sorted(SCHEMAS.glob("*.schema.json"))}
    for d in docs.values():
        Draft202012Validator.check_schema(d)
    reg = Registry().with_resources([(d["$id"], Resource.from_contents(d)) for d in docs.values()])
    return {"event": Draft202012Validator(docs["cadf-event.schema.json"], registry=reg),
            "notification": Draft202012Validator(docs["notification.schema.json"], registry=reg)}


def pointer(path):
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def verdict(validators, kind, raw):
    from jsonschema.exceptions import best_match
    doc, why = parse(raw)
    pyc = None
    if kind == "event" and why in (None, "duplicateKey"):
        pyc = pycadf_verdict(doc) if isinstance(doc, dict) else False
    if why:
        return False, why, None, pyc
    err = best_match(validators[kind].iter_errors(doc))
    if err is None:
        return True, None, None, pyc
    return False, pointer(err.absolute_path), err.validator, pyc


# ---------------------------------------------------------------------------
# Mutations. Each returns (bytes, label) from a parsed base document.
# ---------------------------------------------------------------------------

def dumps(d, **kw):
    return json.dumps(d, **kw).encode("utf-8")


WRONG = [0, 1.5, True, None, [], {}, ["x"], {"x": 1}, "", "0"]


def _get_ev(doc, kind):
    return doc["payload"] if kind == "notification" else doc


def m_structural(rng, doc, kind):
    d = copy.deepcopy(doc)
    ev = _get_ev(d, kind)
    ops = []

    def op(fn):
        ops.append(fn)
        return fn

    @op
    def drop_required():
        f = rng.choice(["typeURI", "eventType", "id", "eventTime", "action", "outcome"])
        ev.pop(f, None)
        return "drop:" + f

    @op
    def drop_both():
        f = rng.choice(["initiator", "target", "observer"])
        ev.pop(f, None); ev.pop(f + "Id", None)
        return "dropBoth:" + f

    @op
    def add_both():
        f = rng.choice(["initiator", "target", "observer"])
        if f in ev:
            ev[f + "Id"] = uid(rng)
        else:
            ev[f] = {"id": uid(rng), "typeURI": "service/compute"}
        return "both:" + f

    @op
    def to_id():
        f = rng.choice(["initiator", "target", "observer"])
        if f in ev and isinstance(ev[f], dict):
            ev[f + "Id"] = ev.pop(f).get("id", "x")
        return "toId:" + f

    @op
    def extra_top():
        for _ in range(rng.randint(1, 3)):
            ev["x_" + hexid(rng, 4)] = rng.choice(WRONG + ["str", {"deep": [1, {"a": None}]}])
        return "extra:top"

    @op
    def extra_nested():
        where = rng.choice(["initiator", "target", "observer", "reason", "reporterchain", "host", "credential"])
        if where in ("host", "credential"):
            obj = ev.get("initiator", {}).get(where) if isinstance(ev.get("initiator"), dict) else None
        elif where == "reporterchain":
            obj = ev.get("reporterchain", [None])[0] if ev.get("reporterchain") else None
        else:
            obj = ev.get(where)
        if isinstance(obj, dict):
            obj["x_extra"] = rng.choice(["v", 1, None, [1]])
        return "extra:" + where

    @op
    def wrong_type():
        paths = [("typeURI",), ("eventType",), ("id",), ("eventTime",), ("action",), ("outcome",), ("tags",),
                 ("name",), ("severity",), ("reason",), ("reporterchain",), ("initiator",), ("target",), ("observer",),
                 ("initiator", "id"), ("initiator", "typeURI"), ("initiator", "name"), ("initiator", "credential"),
                 ("initiator", "credential", "token"), ("initiator", "host"), ("initiator", "host", "address"),
                 ("target", "addresses"), ("target", "name"), ("reason", "reasonCode"), ("reason", "reasonType"),
                 ("reporterchain", 0), ("reporterchain", 0, "role"), ("reporterchain", 0, "reporterTime"),
                 ("reporterchain", 0, "reporter"), ("tags", 0), ("target", "addresses", 0), ("target", "addresses", 0, "url"),
                 ("requestPath",), ("initiatorId",), ("targetId",), ("observerId",)]
        p = rng.choice(paths)
        cur = ev
        for k in p[:-1]:
            try:
                cur = cur[k]
            except (KeyError, IndexError, TypeError):
                return "wrongType:absent"
        try:
            if isinstance(cur, dict) and p[-1] not in cur:
                return "wrongType:absent"
            cur[p[-1]] = rng.choice(WRONG)
        except (IndexError, TypeError):
            return "wrongType:absent"
        return "wrongType:" + ".".join(map(str, p))

    @op
    def bad_enum():
        f = rng.choice(["eventType", "outcome", "role"])
        bad = rng.choice(["", "Success", "SUCCESS", " pending", "activity ", "succeeded", "Activity", "MODIFIER", "reporter", "ok", "pending\n"])
        if f == "role":
            if ev.get("reporterchain") and isinstance(ev["reporterchain"][0], dict):
                ev["reporterchain"][0]["role"] = bad
        else:
            ev[f] = bad
        return "badEnum:" + f

    @op
    def action():
        a = rng.choice(["list", "get", "Read", "READ", "", " read", "post", "un", "read/list", "update/tags", "readonly",
                        "created", "read/list/detail", "update/", "authenticate/login", "notify", "revoke/token",
                        "allow", "deny", "renew", "backup/now", "capture", "undeploy", "unknown", "unknownfoo",
                        "x-read", "r\u00e9ad", "update/r\u00e9size", "\u0000read", "read\n", "configure/\u2028"])
        ev["action"] = a
        return "action:" + a.encode("unicode_escape").decode()

    @op
    def ids():
        c = rng.choice(["id=''", "initiator.id=initiator", "target.id=target", "observer={id:initiator}", "target={id:target}",
                        "initiator={id:target}", "initiator={id:initiator}", "observer={id:target,x}", "observer={id:other}",
                        "observer={}", "targetId=''", "id=' '", "id=non-uuid", "initiatorId=initiator"])
        if c == "id=''": ev["id"] = ""
        elif c == "id=' '": ev["id"] = " "
        elif c == "id=non-uuid": ev["id"] = "event-" + str(rng.randint(0, 99))
        elif c == "initiator.id=initiator" and isinstance(ev.get("initiator"), dict): ev["initiator"]["id"] = "initiator"
        elif c == "target.id=target" and isinstance(ev.get("target"), dict): ev["target"]["id"] = "target"
        elif c == "observer={id:initiator}": ev.pop("observerId", None); ev["observer"] = {"id": "initiator"}
        elif c == "target={id:target}": ev.pop("targetId", None); ev["target"] = {"id": "target"}
        elif c == "initiator={id:target}": ev.pop("initiatorId", None); ev["initiator"] = {"id": "target"}
        elif c == "initiator={id:initiator}": ev.pop("initiatorId", None); ev["initiator"] = {"id": "initiator"}
        elif c == "observer={id:target,x}": ev.pop("observerId", None); ev["observer"] = {"id": "target", "name": "x"}
        elif c == "observer={id:other}": ev.pop("observerId", None); ev["observer"] = {"id": "other"}
        elif c == "observer={}": ev.pop("observerId", None); ev["observer"] = {}
        elif c == "targetId=''": ev.pop("target", None); ev["targetId"] = ""
        elif c == "initiatorId=initiator": ev.pop("initiator", None); ev["initiatorId"] = "initiator"
        return "ids:" + c

    @op
    def res_type():
        f = rng.choice(["initiator", "target"])
        t = rng.choice(["", "http://schemas.example/x", "Service/compute", "svc", "compute/machine", "data/security/account/user",
                        "storage", "network/node/host", "unknown", "serviceX", None])
        if isinstance(ev.get(f), dict):
            if t is None:
                ev[f].pop("typeURI", None)
            else:
                ev[f]["typeURI"] = t
        return "resType:%s=%s" % (f, t)

    @op
    def date():
        f = rng.choice(["eventTime", "eventTime", "reporterTime"])
        t = clock_like(rng)
        v, lab = t
        if f == "reporterTime":
            if ev.get("reporterchain") and isinstance(ev["reporterchain"][0], dict):
                ev["reporterchain"][0]["reporterTime"] = v
        else:
            ev["eventTime"] = v
        return "date:%s:%s" % (f, lab)

    @op
    def reason_mut():
        c = rng.choice(["dropCode", "dropType", "policyOnly", "empty", "string", "codeInt", "both", "policyHalf", "null"])
        r = {"reasonType": "HTTP", "reasonCode": "200"}
        if c == "dropCode": r.pop("reasonCode")
        elif c == "dropType": r.pop("reasonType")
        elif c == "policyOnly": r = {"policyType": "rbac", "policyId": "p1"}
        elif c == "empty": r = {}
        elif c == "string": r = "HTTP 200"
        elif c == "codeInt": r["reasonCode"] = 200
        elif c == "both": r.update(policyType="rbac", policyId="p1")
        elif c == "policyHalf": r = {"reasonType": "HTTP", "policyId": "p1"}
        elif c == "null": r = None
        ev["reason"] = r
        return "reason:" + c

    @op
    def chain():
        c = rng.choice(["noRole", "both", "neither", "noTime", "empty", "reporterId", "relay", "observer",
                        "reporterExtra", "reporterFull", "dict", "badReporter"])
        s = {"role": "modifier", "reporterTime": "2026-11-22T10:12:02.735498+0000", "reporter": {"id": "target"}}
        if c == "noRole": s.pop("role")
        elif c == "both": s["reporterId"] = uid(rng)
        elif c == "neither": s.pop("reporter")
        elif c == "noTime": s.pop("reporterTime")
        elif c == "reporterId": s.pop("reporter"); s["reporterId"] = uid(rng)
        elif c in ("relay", "observer"): s["role"] = c
        elif c == "reporterExtra": s["reporter"] = {"id": "target", "typeURI": "service/compute", "name": "nova"}
        elif c == "reporterFull": s["reporter"] = {"id": uid(rng), "typeURI": "service/compute"}
        elif c == "badReporter": s["reporter"] = {"id": uid(rng)}
        ev["reporterchain"] = [] if c == "empty" else s if c == "dict" else [s]
        return "chain:" + c

    @op
    def attach():
        c = rng.choice(["ok", "noContent", "nullContent", "noName", "noType", "objContent", "notList", "onResource"])
        a = {"typeURI": "mime:text/plain", "name": "n", "content": "c"}
        if c == "noContent": a.pop("content")
        elif c == "nullContent": a["content"] = None
        elif c == "noName": a.pop("name")
        elif c == "noType": a.pop("typeURI")
        elif c == "objContent": a["content"] = {"a": [1, 2]}
        if c == "onResource" and isinstance(ev.get("target"), dict):
            ev["target"]["attachments"] = [dict(a, content=None)]
        else:
            ev["attachments"] = a if c == "notList" else [a]
        return "attachment:" + c

    @op
    def measurements():
        c = rng.choice(["metricId", "metric", "noResult", "both", "metricNoUnit", "nullResult"])
        m = {"result": 12, "metricId": uid(rng)}
        if c == "metric": m = {"result": "12", "metric": {"metricId": uid(rng), "unit": "ms"}}
        elif c == "noResult": m.pop("result")
        elif c == "both": m["metric"] = {"metricId": uid(rng), "unit": "ms"}
        elif c == "metricNoUnit": m = {"result": 1, "metric": {"metricId": uid(rng)}}
        elif c == "nullResult": m["result"] = None
        ev["measurements"] = [m]
        return "measurement:" + c

    @op
    def root():
        c = rng.choice(["array", "string", "number", "null", "true", "emptyObject", "arrayOfEvent"])
        return "root:" + c

    fn = rng.choice(ops)
    if kind == "notification" and rng.random() < 0.35:
        return m_notification(rng, d)
    if not isinstance(ev, dict):
        return None
    label = fn()
    if label.startswith("root:"):
        c = label[5:]
        val = {"array": [], "string": "event", "number": 42, "null": None, "true": True, "emptyObject": {},
               "arrayOfEvent": [ev]}[c]
        if kind == "notification":
            d["payload"] = val
        else:
            d = val
    return dumps(d), label


def clock_like(rng):
    base = "2026-11-22T10:12:02"
    return rng.choice([
        (base + ".734485+0000", "pycadf"), (base + ".734485+00:00", "rfc3339"), (base + ".734485Z", "Z"),
        (base + "+00:00", "noFraction"), (base + "+0000", "noFractionCompact"), (base + ".7+05:30", "frac1+0530"),
        (base + ".123-0800", "frac3-0800"), (base + ".123456789+00:00", "nanos"), (base + ".1234567890+00:00", "frac10"),
        (base + ".734485", "naive"), ("2026-11-22 10:12:02.734485+0000", "space"), (base.lower() + ".734485+0000", "lowercaseT"),
        (base + ".734485z", "lowercaseZ"), ("2026-13-22T10:12:02+0000", "month13"), ("2026-11-32T10:12:02+0000", "day32"),
        ("2026-11-22T24:00:00+0000", "hour24"), ("2026-11-22T10:60:00+0000", "minute60"), ("2016-12-31T23:59:60+0000", "leap"),
        (base + ".+0000", "emptyFraction"), (base + ".734485+000", "offset3"), (base + ".734485+00", "offsetHourOnly"),
        (base + ".734485+0000\n", "trailingNewline"), (base + ".734485+0000 ", "trailingSpace"), (" " + base + "+0000", "leadingSpace"),
        ("26-11-22T10:12:02+0000", "yy"), ("2026-11-22", "dateOnly"), ("1764000000", "epochString"), ("", "empty"),
        ("yesterday", "garbage"), ("\u0662\u0660\u0662\u0666-11-22T10:12:02+0000", "arabicDigits"), (base + ".734485+24:00", "offset24"),
        ("2026-02-30T10:12:02+0000", "feb30"), (base + ".734485\u202f+0000", "nnbsp"),
    ])


def m_notification(rng, d):
    c = rng.choice(["drop:message_id", "drop:publisher_id", "drop:event_type", "drop:priority", "drop:payload", "drop:timestamp",
                    "drop:_context", "flatContext", "eventType:other", "eventType:upper", "priority:lower", "priority:WARN",
                    "priority:bogus", "ts:iso", "ts:offset", "ts:noFraction", "ts:millis", "ts:pycadf", "context:list",
                    "context:null", "context:full", "messageId:empty", "messageId:int", "publisher:empty", "payload:string",
                    "payload:null", "extra"])
    if c.startswith("drop:"):
        d.pop(c[5:], None)
    elif c == "flatContext":
        d.pop("_context", None)
        d.update({"_context_user": None, "_context_request_id": "req-" + uid(rng), "_context_is_admin": True})
    elif c == "eventType:other": d["event_type"] = "compute.instance.create.end"
    elif c == "eventType:upper": d["event_type"] = "AUDIT.HTTP.REQUEST"
    elif c == "priority:lower": d["priority"] = "info"
    elif c == "priority:WARN": d["priority"] = "WARN"
    elif c == "priority:bogus": d["priority"] = "NOTICE"
    elif c == "ts:iso": d["timestamp"] = "2026-11-22T10:12:02.735273"
    elif c == "ts:offset": d["timestamp"] = "2026-11-22 10:12:02.735273+00:00"
    elif c == "ts:noFraction": d["timestamp"] = "2026-11-22 10:12:02"
    elif c == "ts:millis": d["timestamp"] = "2026-11-22 10:12:02.735"
    elif c == "ts:pycadf": d["timestamp"] = "2026-11-22T10:12:02.735273+0000"
    elif c == "context:list": d["_context"] = []
    elif c == "context:null": d["_context"] = None
    elif c == "context:full": d["_context"] = {"user": None, "project_id": hexid(rng), "request_id": "req-" + uid(rng), "is_admin": True, "roles": ["admin"]}
    elif c == "messageId:empty": d["message_id"] = ""
    elif c == "messageId:int": d["message_id"] = 7
    elif c == "publisher:empty": d["publisher_id"] = ""
    elif c == "payload:string": d["payload"] = json.dumps(d["payload"])
    elif c == "payload:null": d["payload"] = None
    elif c == "extra": d["x_extra"] = {"k": "v"}
    return dumps(d), "notification:" + c


def m_bytes(rng, doc, raw, kind):
    """Byte-level mutations of the serialized document."""
    c = rng.choice(["dupTop", "dupTopSame", "dupNested", "dupEscaped", "garbage", "empty", "whitespace", "truncated",
                    "truncated", "badUtf8", "badUtf8", "rawUtf8", "loneSurrogate", "surrogatePair", "bom", "nan", "pretty",
                    "compact", "trailingNewline", "trailingGarbage", "twoDocs", "pyrepr", "nulEscape", "bigNumbers",
                    "singleQuotes", "controlChar", "nestedOk", "ctrlEscapes"])
    ev = _get_ev(doc, kind)
    s = raw.decode("utf-8")
    if c == "dupTop":
        out = s[:-1] + ', "outcome": "success"}' if kind == "event" else s[:-1] + ', "event_type": "audit.http.request"}'
    elif c == "dupTopSame":
        out = s[:-1] + ', "id": %s}' % json.dumps(doc.get("id", "x")) if kind == "event" else s[:-1] + ', "priority": "INFO"}'
    elif c == "dupNested":
        out = s.replace('"typeURI": ', '"typeURI": "data/x", "typeURI": ', 2)
        if out == s:
            out = "{" + '"a": {"b": 1, "b": 2}, ' + s[1:]
    elif c == "dupEscaped":   # "id" and "\u0069d" are the same member name
        out = "{" + '"\\u0069d": "dup", ' + s[1:] if kind == "event" else "{" + '"\\u0070riority": "INFO", ' + s[1:]
    elif c == "garbage":
        out = rng.choice(["not json", "{", "}", "[", "{\"id\"", "nul", "tru", "<event/>", "{'id': 1}", "{\"a\":1,}", "[1,]", "{,}",
                          "\"unterminated", "{\"a\" 1}", "0x10", "+1", "01", ".5", "{\"a\":\"\\x41\"}", "//c\n{}"])
    elif c == "empty":
        return b"", "bytes:empty"
    elif c == "whitespace":
        return rng.choice([b" ", b"\n", b"\r\n\t "]), "bytes:whitespace"
    elif c == "truncated":
        n = rng.randint(1, len(raw) - 1)
        return raw[:n], "bytes:truncated"
    elif c == "badUtf8":
        bad = rng.choice([b"\xff", b"\xc3\x28", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80", b"\xe2\x82"])
        i = raw.find(b'"', raw.find(b'"id"') + 5) + 1 if b'"id"' in raw else 2
        return raw[:i] + bad + raw[i:], "bytes:badUtf8:" + bad.hex()
    elif c == "rawUtf8":
        d = copy.deepcopy(doc)
        e = _get_ev(d, kind)
        if isinstance(e, dict):
            e["name"] = "\u00e9v\u00e9nement \u2713 \U0001F600 \u4e2d"
        return dumps(d, ensure_ascii=False), "bytes:rawUtf8"
    elif c == "loneSurrogate":
        out = s[:-1] + ', "x_note": "%s"}' % rng.choice(["\\ud800", "\\udfff", "a\\ud83d", "\\ude00b"])
    elif c == "surrogatePair":
        out = s[:-1] + ', "x_note": "\\ud83d\\ude00"}'
    elif c == "bom":
        return b"\xef\xbb\xbf" + raw, "bytes:bom"
    elif c == "nan":
        out = s[:-1] + ', "x_n": %s}' % rng.choice(["NaN", "Infinity", "-Infinity"])
    elif c == "pretty":
        out = json.dumps(doc, indent=rng.choice([1, 2, "\t"]))
    elif c == "compact":
        out = json.dumps(doc, separators=(",", ":"))
    elif c == "trailingNewline":
        out = s + rng.choice(["\n", "\r\n", " \n\t"])
    elif c == "trailingGarbage":
        out = s + rng.choice(["x", ",", "}", "]", "\x00"])
    elif c == "twoDocs":
        out = s + "\n" + s
    elif c == "pyrepr":
        out = repr(doc)
    elif c == "nulEscape":
        out = s[:-1] + ', "x_nul": "a\\u0000b"}'
    elif c == "bigNumbers":
        out = s[:-1] + ', "x_num": [%s]}' % rng.choice(["18446744073709551617", "1e308", "-0", "1.5e-400", "123456789012345678901234567890", "0.1"])
    elif c == "singleQuotes":
        out = s.replace('"', "'")
    elif c == "controlChar":
        out = s[:-1] + ', "x_ctl": "a%sb"}' % rng.choice(["\x01", "\t", "\n", "\x1f"])
    elif c == "ctrlEscapes":
        out = s[:-1] + ', "x_ctl": "\\t\\n\\r\\b\\f\\/\\\\\\""}'
    elif c == "nestedOk":
        k = rng.randint(2, 200)
        out = s[:-1] + ', "x_nest": %s}' % ("[" * k + "]" * k)
    return out.encode("utf-8"), "bytes:" + c


BIG = [("deepArray", 1000), ("deepArray", 10000), ("deepArray", 100000), ("deepObject", 10000), ("deepRoot", 10000),
       ("deepOk", 200), ("hugeName", 0), ("hugeExtra", 0), ("hugeEventTime", 0), ("hugeId", 0), ("hugeToken", 0),
       ("deepOk", 64)]


def m_big(rng, doc, raw, kind, c, k):
    """Deep nesting and huge strings (each case listed once in BIG: they are large)."""
    s = raw.decode("utf-8")
    d = copy.deepcopy(doc)
    ev = _get_ev(d, kind)
    MB = 1 << 20
    if c == "deepArray":
        return (s[:-1] + ', "x_deep": %s}' % ("[" * k + "]" * k)).encode(), "big:deepArray:%d" % k
    if c == "deepObject":
        return (s[:-1] + ', "x_deep": %s}' % ('{"a":' * k + "1" + "}" * k)).encode(), "big:deepObject:%d" % k
    if c == "deepRoot":
        return ("[" * k + "]" * k).encode(), "big:deepRoot:%d" % k
    if c == "deepOk":
        return (s[:-1] + ', "x_deep": %s}' % ('{"a":' * k + "[]" + "}" * k)).encode(), "big:deepOk:%d" % k
    if not isinstance(ev, dict):
        return None
    big = "A" * MB
    if c == "hugeName": ev["name"] = big
    elif c == "hugeExtra": ev["x_blob"] = base64.b64encode(rng.randbytes(3 * MB // 4)).decode()
    elif c == "hugeEventTime": ev["eventTime"] = "2026-11-22T10:12:02." + "1" * MB + "+0000"
    elif c == "hugeId": ev["id"] = big
    elif c == "hugeToken":
        if isinstance(ev.get("initiator"), dict):
            ev["initiator"]["credential"] = {"token": "\u00e9" * (MB // 2)}
    return dumps(d), "big:" + c


# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--calls", type=int, default=1300, help="HTTP calls through keystonemiddleware (2 events each)")
    ap.add_argument("--direct", type=int, default=300, help="events built directly with pycadf")
    ap.add_argument("--mutations", type=int, default=3000)
    ap.add_argument("--samples", default=str(HERE.parent.parent / "shared" / "samples" / "notifications.jsonl"))
    args = ap.parse_args()
    t0 = time.time()
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.CRITICAL)
    clock = install_determinism(args.seed)
    rng = random.Random(args.seed)
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    validators = load_validators()

    # ---- base documents --------------------------------------------------
    bases = []   # (kind, raw bytes, source)
    samples = []
    sp = Path(args.samples)
    if sp.exists():
        for line in sp.read_bytes().splitlines():
            if line.strip():
                env = json.loads(line)
                inner = env["oslo.message"].encode("utf-8")
                samples.append(inner)
                bases.append(("notification", inner, "sample"))
                bases.append(("event", json.dumps(json.loads(inner)["payload"]).encode(), "sample"))
    captured, kstats = capture_keystonemiddleware(rng, clock, args.calls)
    envelopes = []
    for ctxt, msg, priority in captured:
        m, inner = oslo_inner_bytes(ctxt, msg)
        from oslo_serialization import jsonutils
        bases.append(("notification", inner, "keystonemiddleware"))
        bases.append(("event", jsonutils.dumps(m["payload"]).encode("utf-8"), "keystonemiddleware"))
        envelopes.append(oslo_envelope_bytes(ctxt, msg))
    for raw in direct_pycadf_events(rng, clock, args.direct):
        bases.append(("event", raw, "pycadf"))
    t_base = time.time() - t0

    # ---- mutations ---------------------------------------------------------
    muts = []
    parsed = [(k, raw, src, json.loads(raw)) for k, raw, src in bases]
    n_big = 0
    attempts = 0
    while len(muts) < args.mutations and attempts < args.mutations * 5:
        attempts += 1
        kind, raw, src, doc = rng.choice(parsed)
        r = rng.random()
        if n_big < len(BIG) and (r < 0.01 or args.mutations - len(muts) <= len(BIG) - n_big):
            if not isinstance(_get_ev(doc, kind), dict):
                continue
            res = m_big(rng, doc, raw, kind, *BIG[n_big])
            n_big += 1
        elif r < 0.30:
            res = m_bytes(rng, doc, raw, kind)
        else:
            res = m_structural(rng, doc, kind)
        if res is None:
            continue
        muts.append((kind, res[0], src, res[1]))

    # ---- verdicts + output ------------------------------------------------
    counts = {}
    disagreements = {}
    with open(out / "corpus.jsonl", "w") as f:
        for kind, raw, src, label in [(k, r, s, None) for k, r, s in bases] + muts:
            valid, reason, keyword, pyc = verdict(validators, kind, raw)
            if label is None and not valid:
                raise SystemExit("a real producer's document is rejected by the schema: %s %s %s %s %r" % (src, kind, reason, keyword, raw))
            key = "%s/%s/%s" % ("base" if label is None else "mutation", kind, "valid" if valid else "invalid")
            counts[key] = counts.get(key, 0) + 1
            if pyc is not None and pyc != valid:
                lab = label or "base:" + src
                lab = re.sub(r":(?:[0-9]+)$", "", lab)
                dk = "%s schema=%s pycadf=%s" % (lab, valid, pyc)
                disagreements[dk] = disagreements.get(dk, 0) + 1
            f.write(json.dumps({"b64": base64.b64encode(raw).decode("ascii"), "kind": kind, "valid": valid,
                                "reason": reason, "source": src, "mutation": label, "keyword": keyword,
                                "pycadf": pyc}) + "\n")
    with open(out / "envelopes.jsonl", "wb") as f:
        for e in envelopes:
            f.write(e + b"\n")
    (out / "logdriver.log").write_bytes(logdriver_lines(captured))
    summary = {
        "seed": args.seed, "keystonemiddleware": kstats, "direct_pycadf_events": args.direct,
        "samples": len(samples), "mutations": len(muts), "big_mutations": n_big, "counts": counts,
        "reasons": {}, "pycadf_disagreements": dict(sorted(disagreements.items())),
        "seconds": {"bases": round(t_base, 2), "total": round(time.time() - t0, 2)},
        "sha256": {p: hashlib.sha256((out / p).read_bytes()).hexdigest() for p in ("corpus.jsonl", "envelopes.jsonl", "logdriver.log")},
    }
    for line in open(out / "corpus.jsonl"):
        r = json.loads(line)["reason"]
        if r in ("notJSON", "duplicateKey", "tooDeep"):
            summary["reasons"][r] = summary["reasons"].get(r, 0) + 1
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    json.dump({k: summary[k] for k in ("keystonemiddleware", "counts", "reasons", "seconds")}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
