"""The auditor's checks: sign-in, the newest day's report verified in the page, the evidence bundle
verified outside the browser, an on-demand report, the seals."""

import json
import os
import re
import shlex
import subprocess
import tarfile
import tempfile
import time

from browser import TOKEN_KEY, require
from suite import browser_check, page_seen

REPORT_ROW = "#reports-table tr[data-report-id]"


def in_live_region(browser, css):
    """Whether the element is (inside) a role=status or role=alert region: screen readers announce it."""
    return browser.driver.execute_script(
        "const e = document.querySelector(arguments[0]); return !!e && !!e.closest('[role=status], [role=alert]')", css)


def require_token_kept_in_session_only(browser, token):
    storage = browser.storage()
    require(storage["session"].get(TOKEN_KEY) == token, f"sessionStorage[{TOKEN_KEY!r}] holds the token")
    require(token not in json.dumps(storage["local"]), "the token is not in localStorage")
    require(token not in storage["cookie"], "the token is not in a cookie")
    require(not browser.driver.get_cookies(), f"the console sets no cookie: {browser.driver.get_cookies()}")
    require(token not in browser.driver.current_url and "token=" not in browser.driver.current_url,
            f"the address bar holds no token: {browser.driver.current_url}")


@browser_check
def sign_in_with_the_form(browser, state):
    token = state.config.tokens["auditor"]
    browser.get("/console")
    browser.wait_shown("#signin")
    page_seen(browser, state, "signin")
    browser.fill("#signin-token", "ca_not-a-token")
    browser.click("#signin-submit")
    browser.wait_text("#signin-error", bool, "to say a wrong token was refused")
    require(in_live_region(browser, "#signin-error"), "#signin-error is announced (role=alert or status)")
    require(TOKEN_KEY not in browser.storage()["session"], "a refused token is not kept")

    browser.fill("#signin-token", token)
    browser.click("#signin-submit")
    who = browser.wait_signed_in()
    require(who.strip().endswith("· auditor"), f"#whoami shows '<name> · auditor': {who!r}")
    require_token_kept_in_session_only(browser, token)

    browser.click("#signout")
    browser.wait_shown("#signin")
    require(TOKEN_KEY not in browser.storage()["session"], "signing out forgets the token")


@browser_check
def sign_in_with_the_fragment(browser, state):
    token = state.config.tokens["auditor"]
    browser.sign_in_with_fragment(token)
    browser.wait(lambda: "token" not in browser.driver.current_url, "#token= to be cleared from the address bar")
    require_token_kept_in_session_only(browser, token)
    browser.driver.refresh()
    browser.wait_signed_in()

    # A link carrying someone else's token does not sign this tab in as them: it is offered, and taken only when asked.
    other = state.config.tokens["dpo"]
    browser.get("/console#token=" + other)
    browser.wait_shown("#token-offer")
    require(in_live_region(browser, "#token-offer-switch"), "the offer is announced (role=alert)")
    require(browser.wait_signed_in().strip().endswith("· auditor"), "still signed in as the auditor while the offer stands")
    require(browser.storage()["session"].get(TOKEN_KEY) == token, "the tab keeps its token until the person switches")
    require("token=" not in browser.driver.current_url, "the offered token is cleared from the address bar too")
    browser.click("#token-offer-switch")
    browser.wait_text("#whoami", lambda t: t.strip().endswith("· dpo"), "to show the link's identity after switching")
    require(browser.storage()["session"].get(TOKEN_KEY) == other, "switching keeps the link's token for the tab")


def newest_day(state):
    """The newest day's report as the API lists it (newest period first)."""
    reports = state.api("auditor").get("/v1/reports?kind=day")["reports"]
    require(reports, "the world has daily reports")
    return reports[0]


