"""The DPO's checks: the requests list by deadline, an access request opened through the form and
its export downloaded, the API's problem+json detail on a bad form, an erasure behind the
typed confirmation, and personal data kept off lists and URLs."""

import json
import os
import re
import subprocess
import tempfile
import urllib.parse
import zipfile

from auditor_checks import in_live_region
from browser import require
from suite import browser_check, page_seen, plain_check

REQUEST_ROW = "#requests-table tr[data-request-id]"


def digits(text):
    return re.sub(r"\D", "", text)


def open_request(browser, kind, regime, verified_by, phone=None, email=None):
    """Fills the new-request form and submits it; the request id the console went on to."""
    browser.click("#nav-new-request")
    browser.wait_shown("#request-form")
    browser.fill("#request-type", kind)
    browser.fill("#request-regime", regime)
    if phone:
        browser.fill("#request-phone", phone)
    if email:
        browser.fill("#request-email", email)
    browser.fill("#request-verified-by", verified_by)
    browser.click("#request-submit")
    browser.wait(lambda: re.match(r"#/requests/dsr-[0-9a-f]+$", browser.hash()), "the new request's page")
    return browser.hash().split("/")[2]


@browser_check
def the_requests_list_by_deadline(browser, state):
    browser.sign_in_with_fragment(state.config.tokens["dpo"])
    browser.click("#nav-requests")
    browser.wait(lambda: browser.find_all(REQUEST_ROW), "rows in #requests-table")
    overdue = browser.find_all(REQUEST_ROW + ".overdue")
    require(overdue, "the world's overdue requests are marked (class overdue)")
    require(all("overdue" in row.text.lower() for row in overdue), "an overdue row says so in words")
    require(browser.shown("#requests-more"), "#requests-more offers the next page of a long list")
    page_seen(browser, state, "requests")


@browser_check
def an_access_request_through_the_form_and_its_export(browser, state):
    phone = state.config.phone
    browser.sign_in_with_fragment(state.config.tokens["dpo"])
    browser.click("#nav-new-request")
    browser.wait_shown("#request-form")
    page_seen(browser, state, "new-request")
    request_id = open_request(browser, "access", "gdpr", "call-back to the number on file", phone=phone)
    state.access_request = request_id
    browser.wait_text("#request-subject", lambda t: digits(phone) in digits(t), f"to show the person's phone ({phone})")
    browser.wait(lambda: browser.find_all("#request-history li, #request-history tr"), "#request-history to show the opening")
    require("open" in browser.text("#request-history").lower(), "the history starts with the request's opening")
    page_seen(browser, state, "request")

    browser.click("#export-download")
    path = browser.wait_download("*.zip")
    check_export(state, path, phone)
    browser.driver.refresh()
    browser.wait_text("#request-history", lambda t: "export" in t.lower(), "to show the export")


def check_export(state, path, phone):
    """The export ZIP: manifest.json lists every file with its SHA-256, its signature verifies, the phone is inside."""
    folder = tempfile.mkdtemp(prefix="export-")
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder)
        names = set(archive.namelist())
    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    listed = {entry["name"] for entry in manifest["files"]}
    require(listed == names - {"manifest.json", "manifest.sig"}, f"manifest.json lists {sorted(listed)}; the ZIP holds {sorted(names)}")
    require({"export.json", "summary.html"} <= listed, "the export holds export.json and summary.html")
    export = json.load(open(os.path.join(folder, "export.json")))
    require(digits(phone) in digits(json.dumps(export["subject"])), "the export is the person's")
    require(export["calls"], "the person's calls are in the export")
    keys = state.api("dpo").get("/v1/keys")["keys"]
    key = next(k for k in keys if k["key_id"] == manifest["signature"]["key_id"])
    with open(os.path.join(folder, "manifest-key.pem"), "w") as pem:
        pem.write(key["public_key_pem"])
    checked = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "manifest-key.pem", "-rawin",
                              "-in", "manifest.json", "-sigfile", "manifest.sig"], cwd=folder, capture_output=True, text=True)
    require(checked.returncode == 0, f"the manifest's signature verifies: {checked.stdout} {checked.stderr}")


