"""The post-test of a home-study course in Chromium, on a desktop and on a phone: fail, see the
score without the answers, try again, pass and read the feedback per question."""

import re

import pytest
from playwright.sync_api import expect

from certification.models import PostTestAttempt
from tests.accounts_support import log_in_browser, make_member
from tests.browser.conftest import assert_accessible
from tests.integration.test_post_tests import make_bank, make_post_test_seat

pytestmark = pytest.mark.browser

# Question -> (its right choices, its wrong choices); choice texts unique on the page.
QUESTIONS = {
    "Which measure tracks the alliance?": (["Session Rating Scale"], ["PHQ-9", "GAD-7"]),
    "What does ORS stand for?": (["Outcome Rating Scale"], ["Open Rating Survey"]),
    "Which are feedback measures? (select all that apply)": (
        ["The ORS", "The SRS"],
        ["The MMPI"],
    ),
}


def no_sideways_scroll(page):
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def answer(page, *, right):
    for question, (correct, wrong) in QUESTIONS.items():
        group = page.get_by_role("group", name=question)
        for choice in correct if right else wrong[:1]:
            group.get_by_label(choice, exact=True).check()


@pytest.mark.parametrize("width", [1280, 390])
def test_fail_then_pass_the_post_test(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    attendee = make_member("ana@example.org", "Ana Souza")
    bank = make_bank(
        questions=[
            (text, [(c, True) for c in right] + [(c, False) for c in wrong])
            for text, (right, wrong) in QUESTIONS.items()
        ]
    )
    seat = make_post_test_seat(attendee, bank=bank, wait_hours=0)
    log_in_browser(page, attendee)

    page.goto("/ce/")
    page.get_by_role("link", name="Take the post-test").click()
    expect(page.get_by_text("0 of 3")).to_be_visible()
    assert_accessible(page)
    no_sideways_scroll(page)

    page.get_by_role("button", name="Start the post-test").click()
    expect(page.get_by_role("group")).to_have_count(3)
    # The questions come in the order stored for this attempt.
    attempt = PostTestAttempt.objects.get(registration=seat)
    legends = page.locator("legend").all_inner_texts()
    stored = [bank.questions.get(pk=qid).text for qid in attempt.question_order]
    assert len(legends) == 3
    assert all(text in legend for text, legend in zip(stored, legends, strict=True)), legends
    assert_accessible(page)
    no_sideways_scroll(page)

    # Submitting with nothing ticked says how many are left.
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_role("alert")).to_contain_text("3 questions are left unanswered")

    answer(page, right=False)
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_text("You scored 0%. The pass mark is 75%.")).to_be_visible()
    expect(page.get_by_text("You can try again now.")).to_be_visible()
    expect(page.get_by_text("Correct answer")).to_have_count(0)
    assert_accessible(page)
    no_sideways_scroll(page)

    page.get_by_role("link", name="Back to the post-test overview").click()
    expect(page.get_by_text("1 of 3")).to_be_visible()
    page.get_by_role("button", name="Try the post-test again").click()
    answer(page, right=True)
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_text("You scored 100%. The pass mark is 75%.")).to_be_visible()
    expect(page.get_by_text("Right", exact=True)).to_have_count(3)
    expect(
        page.get_by_text(re.compile(r"Correct answer: The (ORS; The SRS|SRS; The ORS)"))
    ).to_be_visible()
    assert_accessible(page)
    no_sideways_scroll(page)

    page.get_by_role("link", name="Back to the post-test overview").click()
    expect(page.get_by_role("link", name="Attempt 1")).to_be_visible()
    expect(page.get_by_role("link", name="Attempt 2")).to_be_visible()
    expect(page.get_by_text("You have already passed this post-test.")).to_have_count(0)
    assert_accessible(page)
    no_sideways_scroll(page)
    page.goto("/ce/")
    expect(page.get_by_text("Post-test passed on")).to_be_visible()
