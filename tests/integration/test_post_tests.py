"""The post-test of a home-study course, taken through the attendee's pages: the order each
attempt shows, marking, the wait and the attempt limit, feedback after a pass, refusals."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Site

from certification import services
from certification.factories import ce_settings, make_body, make_event, make_offering
from certification.factories import make_registration as make_seat
from certification.models import PostTestAttempt
from certification.trainers.models import Choice, Question, QuestionBank
from cms.models import AuditRecord, SiteSettings
from cms.roles import CE_ADMINISTRATOR
from courses.models import RegistrationStatus
from tests.accounts_support import log_in_with_second_factor, make_member, make_staff_with_totp

pytestmark = pytest.mark.django_db

# (question, [(choice, is_correct), ...]); the third has two right answers.
QUESTIONS = [
    ("Which measure tracks the alliance?", [("SRS", True), ("PHQ-9", False), ("GAD-7", False)]),
    ("What does ORS stand for?", [("Outcome Rating Scale", True), ("Open Rating Survey", False)]),
    (
        "Which are feedback measures? (select all that apply)",
        [("ORS", True), ("SRS", True), ("MMPI", False)],
    ),
    ("When is the SRS given?", [("At the end", True), ("At the start", False)]),
]


def make_bank(*, pass_mark=75, attempts=3, randomise=True, questions=QUESTIONS):
    bank = QuestionBank.objects.create(
        title="Feedback-Informed Treatment post-test",
        pass_mark_percent=pass_mark,
        attempt_limit=attempts,
        randomise_order=randomise,
    )
    for order, (text, choices) in enumerate(questions):
        kind = Question.Kind.MULTIPLE if sum(c[1] for c in choices) > 1 else Question.Kind.SINGLE
        question = Question.objects.create(bank=bank, text=text, kind=kind, sort_order=order)
        for choice_text, right in choices:
            Choice.objects.create(question=question, text=choice_text, is_correct=right)
    return bank


def make_post_test_seat(user, *, bank=None, wait_hours=24, status=RegistrationStatus.CONFIRMED):
    """A confirmed seat of a home-study course whose CE settings name a post-test bank."""
    event = make_event("Feedback-Informed Treatment at home", format="on_demand")
    bank = bank or make_bank()
    ce_settings(event, is_recorded=True, post_test=bank, post_test_wait_hours=wait_hours)
    seat = make_seat(event, user=user, name=user.legal_name, status=status)
    return seat


def answers_for(attempt, *, right):
    """Form data answering every question of the attempt, all right or all wrong."""
    data = {}
    for question in Question.objects.filter(pk__in=attempt.question_order):
        choices = list(question.choices.all())
        if right:
            data[f"q{question.pk}"] = [str(c.pk) for c in choices if c.is_correct]
        else:
            data[f"q{question.pk}"] = [str(next(c.pk for c in choices if not c.is_correct))]
    return data


def text_of(response):
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture(autouse=True)
def _contact():
    cache.clear()
    site_settings = SiteSettings.for_site(Site.objects.get(is_default_site=True))
    site_settings.contact_email = "ce@example.org"
    site_settings.save()


@pytest.fixture
def attendee():
    return make_member("ana@example.org", "Ana Souza")


@pytest.fixture
def browser(attendee):
    client = Client()
    client.force_login(attendee)
    return client


def url(name, seat, **kwargs):
    return reverse(f"certification:{name}", kwargs={"public_id": seat.public_id, **kwargs})


def start(browser, seat):
    return browser.post(url("post_test_start", seat), follow=True)


def test_my_ce_links_to_the_post_test_and_the_overview_offers_the_start(browser, attendee):
    seat = make_post_test_seat(attendee)
    page = text_of(browser.get(reverse("certification:my_ce")))
    assert "Take the post-test" in page
    assert url("post_test", seat) in page

    overview = text_of(browser.get(url("post_test", seat)))
    assert "Pass mark: 75%. You have 3 attempts." in overview
    assert "0 of 3" in overview
    assert "Start the post-test" in overview


def test_an_attempt_stores_its_shuffled_order_and_the_page_shows_it(browser, attendee):
    questions = [
        (f"Question number {n}?", [(f"Q{n} A", True), (f"Q{n} B", False)]) for n in range(8)
    ]
    seat = make_post_test_seat(attendee, bank=make_bank(questions=questions))
    response = start(browser, seat)
    assert response.redirect_chain[-1][0] == url("post_test_take", seat)
    attempt = PostTestAttempt.objects.get(registration=seat)
    bank_ids = list(attempt.bank.questions.values_list("pk", flat=True))
    assert sorted(attempt.question_order) == sorted(bank_ids)
    page = text_of(response)
    shown = [int(qid) for qid in re.findall(r'name="q(\d+)"', page)]
    shown = list(dict.fromkeys(shown))
    assert shown == attempt.question_order
    for qid in attempt.question_order:
        shown_choices = [int(c) for c in re.findall(rf'name="q{qid}" value="(\d+)"', page)]
        assert shown_choices == attempt.choice_order[str(qid)]
    # Radios for single choice, each labelled; every question its own fieldset and legend.
    assert page.count("<fieldset") == 8 and page.count("<legend>") == 8
    assert page.count('type="radio"') == 16
    # Eight questions in the bank's order by chance: 1 in 40,320. A second attempt differs
    # from the first or the bank's order (SystemRandom, not a fixed seed).
    assert attempt.question_order != bank_ids or attempt.choice_order != {
        str(q.pk): list(q.choices.values_list("pk", flat=True))
        for q in attempt.bank.questions.all()
    }


def test_unanswered_questions_are_counted_and_the_ticked_ones_kept(browser, attendee):
    seat = make_post_test_seat(attendee)
    start(browser, seat)
    attempt = PostTestAttempt.objects.get(registration=seat)
    data = answers_for(attempt, right=True)
    first, *rest = attempt.question_order
    kept = data[f"q{first}"][0]
    for qid in rest[:2]:
        del data[f"q{qid}"]
    response = browser.post(url("post_test_take", seat), data)
    assert response.status_code == 400
    page = text_of(response)
    assert "Answer every question (2 questions are left unanswered)." in page
    assert f'value="{kept}" checked' in page
    attempt.refresh_from_db()
    assert attempt.status == PostTestAttempt.Status.IN_PROGRESS


def test_a_failed_attempt_shows_the_score_and_the_next_try_and_no_answers(browser, attendee):
    seat = make_post_test_seat(attendee, wait_hours=24)
    start(browser, seat)
    attempt = PostTestAttempt.objects.get(registration=seat)
    response = browser.post(url("post_test_take", seat), answers_for(attempt, right=False))
    assert response.status_code == 302
    result = text_of(browser.get(response["Location"]))
    attempt.refresh_from_db()
    assert attempt.status == PostTestAttempt.Status.FAILED and attempt.score_percent == 0
    assert "Not passed" in result
    assert "You scored 0%. The pass mark is 75%." in result
    next_try = timezone.localtime(attempt.submitted_at + timedelta(hours=24), seat.event.zone)
    assert f"You can try again on {next_try.day} {next_try:%B %Y}" in result
    assert "(America/New_York time)" in result
    assert "Correct answer" not in result and "Outcome Rating Scale" not in result

    refused = text_of(start(browser, seat))
    assert "You can try again on" in refused
    assert PostTestAttempt.objects.filter(registration=seat).count() == 1

    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        response = start(browser, seat)
    assert response.redirect_chain[-1][0] == url("post_test_take", seat)
    assert PostTestAttempt.objects.filter(registration=seat).count() == 2


def test_a_pass_shows_feedback_per_question_in_words(browser, attendee):
    seat = make_post_test_seat(attendee)
    start(browser, seat)
    attempt = PostTestAttempt.objects.get(registration=seat)
    data = answers_for(attempt, right=True)
    # One wrong of four: 75%, exactly the pass mark.
    srs = Question.objects.get(text="When is the SRS given?")
    data[f"q{srs.pk}"] = [str(srs.choices.get(is_correct=False).pk)]
    response = browser.post(url("post_test_take", seat), data, follow=True)
    page = text_of(response)
    attempt.refresh_from_db()
    assert attempt.status == PostTestAttempt.Status.PASSED and attempt.score_percent == 75
    assert "Passed" in page and "You scored 75%. The pass mark is 75%." in page
    assert page.count(">Right<") == 3 and page.count(">Wrong<") == 1
    assert "Your answer: At the start" in page and "Correct answer: At the end" in page
    # Both right choices named, in the order this attempt showed them.
    assert "Correct answer: ORS; SRS" in page or "Correct answer: SRS; ORS" in page
    assert (
        services.passed_post_test_on(seat)
        == timezone.localtime(attempt.submitted_at, seat.event.zone).date()
    )

    assert "You have already passed this post-test." in text_of(start(browser, seat))
    my_ce = text_of(browser.get(reverse("certification:my_ce")))
    assert "Post-test passed on" in my_ce and "Take the post-test" not in my_ce


def test_when_the_attempts_are_used_up_a_start_is_refused_with_whom_to_contact(browser, attendee):
    seat = make_post_test_seat(attendee, bank=make_bank(attempts=2), wait_hours=1)
    moment = timezone.now()
    for _attempt in range(2):
        with time_machine.travel(moment):
            start(browser, seat)
            attempt = PostTestAttempt.objects.get(registration=seat, status="in_progress")
            browser.post(url("post_test_take", seat), answers_for(attempt, right=False))
        moment += timedelta(hours=2)
    with time_machine.travel(moment):
        page = text_of(start(browser, seat))
        overview = text_of(browser.get(url("post_test", seat)))
    assert "You have used all 2 attempts. Contact ce@example.org to ask about another try." in page
    assert "2 of 2" in overview and "Start the post-test" not in overview
    assert PostTestAttempt.objects.filter(registration=seat).count() == 2
    assert services.passed_post_test_on(seat) is None


def test_the_pass_mark_is_never_below_the_strictest_body(browser, attendee):
    seat = make_post_test_seat(attendee, bank=make_bank(pass_mark=60))
    make_offering(seat.event, make_body("APA", posttest_pass_percent=75))
    start(browser, seat)
    attempt = PostTestAttempt.objects.get(registration=seat)
    assert attempt.pass_percent == 75
    assert "Pass mark: 75%" in text_of(browser.get(url("post_test_take", seat)))


def test_forged_answers_are_marked_wrong_not_an_error(browser, attendee):
    seat = make_post_test_seat(attendee)
    start(browser, seat)
    attempt = PostTestAttempt.objects.get(registration=seat)
    data = answers_for(attempt, right=True)
    first, second = attempt.question_order[:2]
    # The first question answered with the second question's right choice, plus junk.
    data[f"q{first}"] = [data[f"q{second}"][0], "not-a-number", "-5"]
    response = browser.post(url("post_test_take", seat), data)
    assert response.status_code == 302
    attempt.refresh_from_db()
    assert attempt.score_percent == 75
    assert attempt.answers[str(first)] == [int(data[f"q{second}"][0])]

    other = make_post_test_seat(make_member("bo@example.org", "Bo Other"))
    response = browser.post(url("post_test_take", other), {"q1": ["1"]})
    assert response.status_code == 404


def test_another_persons_seat_is_not_found(browser, attendee):
    someone = make_member("bo@example.org", "Bo Other")
    seat = make_post_test_seat(someone)
    services.start_post_test(seat, actor=someone)
    attempt = PostTestAttempt.objects.get(registration=seat)
    services.submit_post_test(
        attempt,
        actor=someone,
        answers={k[1:]: v for k, v in answers_for(attempt, right=True).items()},
    )
    for name, kwargs in [
        ("post_test", {}),
        ("post_test_take", {}),
        ("post_test_result", {"attempt_number": 1}),
    ]:
        assert browser.get(url(name, seat, **kwargs)).status_code == 404
    assert browser.post(url("post_test_start", seat)).status_code == 404
    with pytest.raises(services.CEError):
        services.start_post_test(seat, actor=attendee)


def test_an_unconfirmed_seat_cannot_start(browser, attendee):
    seat = make_post_test_seat(attendee, status=RegistrationStatus.HELD)
    overview = text_of(browser.get(url("post_test", seat)))
    assert "The post-test opens once your registration is confirmed." in overview
    assert "Start the post-test" not in overview
    page = text_of(start(browser, seat))
    assert "The post-test opens once your registration is confirmed." in page
    assert not PostTestAttempt.objects.filter(registration=seat).exists()


def test_a_course_without_a_post_test_says_so(browser, attendee):
    seat = make_post_test_seat(attendee)
    ce_settings(seat.event, post_test=None)
    assert "This course has no post-test." in text_of(browser.get(url("post_test", seat)))
    assert "Take the post-test" not in text_of(browser.get(reverse("certification:my_ce")))
    assert not PostTestAttempt.objects.filter(registration=seat).exists()


def test_every_attempt_is_kept_with_audit_records(browser, attendee):
    seat = make_post_test_seat(attendee, wait_hours=0)
    start(browser, seat)
    first = PostTestAttempt.objects.get(registration=seat)
    browser.post(url("post_test_take", seat), answers_for(first, right=False))
    start(browser, seat)
    second = PostTestAttempt.objects.get(registration=seat, number=2)
    browser.post(url("post_test_take", seat), answers_for(second, right=True))

    attempts = list(PostTestAttempt.objects.filter(registration=seat).order_by("number"))
    assert [(a.number, a.status) for a in attempts] == [(1, "failed"), (2, "passed")]
    records = AuditRecord.objects.filter(
        object_type="certification.posttestattempt", actor=attendee
    ).order_by("pk")
    assert [r.action for r in records] == [
        "certification.post_test.started",
        "certification.post_test.submitted",
        "certification.post_test.started",
        "certification.post_test.submitted",
    ]
    assert records[1].after["status"] == "failed" and records[3].after["score_percent"] == 100
    overview = text_of(browser.get(url("post_test", seat)))
    assert "Attempt 1" in overview and "Attempt 2" in overview and "100%" in overview


def test_a_ce_administrator_reads_the_history_but_cannot_take_the_test(attendee):
    seat = make_post_test_seat(attendee)
    services.start_post_test(seat, actor=attendee)
    attempt = PostTestAttempt.objects.get(registration=seat)
    answers = {k[1:]: v for k, v in answers_for(attempt, right=False).items()}
    services.submit_post_test(attempt, actor=attendee, answers=answers)
    admin, _secret = make_staff_with_totp(email="dana@example.org")
    admin.groups.add(Group.objects.get(name=CE_ADMINISTRATOR))
    client = Client()
    log_in_with_second_factor(client, admin)

    overview = text_of(client.get(url("post_test", seat)))
    assert "1 of 3" in overview and "Attempt 1" in overview
    assert "Try the post-test again" not in overview
    result = text_of(client.get(url("post_test_result", seat, attempt_number=1)))
    assert "You scored 0%. The pass mark is 75%." in result
    assert client.post(url("post_test_start", seat)).status_code == 404
    assert client.get(url("post_test_take", seat)).status_code == 404
    assert PostTestAttempt.objects.filter(registration=seat).count() == 1


def test_starting_twice_continues_the_open_attempt(browser, attendee):
    seat = make_post_test_seat(attendee)
    first = services.start_post_test(seat, actor=attendee)
    response = start(browser, seat)
    assert response.redirect_chain[-1][0] == url("post_test_take", seat)
    assert services.start_post_test(seat, actor=attendee).pk == first.pk
    assert PostTestAttempt.objects.filter(registration=seat).count() == 1
    assert "Continue the post-test" in text_of(browser.get(url("post_test", seat)))
    assert AuditRecord.objects.filter(action="certification.post_test.started").count() == 1