def open_report_from_the_list(browser, state, report):
    browser.click("#nav-reports")
    browser.wait(lambda: browser.find_all(REPORT_ROW), "rows in #reports-table")
    browser.fill("#filter-kind", "day")
    browser.wait(lambda: (lambda ids: ids and ids[0] == report["report_id"] and all(i.startswith("day-") for i in ids))(
        browser.row_ids(REPORT_ROW)), f"daily reports only, {report['report_id']} first")
    browser.click(f'{REPORT_ROW}[data-report-id="{report["report_id"]}"] a')
    browser.wait(lambda: browser.hash().startswith("#/reports/" + report["report_id"]), "the report's own page")
    return wait_verified(browser, report["key_id"])


def wait_verified(browser, key_id, seconds=30):
    verdict = browser.wait_text("#report-verify", lambda t: "verified" in t and key_id in t,
                                f"to say verified with key {key_id}", seconds)
    require("NOT verified" not in verdict, f"the signature checks out in the browser: {verdict!r}")
    return verdict


@browser_check
def the_newest_days_report_is_verified_in_the_page(browser, state):
    report = newest_day(state)
    browser.sign_in_with_fragment(state.config.tokens["auditor"])
    browser.click("#nav-reports")
    browser.wait(lambda: len(browser.find_all(REPORT_ROW)) > 1, "rows in #reports-table")
    require(browser.shown("#reports-more"), "#reports-more offers the next page of a long list")
    shown = len(browser.find_all(REPORT_ROW))
    browser.click("#reports-more")
    browser.wait(lambda: len(browser.find_all(REPORT_ROW)) > shown, "#reports-more to add rows")
    page_seen(browser, state, "reports")

    open_report_from_the_list(browser, state, report)
    require(browser.text("main#page h1"), "the report page has a heading")
    browser.wait(lambda: browser.find_all("#report-versions li"), "#report-versions to list the versions")
    require(f"{report['version']}" in browser.text("#report-versions"), "the current version is listed")
    require(browser.shown("#report-changes") or browser.find_all("#report-changes"), "#report-changes is on the page")
    browser.wait_shown("#report-findings")
    if report["findings"]:
        browser.wait(lambda: browser.find_all("#report-findings tbody tr"), "#report-findings to list the findings")
    page_seen(browser, state, "report")


@browser_check
def the_bundle_verifies_outside_the_browser(browser, state):
    report = newest_day(state)
    browser.sign_in_with_fragment(state.config.tokens["auditor"])
    browser.go("#/reports/" + report["report_id"])
    wait_verified(browser, report["key_id"])
    browser.click("#report-bundle")
    name = f"callaudit-{report['report_id']}-v{report['version']}"
    verify_bundle(state, browser.wait_download(name + ".tar"), report["key_id"], name)


def verify_bundle(state, path, key_id, name):
    """Unpacks the bundle and runs its README's OpenSSL and `callaudit verify` steps, as an auditor would."""
    outside = tempfile.mkdtemp(prefix="bundle-")
    with tarfile.open(path) as bundle:
        bundle.extractall(outside, filter="data")
    require(os.listdir(outside) == [name], f"everything unpacks into the folder {name}/: {os.listdir(outside)}")
    folder = os.path.join(outside, name)
    names = set(os.listdir(folder))
    expected = {"report.json", "report.sig", "signature.json", "keys.json", f"key-{key_id}.pem", "proofs.json",
                "report.csv", "report.html", "README.md"}
    require(expected <= names, f"the bundle holds {sorted(expected)}: it holds {sorted(names)}")
    require(os.path.getsize(os.path.join(folder, "report.sig")) == 64, "report.sig is 64 raw bytes")

    readme = open(os.path.join(folder, "README.md"), encoding="utf-8").read()
    openssl = command_in(readme, "openssl pkeyutl -verify")
    require(openssl == ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", f"key-{key_id}.pem", "-rawin",
                        "-in", "report.json", "-sigfile", "report.sig"], f"README's OpenSSL step: {openssl}")
    checked = run(openssl, folder)
    require(checked.returncode == 0 and "Signature Verified Successfully" in checked.stdout,
            f"OpenSSL verifies the bundle as its README says: {checked.stdout} {checked.stderr}")

    verify = command_in(readme, "callaudit verify")
    require("--proofs" in verify, f"README's callaudit verify step checks the proofs: {verify}")
    checked = run([state.config.binary] + verify[1:], folder)
    require(checked.returncode == 0, f"callaudit verify, as the README says: {checked.stdout} {checked.stderr}")

    with open(os.path.join(folder, "report.json"), "r+b") as report:
        first = report.read(1)
        report.seek(0)
        report.write(b" " if first != b" " else b"\n")
    require(run(openssl, folder).returncode != 0, "OpenSSL refuses the report once a byte changed")


