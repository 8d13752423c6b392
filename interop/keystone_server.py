#!/usr/bin/env python3
"""A throwaway Keystone for AuditTrail's Keystone auth tests.

    PY=$(interop/setup-venv.sh keystone) && "$PY" interop/keystone_server.py DIR

Sets up Keystone with a sqlite database and fernet keys under DIR (db_sync, fernet_setup,
credential_setup, bootstrap), serves its public API on a free loopback port, and provisions:

- a domain `audit-domain` with projects `project-a` and `project-b`, a project `admin-home` in it,
  and a project `service` in the Default domain;
- roles `audit_viewer`, `cloud_audit_viewer` and `service`;
- users (password = the user's name): `viewer-a` (audit_viewer on project-a), `viewer-b`
  (audit_viewer on project-b), `no-role` (member on project-a), `domain-viewer` (audit_viewer on
  audit-domain), `auditor` (cloud_audit_viewer on project-b), `audit-service` (admin and service
  on service: the server's own account, which may validate tokens and list projects);
- the bootstrap `admin` (admin on project `admin`, password `admin`).

Prints one JSON line on stdout once Keystone answers: its URL, the ids of the projects and the
domain, and a fresh token for each user (`viewer-a`, `viewer-b`, `no-role`, `domain-viewer`,
`auditor`, `admin`). Serves until stdin closes (the test that started it exits) or SIGTERM,
then removes DIR (whatever else the caller put there too).
"""

import json
import os
import shutil
import signal
import socketserver
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

ADMIN_PASSWORD = "admin"


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


def manage(conf, *args):
    manage_bin = os.path.join(os.path.dirname(sys.executable), "keystone-manage")
    subprocess.run(
        [manage_bin, "--config-file", conf, *args],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class Client:
    def __init__(self, url):
        self.url = url
        self.token = None

    def call(self, method, path, body=None, anonymous=False, subject=None):
        request = urllib.request.Request(self.url + path, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token and not anonymous:
            request.add_header("X-Auth-Token", self.token)
        if subject:
            request.add_header("X-Subject-Token", subject)
        data = json.dumps(body).encode() if body is not None else None
        with urllib.request.urlopen(request, data=data, timeout=30) as response:
            text = response.read()
            return response.headers, (json.loads(text) if text else None)

    def password_token(self, user, password, scope, user_domain="default"):
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {
                "user": {"name": user, "domain": {"id": user_domain}, "password": password}}},
            "scope": scope}}
        headers, _ = self.call("POST", "/v3/auth/tokens", body, anonymous=True)
        return headers["X-Subject-Token"]

    def create(self, kind, body):
        _, reply = self.call("POST", f"/v3/{kind}s", {kind: body})
        return reply[kind]["id"]

    def role_id(self, name):
        _, reply = self.call("GET", f"/v3/roles?name={name}")
        if reply["roles"]:
            return reply["roles"][0]["id"]
        return self.create("role", {"name": name})

    def grant(self, role, user, project=None, domain=None):
        target = f"projects/{project}" if project else f"domains/{domain}"
        self.call("PUT", f"/v3/{target}/users/{user}/roles/{role}")


def main():
    directory = os.path.abspath(sys.argv[1])
    os.makedirs(directory, exist_ok=True)
    conf = os.path.join(directory, "keystone.conf")
    with open(conf, "w") as file:
        file.write(f"""[DEFAULT]
log_file = {directory}/keystone.log
use_stderr = false
[database]
connection = sqlite:///{directory}/keystone.db
[token]
provider = fernet
expiration = 3600
[fernet_tokens]
key_repository = {directory}/fernet-keys
[credential]
key_repository = {directory}/credential-keys
[cache]
enabled = false
""")

    server = make_server("127.0.0.1", 0, None, server_class=ThreadingServer, handler_class=QuietHandler)
    port = server.server_port
    url = f"http://127.0.0.1:{port}"

    manage(conf, "db_sync")
    manage(conf, "fernet_setup", "--keystone-user", str(os.getuid()), "--keystone-group", str(os.getgid()))
    manage(conf, "credential_setup", "--keystone-user", str(os.getuid()), "--keystone-group", str(os.getgid()))
    manage(conf, "bootstrap", "--bootstrap-password", ADMIN_PASSWORD, "--bootstrap-region-id", "RegionOne",
           "--bootstrap-public-url", url + "/v3")

    sys.argv = [sys.argv[0], "--config-file", conf]
    from keystone.server import wsgi
    server.set_app(wsgi.initialize_public_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()

    client = Client(url)
    client.token = client.password_token(
        "admin", ADMIN_PASSWORD, {"project": {"name": "admin", "domain": {"id": "default"}}})
    domain = client.create("domain", {"name": "audit-domain"})
    project_a = client.create("project", {"name": "project-a", "domain_id": domain})
    project_b = client.create("project", {"name": "project-b", "domain_id": domain})
    client.create("project", {"name": "admin-home", "domain_id": domain})
    service_project = client.create("project", {"name": "service", "domain_id": "default"})
    roles = {name: client.role_id(name)
             for name in ["audit_viewer", "cloud_audit_viewer", "service", "admin", "member"]}

    users = {}
    for name in ["viewer-a", "viewer-b", "no-role", "domain-viewer", "auditor", "audit-service"]:
        users[name] = client.create("user", {"name": name, "password": name, "domain_id": "default"})
    client.grant(roles["audit_viewer"], users["viewer-a"], project=project_a)
    client.grant(roles["audit_viewer"], users["viewer-b"], project=project_b)
    client.grant(roles["member"], users["no-role"], project=project_a)
    client.grant(roles["audit_viewer"], users["domain-viewer"], domain=domain)
    client.grant(roles["cloud_audit_viewer"], users["auditor"], project=project_b)
    client.grant(roles["admin"], users["audit-service"], project=service_project)
    client.grant(roles["service"], users["audit-service"], project=service_project)

    def project_scope(project_id):
        return {"project": {"id": project_id}}

    tokens = {
        "viewer-a": client.password_token("viewer-a", "viewer-a", project_scope(project_a)),
        "viewer-b": client.password_token("viewer-b", "viewer-b", project_scope(project_b)),
        "no-role": client.password_token("no-role", "no-role", project_scope(project_a)),
        "domain-viewer": client.password_token("domain-viewer", "domain-viewer", {"domain": {"id": domain}}),
        "auditor": client.password_token("auditor", "auditor", project_scope(project_b)),
        "admin": client.token,
    }
    print(json.dumps({
        "url": url, "domain": domain, "project_a": project_a, "project_b": project_b,
        "service": {"user": "audit-service", "password": "audit-service", "project": "service",
                    "domain": "Default"},
        "tokens": tokens,
    }), flush=True)

    def finish(*_):
        shutil.rmtree(directory, ignore_errors=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, finish)
    # Until whoever started this closes its end.
    sys.stdin.read()
    finish()


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as error:
        print(f"keystone_server.py: {' '.join(error.cmd[-2:])} failed: {error.stderr.decode(errors='replace')}",
              file=sys.stderr)
        sys.exit(1)
    except urllib.error.HTTPError as error:
        print(f"keystone_server.py: {error.url}: {error.code} {error.read().decode(errors='replace')}", file=sys.stderr)
        sys.exit(1)
