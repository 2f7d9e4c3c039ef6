"""What the checks share: the state one check leaves for a later one, and each page's axe-core run and picture."""

from api import API

# The pages axe-core must see, by the name each gets in the output and in docs/console/.
PAGES = ("signin", "reports", "report", "seals", "requests", "new-request", "request", "erase-dialog")


class State:
    def __init__(self, config):
        self.config = config
        self.addresses = []          # (check, address) of every page address and request URL
        self.notes = []              # printed at the end: axe-core's minor findings, timings
        self.violations = {}         # page -> axe-core violations
        self.access_request = None   # opened by the DPO check, for the keyboard one
        self.apis = {role: API(config.base_url, token) for role, token in config.tokens.items()}

    def api(self, role):
        return self.apis[role]


def page_seen(browser, state, page):
    """Runs axe-core on the page as it stands and takes its picture (when asked to) under `page`."""
    assert page in PAGES, page
    state.violations[page] = browser.axe()
    browser.screenshot(page)


def browser_check(function):
    function.needs_browser = True
    return function


def plain_check(function):
    function.needs_browser = False
    return function
