"""Candidate, reviewer and public pages of trainer certification. Thin: services do the work."""

import json

from django.contrib import messages
from django.core.files.storage import storages
from django.http import FileResponse, Http404, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cms.access import Perm, may_act_for_others, members, owner, public, staff, users_with
from cms.untrusted_input import parse_id, parse_uuid, query_text
from courses.queries import next_event_of_programme

from . import s3, services
from .forms import (
    AssignReviewerForm,
    CommentForm,
    ConsentForm,
    DecisionForm,
    EvidenceForm,
    ListingForm,
    ReviewForm,
)
from .models import (
    AssessmentAttempt,
    Credential,
    DirectoryListing,
    Enrolment,
    EvidenceSubmission,
    Question,
    Requirement,
    Review,
    Track,
    VideoSubmission,
)

VS = VideoSubmission.Status


def _own_enrolment(request, public_id):
    return get_object_or_404(Enrolment, public_id=public_id, candidate=request.user)


# --- candidate -------------------------------------------------------------------------------


@members
def dashboard(request):
    enrolments = Enrolment.objects.filter(candidate=request.user).select_related("track")
    rows = [
        {
            "enrolment": e,
            "states": _with_next_events(services.requirement_states(e)),
            "credentials": list(e.credentials.all()),
        }
        for e in enrolments
    ]
    return render(
        request,
        "certification/trainers/dashboard.html",
        {
            "rows": rows,
            "open_tracks": services.tracks_open_for(request.user),
            "listing": DirectoryListing.objects.filter(person=request.user).first(),
            "is_reviewer": services.is_reviewer(request.user)
            or services.is_certification_lead(request.user),
        },
    )


def _with_next_events(states):
    """An unmet attendance requirement points the candidate at the next event that meets it,
    so "register for and attend" comes with the place to do it."""
    for state in states:
        requirement = state.requirement
        state.next_event = None
        if (
            requirement.kind == Requirement.Kind.ATTENDANCE
            and not state.met
            and state.registered_event is None
        ):
            state.next_event = next_event_of_programme(requirement.programme_id)
    return states


@members
@require_POST
def enrol(request, slug):
    track = get_object_or_404(Track, slug=slug)
    try:
        services.enrol(track, request.user, actor=request.user)
        messages.success(request, _("You are enrolled in %(track)s.") % {"track": track.name})
    except services.CertificationError as error:
        messages.error(request, str(error))
    return redirect("trainers:dashboard")


@owner()
@require_http_methods(["GET", "POST"])
def video_start(request, public_id, requirement_id):
    enrolment = _own_enrolment(request, public_id)
    requirement = get_object_or_404(
        Requirement, pk=requirement_id, track=enrolment.track, kind=Requirement.Kind.VIDEO
    )
    form = ConsentForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            submission = services.start_video_submission(
                enrolment, requirement, actor=request.user, consent=form.cleaned_data["consent"]
            )
        except services.CertificationError as error:
            messages.error(request, str(error))
            return redirect("trainers:dashboard")
        return redirect("trainers:video_upload", submission.public_id)
    return render(
        request,
        "certification/trainers/video_start.html",
        {"form": form, "enrolment": enrolment, "requirement": requirement},
    )


def _own_submission(request, public_id):
    return get_object_or_404(
        VideoSubmission.objects.select_related("enrolment__track", "requirement"),
        public_id=public_id,
        enrolment__candidate=request.user,
    )


@owner()
def video_upload(request, public_id):
    submission = _own_submission(request, public_id)
    if submission.status != VS.UPLOADING:
        return redirect("trainers:video", submission.public_id)
    mode = "s3" if s3.is_active() else "tus"
    config = {
        "mode": mode,
        "submission": str(submission.public_id),
        "maxBytes": submission.enrolment.track.max_upload_bytes,
        "csrfToken": get_token(request),
        "tusEndpoint": reverse("trainers:tus_collection"),
        "s3Sign": reverse("trainers:s3_sign"),
        "s3Finish": reverse("trainers:s3_finish"),
    }
    return render(
        request,
        "certification/trainers/video_upload.html",
        {"submission": submission, "config": json.dumps(config)},
    )


@owner()
def video_detail(request, public_id):
    """The candidate's view of one version: status, player, and the review once decided."""
    submission = _own_submission(request, public_id)
    decided = submission.is_decided
    versions = submission.enrolment.videos.filter(requirement=submission.requirement).order_by(
        "-version"
    )
    context = {
        "submission": submission,
        "versions": versions,
        "decided": decided,
        "may_upload_new": services.may_upload_new_version(submission),
    }
    if decided:
        context["comments"] = submission.comments.select_related("author")
        context["summary"] = services.review_summary(submission)
        context["decision"] = getattr(submission, "decision", None)
    return render(request, "certification/trainers/video_detail.html", context)