@browser_check
def a_bad_form_shows_the_apis_problem(browser, state):
    _, problem = state.api("dpo").call("POST", "/v1/requests", {
        "type": "access", "regime": "gdpr", "subject": {"phone": "415"}, "verified_by": "call-back"})
    browser.sign_in_with_fragment(state.config.tokens["dpo"])
    browser.click("#nav-new-request")
    browser.wait_shown("#request-form")
    browser.fill("#request-type", "access")
    browser.fill("#request-regime", "gdpr")
    browser.fill("#request-phone", "415")
    browser.fill("#request-verified-by", "call-back")
    browser.click("#request-submit")
    shown = browser.wait_text("#request-error", bool, "to show the API's problem")
    require(problem and problem.get("detail") and problem["detail"] in shown,
            f"#request-error shows the problem+json detail {problem!r}: it shows {shown!r}")
    require(in_live_region(browser, "#request-error"), "#request-error is announced (role=alert)")
    require(browser.hash() == "#/requests/new", f"the form stays open: {browser.hash()}")


@browser_check
def an_erasure_behind_the_typed_confirmation(browser, state):
    email = state.config.email
    browser.sign_in_with_fragment(state.config.tokens["dpo"])
    request_id = open_request(browser, "erasure", "ccpa", "signed form", email=email.upper())
    browser.wait_text("#request-subject", lambda t: email.lower() in t.lower(), "to show the person's e-mail")
    browser.click("#erase-open")
    submit = browser.wait_shown("#erase-submit")
    require(not submit.is_enabled(), "#erase-submit is disabled before the request id is typed")
    page_seen(browser, state, "erase-dialog")
    browser.fill("#erase-confirm-id", request_id[:-1])
    require(not submit.is_enabled(), "#erase-submit stays disabled for an id that is not the request's")
    browser.fill("#erase-confirm-id", request_id)
    browser.wait(submit.is_enabled, "#erase-submit enabled once the id matches")
    browser.click("#erase-submit")
    result = browser.wait_text("#erase-result", bool, "to show what was erased")
    require("held" in result.lower(), f"#erase-result says what legal holds kept back: {result!r}")
    require(in_live_region(browser, "#erase-result"), "#erase-result is announced (role=status)")

    browser.driver.refresh()
    shown = browser.wait_text("#request-subject", lambda t: "erased" in t.lower(), "to say the person was erased")
    require(email.lower() not in shown.lower(), "the erased person's e-mail is gone from the page")
    detail = state.api("dpo").get(f"/v1/requests/{request_id}")
    require(detail["subject_erased"] is True and detail["status"] == "erased", f"the API agrees: {detail['status']}")


@browser_check
def no_personal_data_in_the_requests_list(browser, state):
    browser.sign_in_with_fragment(state.config.tokens["dpo"])
    browser.click("#nav-requests")
    browser.wait(lambda: browser.find_all(REQUEST_ROW), "rows in #requests-table")
    if state.access_request:
        browser.wait(lambda: browser.find_all(f'{REQUEST_ROW}[data-request-id="{state.access_request}"]')
                     or browser.shown("#requests-more"), "the access request listed (or a next page)")
    shown = browser.page_text() + " " + browser.driver.page_source
    require(state.config.email.lower() not in shown.lower(), "the e-mail is not on the requests list page")
    require(digits(state.config.phone)[-10:] not in digits(browser.page_text()), "the phone is not on the requests list page")


def personal_traces(state):
    return [digits(state.config.phone)[-10:], state.config.email]


@plain_check
def no_personal_data_in_any_url(state):
    """Every address the browser was at, and every request it made, in every check so far."""
    require(len(state.addresses) > 20, f"the checks visited pages: {len(state.addresses)} addresses")
    for check, address in state.addresses:
        lowered = urllib.parse.unquote_plus(address).lower()
        for trace in personal_traces(state):
            require(trace.lower() not in lowered and (not trace.isdigit() or trace not in digits(lowered)),
                    f"{check} visited {address}, which holds personal data")
