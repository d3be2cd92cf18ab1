"""Drive headless Chromium over the DevTools protocol through the console.

Usage: console.py <server url> <admin key> <screenshot path>

Checks, in order: the page asks for a key (auth is on); with the key it goes
live and lists the rules; an order dispatched through the API shows in the
live feed and moves the counters; a click on its id shows its audit record
with the card number redacted; an order waiting for approval is approved
with the approve button; the page logged no error and no policy violation.
Ends with a screenshot.
"""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

import websocket

ORDER = "rules/ecommerce/samples/standard-order.json"


class Page:
    """One tab: commands by id; events (exceptions, log entries) kept."""

    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, suppress_origin=True, timeout=30)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            if "method" in message:
                self.events.append(message)

    def eval(self, expression):
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, what, expression, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.eval(expression)
            if value:
                return value
            time.sleep(0.2)
        status = self.eval("document.getElementById('status').textContent")
        raise AssertionError(f"timed out waiting for {what} (status: {status!r})")

    def problems(self):
        found = []
        for event in self.events:
            if event["method"] == "Runtime.exceptionThrown":
                found.append(event["params"]["exceptionDetails"].get("text", "exception"))
            if event["method"] == "Log.entryAdded":
                entry = event["params"]["entry"]
                if entry.get("level") == "error" and "401" not in entry.get("text", ""):
                    found.append(entry.get("text", ""))
        return found


def start_chromium(profile):
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if not binary:
        sys.exit("chromium is not installed")
    process = subprocess.Popen(
        [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
         f"--user-data-dir={profile}", "--window-size=1400,1100", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    for line in process.stderr:
        match = re.search(r"DevTools listening on ws://([^/]+)/", line)
        if match:
            # Keep reading so that Chromium never blocks on a full pipe.
            threading.Thread(target=lambda: process.stderr.read(), daemon=True).start()
            return process, match.group(1)
    sys.exit("chromium exited before its DevTools endpoint was up")


def call(url, key, method, path, body=None):
    request = urllib.request.Request(
        f"{url}{path}", data=None if body is None else json.dumps(body).encode(), method=method,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers, json.load(response)


def dispatch(url, key, total_cents=None):
    with open(ORDER, encoding="utf-8") as f:
        order = json.load(f)
    order["dedup_key"] = f"browser-{uuid.uuid4()}"
    if total_cents is not None:
        order["payload"]["total_cents"] = total_cents
    headers, outcome = call(url, key, "POST", "/v1/dispatch", order)
    return headers["x-action-id"], outcome


def text_of(selector):
    return f"(document.querySelector({json.dumps(selector)}) || {{}}).textContent || ''"


def main():
    url, key, screenshot = sys.argv[1:4]
    profile = tempfile.mkdtemp()
    chromium, devtools = start_chromium(profile)
    try:
        targets = json.load(urllib.request.urlopen(f"http://{devtools}/json/list", timeout=10))
        page = Page(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log"):
            page.call(f"{domain}.enable")
        page.call("Page.navigate", url=f"{url}/ui")
        page.wait_for("the page", "document.readyState === 'complete'")

        page.wait_for("the key prompt", f"{text_of('#status')}.includes('API key is needed')")
        page.eval(
            f"document.getElementById('key').value = {json.dumps(key)};"
            "document.getElementById('login').requestSubmit(); true"
        )
        page.wait_for("the live stream", f"{text_of('#status')} === 'live'")
        page.wait_for("the rules", "document.querySelectorAll('#rules tr').length > 0")
        page.wait_for("the counters", "document.getElementById('counter-dispatched') !== null")
        before = int(page.eval(text_of("#counter-dispatched b")) or 0)

        action_id, outcome = dispatch(url, key)
        print(f"dispatched {action_id}: {json.dumps(outcome)[:120]}")
        # A second order, so that the feed and the chart hold more than one.
        other_id, _ = dispatch(url, key)
        row = f"[...document.querySelectorAll('#feed tr')].find(r => r.textContent.includes({json.dumps(action_id)}))"
        page.wait_for("the order in the live feed", f"!!{row}")
        page.wait_for("the second order", f"{text_of('#feed')}.includes({json.dumps(other_id)})")
        page.wait_for(
            "the dispatched counter to move",
            f"Number({text_of('#counter-dispatched b')}) >= {before + 2}",
        )
        page.wait_for("a bar of the outcome chart", f"{text_of('#legend')}.includes('peak')")
        page.eval(f"{row}.querySelector('td.id').click(); true")
        record = page.wait_for(
            "the audit record",
            f"!document.getElementById('record').hidden && {text_of('#record')}",
        )
        assert action_id in record, record[:200]
        assert "4242" not in record and "[REDACTED]" in record, "card_last4 is not redacted"

        # An order over $500 waits for approval. It is dispatched with an
        # operator key of its own (nobody approves their own request) and
        # approved with the console's approve button.
        _, operator = call(url, key, "POST", "/v1/auth/keys", {
            "name": "browser-dispatcher", "role": "operator",
            "grants": [{"tenants": ["acme-store"], "namespaces": ["ecommerce"],
                        "providers": ["*"], "actions": ["*"]}],
        })
        _, pending = dispatch(url, operator["key"], total_cents=75_000)
        approval = pending["PendingApproval"]["approval_id"]
        page.wait_for("the pending approval", "document.querySelectorAll('#approvals li').length === 1")
        page.eval("document.querySelector('#approvals li button').click(); true")
        page.wait_for("the approval to leave the list", "document.querySelectorAll('#approvals li').length === 0")
        _, decided = call(url, key, "GET", f"/v1/approvals/ecommerce/acme-store/{approval}")
        assert decided["status"] == "approved", decided
        assert decided["decided_by"], decided

        problems = page.problems()
        assert not problems, f"the page logged errors: {problems}"

        shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        os.makedirs(os.path.dirname(screenshot) or ".", exist_ok=True)
        with open(screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print(f"console OK; screenshot in {screenshot}")
    finally:
        chromium.kill()
        chromium.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