@owner()
def video_status(request, public_id):
    """The state of one version, for the page to update itself while processing runs."""
    submission = _own_submission(request, public_id)
    return JsonResponse(
        {"status": submission.status, "label": submission.get_status_display()},
        headers={"Cache-Control": "no-store"},
    )


@owner()
@require_POST
def video_withdraw(request, public_id):
    submission = _own_submission(request, public_id)
    try:
        services.withdraw_submission(submission, actor=request.user)
        messages.success(request, _("Your video was withdrawn and its file deleted."))
    except services.CertificationError as error:
        messages.error(request, str(error))
    return redirect("trainers:dashboard")


@owner()
@require_http_methods(["GET", "POST"])
def evidence(request, public_id, requirement_id):
    enrolment = _own_enrolment(request, public_id)
    requirement = get_object_or_404(
        Requirement, pk=requirement_id, track=enrolment.track, kind=Requirement.Kind.EVIDENCE
    )
    form = EvidenceForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.submit_evidence(
                enrolment, requirement, actor=request.user, statement=form.cleaned_data["statement"]
            )
            messages.success(request, _("Thank you. Staff will read your evidence."))
            return redirect("trainers:dashboard")
        except services.CertificationError as error:
            form.add_error("statement", str(error))
    return render(
        request,
        "certification/trainers/evidence.html",
        {
            "form": form,
            "requirement": requirement,
            "earlier": EvidenceSubmission.objects.filter(
                enrolment=enrolment, requirement=requirement
            ),
        },
    )


@owner()
@require_http_methods(["GET", "POST"])
def assessment(request, public_id, requirement_id):
    enrolment = _own_enrolment(request, public_id)
    requirement = get_object_or_404(
        Requirement, pk=requirement_id, track=enrolment.track, kind=Requirement.Kind.ASSESSMENT
    )
    try:
        attempt = services.start_attempt(enrolment, requirement, actor=request.user)
    except services.CertificationError as error:
        messages.error(request, str(error))
        return redirect("trainers:dashboard")
    questions = {q.pk: q for q in attempt.bank.questions.prefetch_related("choices")}
    error_text = ""
    answers = {}
    if request.method == "POST":
        for qid in attempt.question_order:
            question = questions.get(qid)
            if question is None:
                continue
            key = f"q{qid}"
            if question.kind == Question.Kind.WRITTEN:
                answers[str(qid)] = request.POST.get(key, "")
            else:
                answers[str(qid)] = request.POST.getlist(key)
        try:
            attempt = services.submit_attempt(attempt, actor=request.user, answers=answers)
        except services.CertificationError as error:
            error_text = str(error)
        else:
            if attempt.status == AssessmentAttempt.Status.PASSED:
                messages.success(
                    request, _("You passed with %(score)s%%.") % {"score": attempt.score_percent}
                )
            elif attempt.status == AssessmentAttempt.Status.FAILED:
                messages.warning(
                    request,
                    _("You scored %(score)s%%; the pass mark is %(pass_mark)s%%.")
                    % {"score": attempt.score_percent, "pass_mark": attempt.bank.pass_mark_percent},
                )
            else:
                messages.success(request, _("Your answers were sent for grading."))
            return redirect("trainers:dashboard")
    ordered = []
    for qid in attempt.question_order:
        question = questions.get(qid)
        if question is None:
            continue
        by_id = {c.pk: c for c in question.choices.all()}
        choices = [by_id[c] for c in attempt.choice_order.get(str(qid), []) if c in by_id]
        given = answers.get(str(qid), [] if question.kind != Question.Kind.WRITTEN else "")
        ordered.append({"question": question, "choices": choices, "given": given})
    return render(
        request,
        "certification/trainers/assessment.html",
        {"attempt": attempt, "questions": ordered, "error": error_text, "requirement": requirement},
    )


@owner(Perm.LEAD_CERTIFICATION)
def credential_pdf(request, number):
    credential = get_object_or_404(Credential, number=number)
    if credential.enrolment.candidate_id != request.user.pk and not may_act_for_others(
        request.user, Perm.LEAD_CERTIFICATION
    ):
        raise Http404("No such credential")
    handle = storages["private"].open(credential.pdf_name, "rb")
    return FileResponse(
        handle, content_type="application/pdf", filename=f"credential-{credential.number}.pdf"
    )


@members
@require_http_methods(["GET", "POST"])
def listing(request):
    current = DirectoryListing.objects.filter(person=request.user).first()
    initial = {
        "listed": current.listed if current else False,
        "display_name": current.display_name if current else request.user.display_name,
        "place": current.place if current else "",
    }
    form = ListingForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_listing(request.user, **form.cleaned_data)
            messages.success(request, _("Your directory entry was saved."))
            return redirect("trainers:dashboard")
        except services.CertificationError as error:
            form.add_error("listed", str(error))
    return render(request, "certification/trainers/listing.html", {"form": form})