def command_in(readme, start):
    """The README's first command line beginning with `start` (in a code block, perhaps after a `$ ` prompt), as argv."""
    for line in readme.splitlines():
        line = line.strip().strip("`").removeprefix("$ ").strip()
        if line.startswith(start):
            return shlex.split(line, comments=True)
    raise AssertionError(f"the bundle's README has no line starting {start!r}:\n{readme}")


def run(argv, folder):
    return subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=120)


@browser_check
def an_on_demand_report_shows_the_wait_then_the_report(browser, state):
    browser.sign_in_with_fragment(state.config.tokens["auditor"])
    browser.click("#nav-reports")
    browser.wait(lambda: browser.find_all(REPORT_ROW), "rows in #reports-table")
    # The newest day again, as a provisional report: the range is inclusive of its start, exclusive of its end.
    period = newest_day(state)["period"]
    browser.fill("#generate-from", period["from"][:10])
    browser.fill("#generate-to", period["to"][:10])
    require(in_live_region(browser, "#generate-status"), "#generate-status is announced (role=status)")
    # Every text #generate-status shows, however briefly: a fast generation may show the wait for a moment only.
    browser.driver.execute_script("""
        window.statusesSeen = [];
        new MutationObserver(() => {
            const text = (document.querySelector('#generate-status') || {}).textContent;
            if (text && text.trim() && !window.statusesSeen.includes(text.trim())) window.statusesSeen.push(text.trim());
        }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});""")
    browser.click("#generate-submit")
    browser.wait(lambda: browser.hash().startswith("#/reports/adhoc-"), "the on-demand report's page", seconds=90)
    said = browser.driver.execute_script("return window.statusesSeen")
    require(said, "#generate-status showed the wait")
    signature = state.api("auditor").get(f"/v1/reports/{browser.hash().split('/')[2].split('?')[0]}/signature")
    wait_verified(browser, signature["key_id"], seconds=60)
    require("provisional" in browser.page_text().lower(), "the on-demand report says it is provisional")
    state.notes.append(f"note  the on-demand report's wait said: {said}")


@browser_check
def the_seals_with_the_chain_head(browser, state):
    head = state.api("auditor").get("/v1/seals/head")
    require(head["count"] >= 1 and head["head"], f"the world has seals: {head}")
    browser.sign_in_with_fragment(state.config.tokens["auditor"])
    browser.click("#nav-seals")
    browser.wait(lambda: browser.find_all("#seals-table tbody tr"), "rows in #seals-table")
    # serve seals every 10 s, so the head may have moved on since the API was asked: any seal at or past it will do.
    shown = browser.wait_text("#seals-head", lambda t: any(int(n) >= head["head"]["seal"] for n in re.findall(r"seal (\d+)", t)),
                              f"to name the head seal ({head['head']['seal']} or later)")
    newest = int(re.findall(r"seal (\d+)", shown)[0])
    first = browser.driver.execute_script("return document.querySelector('#seals-table tbody tr').dataset.seal")
    require(int(first) >= newest, f"#seals-table lists the newest seal first: {first}, the head {newest}")
    require(head["head"]["body"]["key_id"] in shown, "the chain head names its signing key")
    page_seen(browser, state, "seals")
