"""The browser harness itself: its accessibility and CSP checks must be able to fail."""

import pytest

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.browser


def test_axe_reports_an_image_without_alternative_text(page):
    page.set_content("<html lang='en'><title>t</title><main><img src='data:,'></main></html>")
    violations = axe_violations(page)
    assert [violation["id"] for violation in violations] == ["image-alt"]


def test_an_inline_script_is_refused_by_the_sites_csp_and_recorded(page):
    page.goto("/accounts/login/")
    with page.expect_console_message(lambda message: "Content Security Policy" in message.text):
        page.evaluate(
            """() => {
                const script = document.createElement("script");
                script.textContent = "document.body.dataset.inline = 'ran'";
                document.head.appendChild(script);
            }"""
        )
    assert page.evaluate("document.body.dataset.inline") is None
    assert any("Content Security Policy" in text for text in page.problems.csp_violations)
    # Recorded as expected: clear it so the fixture's own check passes.
    page.problems.csp_violations.clear()