# --- public ----------------------------------------------------------------------------------


@public
def verify(request, code):
    """Valid, revoked, renewed or expired; an unknown code gets a page that does not repeat
    what was typed in the address."""
    code = parse_uuid(code)
    credential = (
        Credential.objects.select_related("enrolment__track").filter(verification_code=code).first()
        if code
        else None
    )
    if credential is None:
        return render(request, "certification/trainers/verify_not_found.html", status=404)
    return render(request, "certification/trainers/verify.html", {"credential": credential})


@public
def directory(request):
    query = query_text(request, "q")[:100]
    return render(
        request,
        "certification/trainers/directory.html",
        {"entries": services.directory_entries(query), "query": query},
    )


# --- reviewers and the certification lead ----------------------------------------------------


@staff(Perm.REVIEW_SUBMISSION, Perm.LEAD_CERTIFICATION)
def my_reviews(request):
    submissions = VideoSubmission.objects.filter(assignments__reviewer=request.user)
    if services.is_certification_lead(request.user):
        submissions = (
            VideoSubmission.objects.filter(status__in=[VS.READY, VS.IN_REVIEW]) | submissions
        )
    return render(
        request,
        "certification/trainers/my_reviews.html",
        {
            "submissions": submissions.distinct()
            .select_related("enrolment__candidate", "enrolment__track")
            .order_by("created_at")
        },
    )


def _reviewable(request, public_id):
    submission = get_object_or_404(
        VideoSubmission.objects.select_related("enrolment__track", "enrolment__candidate"),
        public_id=public_id,
    )
    if not services.can_review_submission(request.user, submission):
        raise Http404("No such review")
    return submission


@staff(Perm.REVIEW_SUBMISSION, Perm.LEAD_CERTIFICATION)
@require_http_methods(["GET", "POST"])
def review(request, public_id):
    """Player, timestamped comments, rubric, recommendation; the lead also decides here."""
    submission = _reviewable(request, public_id)
    rubric = submission.enrolment.track.rubric
    assignment = submission.assignments.filter(reviewer=request.user).first()
    own_review = (
        Review.objects.filter(assignment=assignment).prefetch_related("scores").first()
        if assignment
        else None
    )
    is_lead = services.is_certification_lead(request.user)
    comment_form = CommentForm(prefix="comment")
    review_form = ReviewForm(rubric=rubric, review=own_review, prefix="review")
    decision_form = DecisionForm(prefix="decision")
    assign_form = AssignReviewerForm(
        reviewers=users_with(Perm.REVIEW_SUBMISSION).exclude(pk=submission.enrolment.candidate_id),
        prefix="assign",
    )
    action = request.POST.get("action")
    if request.method == "POST":
        try:
            if action == "comment":
                comment_form = CommentForm(request.POST, prefix="comment")
                if comment_form.is_valid():
                    services.add_comment(
                        submission,
                        author=request.user,
                        at_seconds=comment_form.cleaned_data["at"],
                        body=comment_form.cleaned_data["body"],
                    )
                    messages.success(request, _("Comment saved."))
                    return redirect("trainers:review", submission.public_id)
            elif action == "review" and assignment:
                review_form = ReviewForm(request.POST, rubric=rubric, prefix="review")
                if review_form.is_valid():
                    saved = services.submit_review(
                        assignment,
                        scores=review_form.scores(),
                        recommendation=review_form.cleaned_data["recommendation"],
                        guidance=review_form.cleaned_data["guidance"],
                    )
                    # "points" even for 1: the wording the page has always used.
                    summary = (
                        _("Review saved: %(points)s points, meets the rubric.")
                        if saved.meets_rubric
                        else _("Review saved: %(points)s points, does not meet the rubric.")
                    )
                    messages.success(request, summary % {"points": saved.total_points})
                    return redirect("trainers:review", submission.public_id)
            elif action == "decide" and is_lead:
                decision_form = DecisionForm(request.POST, prefix="decision")
                if decision_form.is_valid():
                    services.decide(submission, actor=request.user, **decision_form.cleaned_data)
                    messages.success(request, _("Decision saved; the candidate has been told."))
                    return redirect("trainers:review", submission.public_id)
            elif action == "assign" and is_lead:
                assign_form.data = request.POST
                assign_form.is_bound = True
                if assign_form.is_valid():
                    services.assign_reviewer(
                        submission, assign_form.cleaned_data["reviewer"], actor=request.user
                    )
                    messages.success(request, _("Reviewer assigned and emailed."))
                    return redirect("trainers:review", submission.public_id)
            else:
                raise services.CertificationError(_("That action is not available to you."))
        except services.CertificationError as error:
            messages.error(request, str(error))
    show_others = is_lead or own_review is not None or submission.is_decided
    return render(
        request,
        "certification/trainers/review.html",
        {
            "submission": submission,
            "rubric": rubric,
            "assignment": assignment,
            "own_review": own_review,
            "comments": submission.comments.select_related("author"),
            "comment_form": comment_form,
            "review_form": review_form,
            "decision_form": decision_form,
            "assign_form": assign_form,
            "is_lead": is_lead,
            "summary": services.review_summary(submission) if show_others else None,
            "assignments": submission.assignments.select_related("reviewer"),
            "versions": submission.enrolment.videos.filter(
                requirement=submission.requirement
            ).order_by("-version"),
        },
    )


