#!/usr/bin/env python3
# AuditTrail — the web page in a real browser
# SPDX-License-Identifier: Apache-2.0
"""Drive the web page of `audit-trail serve` in headless Chromium and print what it showed.

    web_page_check.py --url http://127.0.0.1:PORT/ui/ --token A --other-token B \
        --bad-token X [--screenshots DIR] [--chromium PATH]

Chromium is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: file
descriptors 3 and 4, NUL-terminated JSON messages), so this needs Python's standard library
only. The script acts as a person would (types a token, picks a filter, clicks through pages
and into a call, signs out and in again as another project and as a cloud admin) and prints one JSON object of what each step showed;
the Swift test (Tests/AuditServerTests/WebPageTests.swift) judges it. Exit status 2: no
Chromium; 1: the browser could not be driven (a step timed out), with the error on stderr.
"""

import argparse
import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time


class Browser:
    """One headless Chromium and one page in it, over the DevTools pipe."""

    def __init__(self, executable, profile):
        ours_read, chrome_write = os.pipe()
        chrome_read, ours_write = os.pipe()

        def child_fds():
            # Chromium reads commands on fd 3 and writes replies and events on fd 4. The pipe
            # ends are duplicated first: one of them may already be 3 or 4, and os.dup2 of a
            # descriptor onto itself would leave it close-on-exec.
            read_end, write_end = os.dup(chrome_read), os.dup(chrome_write)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self.process = subprocess.Popen(
            [
                executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--window-size=1400,1000",
                f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank",
            ],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=child_fds,
        )
        os.close(chrome_read)
        os.close(chrome_write)
        self.commands = os.fdopen(ours_write, "wb")
        self.replies = ours_read
        self.buffer = b""
        self.next_id = 0
        self.session = None
        self.log = []  # console errors and browser log entries (CSP violations land here)
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def close(self):
        try:
            self.session = None
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self.replies)

    def _message(self, deadline):
        while b"\0" not in self.buffer:
            # Wait for the pipe no longer than the deadline: a hung browser fails the step.
            readable, _, _ = select.select([self.replies], [], [], max(0, deadline - time.monotonic()))
            if not readable:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self.replies, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self.buffer += chunk
        text, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(text)

    def call(self, method, params=None, timeout=30):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session:
            message["sessionId"] = self.session
        self.commands.write(json.dumps(message).encode() + b"\0")
        self.commands.flush()
        deadline = time.monotonic() + timeout
        while True:
            reply = self._message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._event(reply)

    def _event(self, event):
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning"):
            self.log.append(" ".join(str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.log.append(details.get("exception", {}).get("description", details.get("text", "exception")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            # A page's own 401/403 answers are expected: the network layer logs each.
            if entry.get("source") != "network":
                self.log.append(entry.get("text", ""))

    def evaluate(self, expression, timeout=30):
        """The value of a JavaScript expression (a promise is awaited)."""
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise RuntimeError(details.get("exception", {}).get("description", details.get("text")))
        return result.get("result", {}).get("value")

    def wait_for(self, condition, what, timeout=15):
        """Waits in the page until a JavaScript condition holds (checked each animation frame)."""
        self.evaluate(
            "new Promise((resolve, reject) => {"
            f" const until = Date.now() + {int(timeout * 1000)};"
            f" const check = () => {{ if ({condition}) resolve(true);"
            f" else if (Date.now() > until) reject(new Error({json.dumps('timed out waiting for ' + what)}));"
            " else requestAnimationFrame(check); };"
            " check(); })",
            timeout=timeout + 5,
        )

    def navigate(self, url):
        self.call("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete'", "the page to load")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as file:
            file.write(base64.b64decode(data))


# What a step of the page shows, read from the DOM.
ROWS = """Array.from(document.querySelectorAll('#calls tbody tr')).map((row) => ({
  id: row.dataset.id,
  outcome: row.querySelector('.badge').textContent,
  project: row.querySelector('.project').textContent,
  latency: row.querySelector('.latency').textContent,
}))"""
HOSTILE = "<img src=x onerror=\"document.title='changed'\">"
SETTLED = "!document.body.classList.contains('busy')"
VISIBLE = "!document.getElementById('{0}').hidden"


def sign_in(browser, token):
    browser.wait_for(VISIBLE.format("login"), "the sign-in form")
    browser.evaluate("document.getElementById('token').focus()")
    browser.call("Input.insertText", {"text": token})
    browser.evaluate("document.getElementById('login-form').requestSubmit()")
    browser.wait_for(
        f"{SETTLED} && (!document.getElementById('main').hidden || !document.getElementById('message').hidden)",
        "the first page of calls or a message",
    )


def search(browser, **fields):
    """Sets the filter form's fields (name=value; True/False for a checkbox) and submits it."""
    assignments = "".join(
        f"form.elements[{json.dumps(name.replace('_', '-') if name != 'project_id' else name)}]"
        + (f".checked = {json.dumps(value)};" if isinstance(value, bool) else f".value = {json.dumps(value)};")
        for name, value in fields.items()
    )
    browser.evaluate(f"(() => {{ const form = document.getElementById('filters'); {assignments} form.requestSubmit(); }})()")
    browser.wait_for(SETTLED, "the calls")


def click(browser, selector, what):
    browser.evaluate(f"document.querySelector({json.dumps(selector)}).click()")
    browser.wait_for(SETTLED, what)


def message(browser):
    return browser.evaluate("document.getElementById('message').hidden ? null : document.getElementById('message').textContent")


def run(arguments, browser):
    shots = arguments.screenshots
    result = {}
    browser.navigate(arguments.url)
    result["title"] = browser.evaluate("document.title")

    # A project's token: its calls, newest first.
    sign_in(browser, arguments.token)
    result["message_after_sign_in"] = message(browser)
    result["stored_token"] = browser.evaluate(f"sessionStorage.getItem('auditTrail.token') === {json.dumps(arguments.token)}")
    result["first_page"] = browser.evaluate(ROWS)
    if shots:
        browser.screenshot(os.path.join(shots, "web-page-list.png"))

    # Outcome failure narrows the table.
    search(browser, outcome="failure")
    result["failures"] = browser.evaluate(ROWS)
    if shots:
        browser.screenshot(os.path.join(shots, "web-page-failures.png"))

    # The negation: everything but failures.
    search(browser, outcome="", **{"not": "outcome=failure"})
    result["not_failures"] = browser.evaluate(ROWS)

    # A time range: since a given instant (the page passes it as the API's `since`).
    search(browser, since=arguments.since, **{"not": ""})
    result["since"] = browser.evaluate(ROWS)

    # Paging by cursor: 25 a page, oldest first, forward and back.
    search(browser, since="", limit="25", desc=False)
    result["page_1"] = browser.evaluate(ROWS)
    click(browser, "#next", "page 2")
    result["page_2"] = browser.evaluate(ROWS)
    result["page_2_info"] = browser.evaluate("document.getElementById('page-info').textContent")
    click(browser, "#previous", "page 1 again")
    result["page_1_again"] = browser.evaluate(ROWS)

    # One call, found by its id: both notifications, their sources, the verification.
    search(browser, id=arguments.open_call)
    result["id_search"] = browser.evaluate(ROWS)
    if arguments.request_id:
        search(browser, id="", request_id=arguments.request_id)
        result["request_id_search"] = browser.evaluate(ROWS)
        search(browser, request_id="", id=arguments.open_call)
    click(browser, "#calls tbody tr", "the call")
    browser.wait_for(VISIBLE.format("detail"), "the call's detail")
    result["detail"] = browser.evaluate("""(() => {
      const half = (name) => {
        const article = document.getElementById('detail-' + name);
        const parse = (text) => { try { return JSON.parse(text); } catch (_) { return null; } };
        const stored = article.querySelector('pre.stored').textContent;
        return {
          source: article.querySelector('.source').textContent,
          json: parse(stored),
          lines: stored.split('\\n').length,
          decoded: article.querySelector('.decoded').hidden ? null : parse(article.querySelector('.decoded pre').textContent),
        };
      };
      return {
        id: document.getElementById('detail-id').textContent,
        request: half('request'),
        response: half('response'),
        logs: Array.from(document.querySelectorAll('#detail-logs > li')).map((item) => item.textContent),
        listHidden: document.getElementById('list').hidden,
        address: window.location.hash,
      };
    })()""")
    if shots:
        browser.screenshot(os.path.join(shots, "web-page-call.png"))
    click(browser, "#back", "the list")
    result["back_to_list"] = browser.evaluate("!document.getElementById('list').hidden && location.hash === ''")

    # The call's address, loaded afresh in the same tab (the token is in session storage).
    browser.navigate(arguments.url + "?linked#call/" + arguments.open_call)
    browser.wait_for(f"{SETTLED} && {VISIBLE.format('detail')}", "the linked call")
    result["linked_call"] = browser.evaluate("document.getElementById('detail-id').textContent")

    # Text the server echoes back (a 400 quoting the bad value) stays text: no element made of
    # it, no handler run (the policy would also block an inline one, and the log would say so).
    search(browser, status=HOSTILE)
    result["hostile_message"] = message(browser)
    result["hostile_elements"] = browser.evaluate("document.querySelectorAll('#message *, img').length")
    result["title_after_hostile"] = browser.evaluate("document.title")

    # Another project's token sees only its own.
    click(browser, "#sign-out", "signing out")
    result["token_after_sign_out"] = browser.evaluate("sessionStorage.getItem('auditTrail.token')")
    sign_in(browser, arguments.other_token)
    result["other_first_page"] = browser.evaluate(ROWS)

    # A project_id the token may not see: 403, said so.
    search(browser, project_id=arguments.foreign_project)
    result["forbidden_message"] = message(browser)
    click(browser, "#sign-out", "signing out")

    # A cloud admin sees every project, and may pick one.
    sign_in(browser, arguments.admin_token)
    result["admin_first_page"] = browser.evaluate(ROWS)
    search(browser, project_id=arguments.foreign_project)
    result["admin_picked_project"] = browser.evaluate(ROWS)
    click(browser, "#sign-out", "signing out")

    # An unknown token: 401, said so, and asked again.
    sign_in(browser, arguments.bad_token)
    result["bad_token_message"] = message(browser)
    result["login_shown_after_401"] = browser.evaluate(VISIBLE.format("login"))
    result["token_after_401"] = browser.evaluate("sessionStorage.getItem('auditTrail.token')")
    if shots:
        browser.screenshot(os.path.join(shots, "web-page-401.png"))
    result["log"] = browser.log
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True, help="a project's token")
    parser.add_argument("--other-token", required=True, help="another project's token")
    parser.add_argument("--bad-token", required=True, help="a token the server does not know")
    parser.add_argument("--admin-token", required=True, help="a cloud admin's token")
    parser.add_argument("--foreign-project", required=True, help="a project --other-token may not see")
    parser.add_argument("--since", required=True, help="a time for the time-range step")
    parser.add_argument("--open-call", required=True, help="the id of a call of --token's project to open")
    parser.add_argument("--request-id", help="the request id of --open-call, to filter by")
    parser.add_argument("--screenshots", help="a directory for PNG screenshots of each view")
    parser.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser"))
    arguments = parser.parse_args()
    if not arguments.chromium or not os.path.exists(arguments.chromium):
        print("no Chromium: install Debian's chromium package", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="audit-trail-chromium-") as profile:
        browser = Browser(arguments.chromium, profile)
        try:
            result = run(arguments, browser)
        except Exception as error:  # the step that failed, for the test's message
            print(f"web_page_check: {type(error).__name__}: {error}; browser log: {browser.log}", file=sys.stderr)
            return 1
        finally:
            browser.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
