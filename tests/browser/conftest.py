"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Every test gets a fresh browser context (no cookies from another test). While it runs, the
page records Content-Security-Policy violations and requests to any host other than the live
server; either one fails the test, since the site must work under its CSP and without any
outside host.

`axe_violations(page)` runs axe-core (npm package, injected from node_modules) on the page
and returns the serious and critical violations.
"""

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail

# Playwright's sync API runs an asyncio loop in this thread; Django's ORM refuses to run
# beside a loop unless told it is safe (it is: the ORM calls here are synchronous).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE_SCRIPT = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
# Playwright waits this long (ms) for an element or a navigation before it fails a step.
STEP_TIMEOUT_MS = 30_000


def pytest_collection_modifyitems(config, items):
    """Everything under tests/browser is a browser test, marked or not."""
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser(django_db_setup):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (make install)")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Playwright's sync API leaves an event loop running in this thread, and from then on
    # Django hands out new connection objects (its connection store is per event loop).
    # The test database's serialized copy, which `serialized_rollback` restores after each
    # transactional test, hangs on the old objects: carry it over, or every transactional
    # test after the first would start from an empty database (no Wagtail root page).
    serialized = {
        alias: getattr(connections[alias], "_test_serialized_contents", None)
        for alias in connections
    }
    playwright = sync_playwright().start()
    for alias, contents in serialized.items():
        if contents is not None:
            connections[alias]._test_serialized_contents = contents
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture(autouse=True)
def _fresh_rate_limits_and_outbox():
    """Each browser test starts with an empty cache (rate-limit counters) and outbox."""
    from django.core.cache import cache

    cache.clear()
    mail.outbox = []
    yield
    cache.clear()


class PageProblems:
    """What a page did that the site forbids: CSP violations and requests to other hosts."""

    def __init__(self, allowed_host):
        self.allowed_host = allowed_host
        self.csp_violations = []
        self.outside_requests = []

    def on_console(self, message):
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.csp_violations.append(text)

    def on_request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme in {"data", "blob", "about", "chrome-extension"}:
            return
        if parts.hostname not in self.allowed_host:
            self.outside_requests.append(request.url)


@pytest.fixture
def page(browser, live_server, django_db_serialized_rollback):
    """A new page in a new browser context, with base_url set to the live server.

    The live server needs a transactional database, which is emptied after each test; the
    serialized rollback puts back what the migrations created (Wagtail's root page and
    locale, the staff groups) so every test starts from the same database.
    """
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(STEP_TIMEOUT_MS)
    new_page = context.new_page()
    problems = PageProblems(allowed_host={urlsplit(live_server.url).hostname})
    new_page.on("console", problems.on_console)
    new_page.on("request", problems.on_request)
    new_page.problems = problems
    yield new_page
    context.close()
    assert problems.csp_violations == [], (
        "the page broke its Content-Security-Policy:\n" + "\n".join(problems.csp_violations)
    )
    assert problems.outside_requests == [], "the page requested another host"


def axe_violations(page, impacts=("serious", "critical")):
    """Run axe-core on the page; return the violations of the given impact levels.

    The script goes in through DevTools' evaluate, which the page's CSP does not govern, so
    axe runs on the page exactly as visitors get it (no CSP bypass, no inline <script>).
    """
    page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8") + "\n;void 0;")
    results = page.evaluate(
        """async () => {
            const results = await axe.run(document, {resultTypes: ["violations"]});
            return results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
            }));
        }"""
    )
    return [violation for violation in results if violation["impact"] in impacts]


def assert_accessible(page):
    violations = axe_violations(page)
    assert violations == [], "\n".join(
        f"{v['impact']}: {v['id']} ({v['help']}) at {v['targets']}" for v in violations
    )


def last_email(to=None):
    """The most recent email in Django's outbox, optionally the last one to an address."""
    messages = [m for m in mail.outbox if to is None or to in m.to]
    assert messages, f"no email was sent{f' to {to}' if to else ''}"
    return messages[-1]


LINK = re.compile(r"https?://[^\s<>\"']+")


def links_in(message):
    """Every absolute link in an email's plain-text body, in order."""
    return LINK.findall(message.body)


def local_path(url):
    """The path and query of a link, so the browser follows it on the live server."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
