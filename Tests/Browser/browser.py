"""A headless Chromium driven through chromedriver, the way a person drives the console.

Every check gets a Browser of its own: a fresh profile, so a fresh session storage, and a
download folder of its own. The Browser remembers every address the page was at and every
request it made (Chromium's performance log), so a check can say that no personal data
went into a URL.
"""

import glob
import json
import os
import shutil
import tempfile
import time

from axe_selenium_python import Axe
from selenium import webdriver
from selenium.common.exceptions import JavascriptException, NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

CHROMEDRIVER = os.environ.get("CONSOLE_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM = os.environ.get("CONSOLE_CHROMIUM", "/usr/bin/chromium")
TOKEN_KEY = "callaudit.token"


class CheckFailed(AssertionError):
    pass


def require(condition, message):
    if not condition:
        raise CheckFailed(message)


class Browser:
    def __init__(self, config):
        self.config = config
        self.downloads = tempfile.mkdtemp(prefix="console-downloads-")
        self.addresses = []
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,1000", "--lang=en-US", "--disable-features=DownloadBubble"):
            options.add_argument(argument)
        options.add_experimental_option("prefs", {
            "download.default_directory": self.downloads, "download.prompt_for_download": False,
            "download.directory_upgrade": True, "safebrowsing.enabled": False,
        })
        # Every request the browser makes, for the check that no URL carries personal data.
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.set_script_timeout(30)
        try:
            self.driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": self.downloads})
        except Exception:
            self.driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": self.downloads})

    def close(self):
        self.collect_requests()
        self.driver.quit()
        shutil.rmtree(self.downloads, ignore_errors=True)

    # Addresses

    def url(self, path):
        return self.config.base_url + path

    def get(self, path):
        self.collect_requests()
        self.driver.get(self.url(path))
        self.note_address()

    def note_address(self):
        address = self.driver.current_url
        if not self.addresses or self.addresses[-1] != address:
            self.addresses.append(address)

    def collect_requests(self):
        """Adds the URL of every request Chromium logged since the last call to `addresses`."""
        try:
            entries = self.driver.get_log("performance")
        except Exception:
            return
        for entry in entries:
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                self.addresses.append(message["params"]["request"]["url"])

    def hash(self):
        return self.driver.execute_script("return location.hash")

    def go(self, route):
        """Follows a hash route in the page, as a link would."""
        self.driver.execute_script("location.hash = arguments[0]", route)
        self.note_address()

    # Elements

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def shown(self, css):
        try:
            return any(element.is_displayed() for element in self.find_all(css))
        except StaleElementReferenceException:
            return False

    def text(self, css):
        try:
            return " ".join(element.text for element in self.find_all(css) if element.is_displayed())
        except StaleElementReferenceException:
            return ""

    def row_ids(self, css):
        """The report or request ids of the rows `css` finds, read in one go (the page may redraw between two reads)."""
        return self.driver.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map(row => row.dataset.reportId || row.dataset.requestId)", css)

    def page_text(self):
        return self.find("body").text

    def wait(self, condition, what, seconds=20):
        """Polls `condition` (a function of nothing) until it is truthy; its value, or CheckFailed naming `what`."""
        deadline = time.monotonic() + seconds
        last = None
        while time.monotonic() < deadline:
            try:
                value = condition()
                if value:
                    self.note_address()
                    return value
            except (NoSuchElementException, StaleElementReferenceException, JavascriptException) as error:
                last = error
            time.sleep(0.05)
        self.note_address()
        raise CheckFailed(f"waited {seconds} s for {what}" + (f" ({last.__class__.__name__})" if last else "")
                          + f"; at {self.hash() or '/'}; alerts: {self.alerts()!r}")

    def wait_shown(self, css, seconds=20):
        self.wait(lambda: self.shown(css), f"{css} to be shown", seconds)
        return self.find(css)

    def wait_text(self, css, predicate, what, seconds=20):
        return self.wait(lambda: (lambda t: t if predicate(t) else None)(self.text(css)), f"{css} {what}", seconds)

    def alerts(self):
        """What the page says in its status and alert regions: the first thing to read when a check fails."""
        try:
            return [e.text for e in self.find_all('[role="status"], [role="alert"]') if e.is_displayed() and e.text]
        except Exception:
            return []

    def click(self, css):
        """Clicks the element `css` finds, found afresh if the page redrew it between finding and clicking."""
        for attempt in range(5):
            element = self.wait_shown(css)
            try:
                self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
                element.click()
                break
            except StaleElementReferenceException:
                if attempt == 4:
                    raise
                time.sleep(0.1)
        self.note_address()

    def fill(self, css, value):
        element = self.wait_shown(css)
        if element.tag_name == "select":
            self.driver.execute_script(
                "arguments[0].value = arguments[1];"
                "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));"
                "arguments[0].dispatchEvent(new Event('change', {bubbles: true}))", element, value)
            require(element.get_attribute("value") == value, f"{css} has no option {value!r}")
        elif element.get_attribute("type") == "date":
            # A date field's typed form depends on the locale: set the ISO value as a picker would.
            self.driver.execute_script(
                "arguments[0].value = arguments[1];"
                "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));"
                "arguments[0].dispatchEvent(new Event('change', {bubbles: true}))", element, value)
        else:
            element.clear()
            element.send_keys(value)

    # Sign-in

    def sign_in_with_fragment(self, token):
        self.get("/console#token=" + token)
        return self.wait_signed_in()

    def sign_in_with_form(self, token):
        self.get("/console")
        self.fill("#signin-token", token)
        self.click("#signin-submit")
        return self.wait_signed_in()

    def wait_signed_in(self):
        return self.wait_text("#whoami", lambda t: "·" in t, "to show '<name> · <role>'")

    def storage(self):
        return self.driver.execute_script(
            "return {session: Object.assign({}, sessionStorage), local: Object.assign({}, localStorage), cookie: document.cookie}")

    # Keyboard

    def press(self, *keys):
        ActionChains(self.driver).send_keys(*keys).perform()
        self.note_address()

    def focused_matches(self, css):
        return self.driver.execute_script("return !!document.activeElement && document.activeElement.matches(arguments[0])", css)

    def tab_to(self, css, limit=120):
        """Presses TAB until the focus is on an element matching `css`: how a keyboard user gets there."""
        if self.focused_matches(css):
            return
        for _ in range(limit):
            self.press(Keys.TAB)
            if self.focused_matches(css):
                return
        raise CheckFailed(f"{limit} presses of TAB never reached {css}; focus ended on {self.describe_focus()}")

    def describe_focus(self):
        return self.driver.execute_script(
            "const e = document.activeElement; return e ? e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') : 'nothing'")

    # Downloads

    def wait_download(self, pattern, seconds=30):
        """The path of the finished download whose name matches `pattern` (a glob)."""
        def finished():
            found = [p for p in glob.glob(os.path.join(self.downloads, pattern)) if not p.endswith(".crdownload")]
            partial = glob.glob(os.path.join(self.downloads, "*.crdownload"))
            return found[0] if found and not partial else None
        return self.wait(finished, f"a download named {pattern} in {os.listdir(self.downloads)}", seconds)

    # Accessibility and pictures

    def axe(self):
        """axe-core's violations on the page as it stands."""
        axe = Axe(self.driver)
        axe.inject()
        return axe.run(options='{"resultTypes": ["violations"]}')["violations"]

    def screenshot(self, name):
        if self.config.screenshots:
            os.makedirs(self.config.screenshots, exist_ok=True)
            self.driver.execute_script("window.scrollTo(0, 0)")  # a page as it opens, not where the last click left it
            self.driver.save_screenshot(os.path.join(self.config.screenshots, name + ".png"))

    def first_paint_ms(self, seconds=20):
        """When the console marked its first table drawn, in ms after navigation started."""
        return self.wait(lambda: self.driver.execute_script(
            "const m = performance.getEntriesByName('console-first-paint', 'mark'); return m.length ? m[0].startTime : null"),
            "performance.mark('console-first-paint')", seconds)