# --- S3 multipart (JSON, called by Uppy's aws-s3 plugin) ---------------------------------------


def _json_body(request):
    try:
        return json.loads(request.body or b"{}")
    except ValueError:
        return {}


def _s3_submission(request, data):
    if not s3.is_active():
        raise Http404("S3 uploads are not enabled")
    submission = VideoSubmission.objects.filter(
        public_id=parse_uuid(data.get("submission")), enrolment__candidate=request.user
    ).first()
    if submission is None:
        raise Http404("No such submission")
    return submission


@owner()
@require_POST
def s3_sign(request):
    """Presign one S3 request for Uppy (create, part, list, complete, abort)."""
    data = _json_body(request)
    submission = _s3_submission(request, data)
    try:
        return JsonResponse(s3.sign_request(submission, owner=request.user, request=data))
    except services.UploadTooLarge as error:
        return JsonResponse({"error": str(error)}, status=413)
    except services.CertificationError as error:
        return JsonResponse({"error": str(error)}, status=403)


@owner()
@require_POST
def s3_finish(request):
    data = _json_body(request)
    submission = _s3_submission(request, data)
    try:
        submission = s3.finish(submission, owner=request.user)
    except services.CertificationError as error:
        return JsonResponse({"error": str(error)}, status=409)
    return JsonResponse({"location": reverse("trainers:video", args=[submission.public_id])})


@staff(Perm.LEAD_CERTIFICATION)
@require_http_methods(["GET", "POST"])
def enrolment_staff(request, public_id):
    """The lead's page for one candidate: requirements, sign-offs, evidence, grading, credential."""
    enrolment = get_object_or_404(
        Enrolment.objects.select_related("track", "candidate"), public_id=public_id
    )
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "sign_off":
                requirement = get_object_or_404(
                    Requirement, pk=parse_id(request.POST.get("requirement")), track=enrolment.track
                )
                note = request.POST.get("note", "").strip()
                if not note:
                    raise services.CertificationError(_("Say how the requirement was met."))
                services.sign_off_requirement(enrolment, requirement, actor=request.user, note=note)
            elif action == "evidence":
                item = get_object_or_404(
                    EvidenceSubmission,
                    pk=parse_id(request.POST.get("evidence")),
                    enrolment=enrolment,
                )
                services.review_evidence(
                    item,
                    actor=request.user,
                    accept=request.POST.get("accept") == "yes",
                    feedback=request.POST.get("feedback", ""),
                )
            elif action == "grade":
                attempt = get_object_or_404(
                    AssessmentAttempt, pk=parse_id(request.POST.get("attempt")), enrolment=enrolment
                )
                try:
                    score = int(request.POST.get("score", ""))
                except ValueError as error:
                    raise services.CertificationError(_("Give a score from 0 to 100.")) from error
                services.grade_attempt(
                    attempt,
                    actor=request.user,
                    score_percent=score,
                    feedback=request.POST.get("feedback", ""),
                )
            elif action == "issue":
                services.issue_credential(enrolment, actor=request.user)
            elif action == "revoke":
                credential = get_object_or_404(
                    Credential, pk=parse_id(request.POST.get("credential")), enrolment=enrolment
                )
                reason = request.POST.get("reason", "").strip()
                if not reason:
                    raise services.CertificationError(_("Give the reason for revoking."))
                services.revoke_credential(credential, actor=request.user, reason=reason)
            elif action == "renew":
                credential = get_object_or_404(
                    Credential, pk=parse_id(request.POST.get("credential")), enrolment=enrolment
                )
                services.renew_credential(credential, actor=request.user)
            else:
                raise services.CertificationError(_("Unknown action."))
            messages.success(request, _("Saved."))
            return redirect("trainers:enrolment_staff", enrolment.public_id)
        except services.CertificationError as error:
            messages.error(request, str(error))
    return render(
        request,
        "certification/trainers/enrolment_staff.html",
        {
            "enrolment": enrolment,
            "states": services.requirement_states(enrolment),
            "ready": services.all_requirements_met(enrolment),
            "credentials": enrolment.credentials.all(),
            "attempts": enrolment.attempts.select_related("bank"),
            "evidence": enrolment.evidence.all(),
        },
    )
