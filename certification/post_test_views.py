"""The attendee's post-test pages of a home-study course: where they stand, the questions in
their attempt's own order, and each attempt's result (feedback per question only after a pass).

Taking the test is the attendee's alone; CE administrators may read the overview and results
of anyone's seat (for audits), never start or answer for them.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from cms.access import Perm, may_act_for_others, owner
from courses.models import Registration, RegistrationStatus

from . import services
from .models import PostTestAttempt


def _registration(request, public_id, *, staff_may_read=False):
    """The seat if it is the signed-in person's (or, to read, a CE administrator's); else 404."""
    registration = get_object_or_404(
        Registration.objects.select_related("event"), public_id=public_id
    )
    if registration.attendee_id == request.user.pk:
        return registration
    if staff_may_read and may_act_for_others(request.user, Perm.ISSUE_CERTIFICATES):
        return registration
    raise Http404


@owner(Perm.ISSUE_CERTIFICATES)
def overview(request, public_id):
    registration = _registration(request, public_id, staff_may_read=True)
    standing = services.post_test_standing(registration)
    return render(
        request,
        "certification/post_test/overview.html",
        {
            "registration": registration,
            "event": registration.event,
            "standing": standing,
            "next_try": _next_try(standing),
            "is_attendee": registration.attendee_id == request.user.pk,
        },
    )


def _next_try(standing):
    """When a failed attendee may try again, in the event's zone; "" when they may now."""
    if standing.next_try_at is None or standing.next_try_at <= timezone.now():
        return ""
    return services.when_in_event_zone(standing.registration.event, standing.next_try_at)


@owner()
@require_POST
def start(request, public_id):
    registration = _registration(request, public_id)
    try:
        services.start_post_test(registration, actor=request.user)
    except services.CEError as error:
        messages.error(request, str(error))
        return redirect("certification:post_test", public_id=registration.public_id)
    return redirect("certification:post_test_take", public_id=registration.public_id)


def _answers_from(post, attempt):
    return {str(qid): post.getlist(f"q{qid}") for qid in attempt.question_order}


@owner()
def take(request, public_id):
    """The open attempt's questions; a POST submits them."""
    registration = _registration(request, public_id)
    attempt = PostTestAttempt.objects.filter(
        registration=registration, status=PostTestAttempt.Status.IN_PROGRESS
    ).first()
    if attempt is None or registration.status != RegistrationStatus.CONFIRMED:
        # No open attempt, or the seat was cancelled or refunded since it was started: the
        # overview says which, and shows no questions.
        return redirect("certification:post_test", public_id=registration.public_id)
    error = ""
    given = {}
    if request.method == "POST":
        given = _answers_from(request.POST, attempt)
        try:
            attempt = services.submit_post_test(attempt, actor=request.user, answers=given)
        except services.CEError as refusal:
            error = str(refusal)
        else:
            return redirect(
                "certification:post_test_result",
                public_id=registration.public_id,
                attempt_number=attempt.number,
            )
    questions = services.attempt_questions(attempt)
    for item in questions:
        # Keep what was ticked when the page comes back asking for the rest.
        item.chosen = [int(v) for v in given.get(str(item.question.pk), []) if v.isdigit()]
    return render(
        request,
        "certification/post_test/take.html",
        {
            "registration": registration,
            "event": registration.event,
            "attempt": attempt,
            "questions": questions,
            "error": error,
        },
        status=400 if error else 200,
    )


@owner(Perm.ISSUE_CERTIFICATES)
def result(request, public_id, attempt_number):
    registration = _registration(request, public_id, staff_may_read=True)
    attempt = get_object_or_404(
        PostTestAttempt.objects.select_related("bank"),
        registration=registration,
        number=attempt_number,
    )
    if attempt.status == PostTestAttempt.Status.IN_PROGRESS:
        return redirect("certification:post_test", public_id=registration.public_id)
    standing = services.post_test_standing(registration)
    passed = attempt.status == PostTestAttempt.Status.PASSED
    return render(
        request,
        "certification/post_test/result.html",
        {
            "registration": registration,
            "event": registration.event,
            "attempt": attempt,
            "passed": passed,
            "standing": standing,
            "next_try": _next_try(standing),
            # The answers are shown only after a pass: a failed attempt must not teach the key.
            "feedback": services.attempt_questions(attempt) if passed else [],
            "is_attendee": registration.attendee_id == request.user.pk,
        },
    )
