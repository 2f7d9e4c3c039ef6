#!/usr/bin/env python3
"""The console (/console) in a real browser: Selenium drives Debian's chromium through
chromium-driver as an auditor, a DPO and ops would, and axe-core checks every page.

Run by the Swift test ConsoleBrowserTests (which prepares the service and the data), or by
hand against a running service, for instance after ./ops/demo:

    CONSOLE_BASE_URL=http://127.0.0.1:8080 CONSOLE_AUDITOR_TOKEN=… CONSOLE_DPO_TOKEN=… CONSOLE_OPS_TOKEN=… \\
    CONSOLE_PHONE='+1 (415) 555-1001' CONSOLE_EMAIL=regular.3@example.com CONSOLE_FIRST_PAINT_ROWS=0 CALLAUDIT_BINARY=.build/debug/callaudit \\
    python3 Tests/Browser/console_test.py [check …]

CONSOLE_PHONE names a person with calls in the store (an access request is opened for them),
CONSOLE_EMAIL another (an erasure request is opened and carried out: they are erased).
CONSOLE_SCREENSHOTS=docs/console saves a picture of each page there. CONSOLE_FIRST_PAINT_MS
is the first paint's budget (1000), over lists of at least CONSOLE_FIRST_PAINT_ROWS rows each
(10000, as ConsoleBrowserTests seeds them; 0 against a demo). A few checks expect that world
(overdue requests, lists longer than a page): the_newest_days_report_is_verified_in_the_page,
the_requests_list_by_deadline and, after them, axe_core_finds_nothing_serious_on_any_page;
against a demo, name the other checks to run.
Exits 1 when a check fails, after running every check.
"""

import os
import re
import sys
import time
import traceback
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from browser import Browser, CheckFailed  # noqa: E402
import checks  # noqa: E402


class Config:
    def __init__(self, env):
        def needed(name):
            value = env.get(name)
            if not value:
                sys.exit(f"console_test.py: set {name} (see the top of this file)")
            return value
        self.base_url = needed("CONSOLE_BASE_URL").rstrip("/")
        self.tokens = {role: needed(f"CONSOLE_{role.upper()}_TOKEN") for role in ("auditor", "dpo", "ops")}
        self.phone = env.get("CONSOLE_PHONE", "+1 (415) 555-0100")
        self.email = needed("CONSOLE_EMAIL")
        # Absolute: the bundle's checks run it from the folder the bundle unpacked into.
        binary = env.get("CALLAUDIT_BINARY", "callaudit")
        self.binary = os.path.abspath(binary) if os.sep in binary else binary
        self.screenshots = env.get("CONSOLE_SCREENSHOTS")
        self.first_paint_budget_ms = float(env.get("CONSOLE_FIRST_PAINT_MS", "1000"))
        self.first_paint_rows = int(env.get("CONSOLE_FIRST_PAINT_ROWS", "10000"))


def summary(error):
    """A check's failure in words: all of ours, the first line of Selenium's (the rest is chromedriver's stack)."""
    text = str(error) or repr(error)
    return text if isinstance(error, CheckFailed) else text.splitlines()[0]


def served_status(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError as error:
        return str(error)


def main(argv):
    config = Config(os.environ)
    wanted = set(argv[1:])
    unknown = wanted - {name for name, _ in checks.ALL}
    if unknown:
        sys.exit(f"no such check: {', '.join(sorted(unknown))}; the checks: {', '.join(name for name, _ in checks.ALL)}")
    served = served_status(config.base_url + "/console")
    if served != 200:
        print(f"FAIL  the console is not served: GET /console answers {served}")
        return 1
    state = checks.State(config)
    failed = []
    started = time.monotonic()
    for name, check in checks.ALL:
        if wanted and name not in wanted:
            continue
        began = time.monotonic()
        browser = None
        try:
            if check.needs_browser:
                browser = Browser(config)
            check(browser, state) if browser else check(state)
            print(f"ok    {name} ({time.monotonic() - began:.1f} s)", flush=True)
        except Exception as error:  # a check's failure is reported and the next check runs
            failed.append(name)
            print(f"FAIL  {name} ({time.monotonic() - began:.1f} s): {summary(error)}", flush=True)
            if not isinstance(error, CheckFailed):
                # chromedriver's native stack ("#3 0x55f0…") says nothing about the console: left out.
                lines = "".join(traceback.format_exception(error, limit=4)).splitlines()
                print("\n".join(line for line in lines if not re.match(r"\s*#\d+ 0x", line)), flush=True)
            if browser:
                print(f"      at {browser.driver.current_url!r}; the page says: {browser.alerts()!r}", flush=True)
        finally:
            if browser:
                for address in browser.addresses:
                    state.addresses.append((name, address))
                browser.close()
    for line in state.notes:
        print(line)
    total = time.monotonic() - started
    if failed:
        print(f"{len(failed)} check(s) failed in {total:.0f} s: {', '.join(failed)}")
        return 1
    print(f"every check passed in {total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
