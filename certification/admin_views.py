"""CE administrators' screens in the Wagtail admin: issuing, jobs, corrections, exports."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from cms import audit, pdf
from cms.access import Perm, staff
from cms.untrusted_input import parse_id, query_text
from courses.models import EventPage, Registration

from . import queries, reports, rosters, services, transcripts
from .forms import ReissueForm, RevokeForm
from .models import (
    AccreditingBody,
    CEBrokerBatch,
    CEOffering,
    Certificate,
    IssueJob,
    IssueJobStatus,
)
from .views import _csv_response, _pdf_response


@staff(Perm.ISSUE_CERTIFICATES)
def index(request):
    """Events that sell or promise CE without a CE offering first (no certificate could be
    issued for them), then every CE event with its offerings and CE Broker counts."""
    events = list(
        EventPage.objects.filter(Q(ce_offerings__isnull=False))
        .distinct()
        .order_by("-starts_at")
        .prefetch_related(
            Prefetch(
                "ce_offerings",
                queryset=CEOffering.objects.select_related("body").order_by("body__short_name"),
            )
        )
    )
    broker = queries.ce_broker_counts(events)
    for event in events:
        event.ce_broker = broker.get(event.pk)
    return render(
        request,
        "certification/admin/index.html",
        {
            "page_title": _("Continuing education"),
            "events": events,
            "missing_offerings": queries.events_missing_offerings(),
        },
    )


@staff(Perm.ISSUE_CERTIFICATES)
def event_ce(request, event_id):
    event = get_object_or_404(EventPage, pk=event_id)
    if request.method == "POST":
        selected = [pk for pk in map(parse_id, request.POST.getlist("registration")) if pk]
        try:
            job = services.start_issue_job(event, selected, actor=request.user)
        except services.CEError as error:
            messages.error(request, str(error))
            return redirect("certification_admin:event", event_id=event.pk)
        return redirect("certification_admin:job", pk=job.pk)
    roster = services.event_roster(event)
    offerings = list(event.ce_offerings.select_related("body"))
    return render(
        request,
        "certification/admin/event.html",
        {
            "page_title": _("CE: %(event)s") % {"event": event.title},
            "event": event,
            "roster": roster,
            "offerings": offerings,
            "counts": {
                label: sum(1 for row in roster if row.status == key)
                for key, label in services.STATUS_LABELS.items()
            },
            "jobs": event.certificate_jobs.all()[:5],
            "revoked_status": services.EligibilityStatus.REVOKED,
        },
    )


@staff(Perm.ISSUE_CERTIFICATES)
def reinstate(request, event_id, registration_id):
    """Lift a revocation so the registration can be issued a certificate again (POST, with a
    reason); the same capability as revoking, and audited like it."""
    event = get_object_or_404(EventPage, pk=event_id)
    registration = get_object_or_404(Registration, pk=registration_id, event=event)
    if request.method == "POST":
        reason = (request.POST.get("reason") or "").strip()[:2000]
        try:
            services.reinstate_registration(registration, actor=request.user, reason=reason)
        except services.CEError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _(
                    "%(name)s is reinstated: their CE status is worked out again below, and "
                    "a certificate can be issued if they are eligible."
                )
                % {"name": registration.attendee_name},
            )
    return redirect("certification_admin:event", event_id=event.pk)


@staff(Perm.ISSUE_CERTIFICATES)
def job(request, pk):
    issue_job = get_object_or_404(IssueJob.objects.select_related("event"), pk=pk)
    running = issue_job.status in (IssueJobStatus.QUEUED, IssueJobStatus.RUNNING)
    return render(
        request,
        "certification/admin/job.html",
        {"page_title": _("Issuing certificates"), "job": issue_job, "running": running},
    )


@staff(Perm.ISSUE_CERTIFICATES)
def certificate(request, code):
    cert = get_object_or_404(Certificate.objects.select_related("event", "registration"), code=code)
    reissue_form = ReissueForm(request.POST if request.POST.get("action") == "reissue" else None)
    revoke_form = RevokeForm(request.POST if request.POST.get("action") == "revoke" else None)
    if request.method == "POST":
        try:
            if reissue_form.is_bound and reissue_form.is_valid():
                new = services.reissue_certificate(
                    cert, actor=request.user, note=reissue_form.cleaned_data["note"]
                )
                messages.success(
                    request,
                    _("Reissued as %(new)s; %(old)s is superseded.")
                    % {"new": new.code, "old": cert.code},
                )
                return redirect("certification_admin:certificate", code=new.code)
            if revoke_form.is_bound and revoke_form.is_valid():
                services.revoke_certificate(
                    cert, actor=request.user, reason=revoke_form.cleaned_data["reason"]
                )
                messages.success(request, _("%(code)s is revoked.") % {"code": cert.code})
                return redirect("certification_admin:certificate", code=cert.code)
        except services.CEError as error:
            messages.error(request, str(error))
    return render(
        request,
        "certification/admin/certificate.html",
        {
            "page_title": _("Certificate %(code)s") % {"code": cert.code},
            "certificate": cert,
            "reissue_form": reissue_form,
            "revoke_form": revoke_form,
            "history": audit.history(cert)[:20],
            "successor": Certificate.objects.filter(supersedes=cert).first(),
        },
    )


@staff(Perm.ISSUE_CERTIFICATES)
def certificate_pdf(request, code):
    cert = get_object_or_404(Certificate, code=code)
    return _pdf_response(services.certificate_pdf_bytes(cert), services.certificate_filename(cert))


@staff(Perm.ISSUE_CERTIFICATES)
def evaluation_results(request, event_id):
    event = get_object_or_404(EventPage, pk=event_id)
    if request.GET.get("format") == "csv":
        return _csv_response(
            reports.evaluation_csv(event), _("Evaluations %(event)s.csv") % {"event": event.title}
        )
    return render(
        request,
        "certification/admin/evaluation.html",
        {
            "page_title": _("Evaluation results: %(event)s") % {"event": event.title},
            "event": event,
            "summary": reports.evaluation_summary(event),
        },
    )


@staff(Perm.ISSUE_CERTIFICATES)
def ce_broker_roster(request, event_id, body_id):
    event = get_object_or_404(EventPage, pk=event_id)
    body = get_object_or_404(AccreditingBody, pk=body_id)
    include_reported = (request.POST or request.GET).get("include_reported") == "1"
    batch_id = parse_id(request.GET.get("batch"))
    if batch_id:  # a past batch, downloaded again exactly as it was first
        batch = get_object_or_404(CEBrokerBatch, pk=batch_id, event=event, body=body)
        response = HttpResponse(bytes(batch.xls), content_type="application/vnd.ms-excel")
        response["Content-Disposition"] = pdf.content_disposition(
            f"CE Broker roster {body.short_name} {event.title} batch {batch.pk}.xls"
        )
        return response
    if request.method == "POST":
        try:
            _batch, content = services.export_ce_broker_roster(
                event, body, actor=request.user, include_reported=include_reported
            )
        except services.CEError as error:
            messages.error(request, str(error))
            return redirect(request.get_full_path())
        response = HttpResponse(content, content_type="application/vnd.ms-excel")
        response["Content-Disposition"] = pdf.content_disposition(
            f"CE Broker roster {body.short_name} {event.title}.xls"
        )
        return response
    roster = rosters.ce_broker_roster(event, body, include_reported=include_reported)
    return render(
        request,
        "certification/admin/ce_broker.html",
        {
            "page_title": _("CE Broker roster: %(event)s") % {"event": event.title},
            "event": event,
            "body": body,
            "roster": roster,
            "batches": CEBrokerBatch.objects.filter(event=event, body=body)
            .select_related("exported_by")
            .annotate(row_count=Count("rows")),
            "columns": rosters.CE_BROKER_COLUMNS[: 10 if roster.partial_credit else 8],
        },
    )


@staff(Perm.ISSUE_CERTIFICATES)
def attendance_roster(request, event_id, body_id):
    event = get_object_or_404(EventPage, pk=event_id)
    body = get_object_or_404(AccreditingBody, pk=body_id, offerings__event=event)
    return _csv_response(
        rosters.attendance_credit_csv(event, body),
        f"Attendance and credit {body.short_name} {event.title}.csv",
    )


@staff(Perm.ISSUE_CERTIFICATES)
def transcript_search(request):
    query = query_text(request, "q").strip()
    people = []
    if query:
        people = (
            get_user_model()
            .objects.filter(Q(email__icontains=query) | Q(legal_name__icontains=query))
            .order_by("legal_name")[:50]
        )
    return render(
        request,
        "certification/admin/transcripts.html",
        {"page_title": _("CE transcripts"), "query": query, "people": people},
    )


@staff(Perm.ISSUE_CERTIFICATES)
def person_transcript(request, user_id):
    person = get_object_or_404(get_user_model(), pk=user_id)
    certificates = list(transcripts.certificates_for(person))
    if request.GET.get("format") in ("pdf", "csv"):
        audit.record(
            "certification.transcript.produced",
            person,
            actor=request.user,
            note=f"format={request.GET['format']}",
        )
        if request.GET["format"] == "pdf" and services.built_by_worker(len(certificates)):
            # Too long for one request: the worker builds it and e-mails the link.
            job = services.request_transcript(person, actor=request.user)
            return redirect(job.get_absolute_url())
        if request.GET["format"] == "pdf":
            return _pdf_response(
                transcripts.transcript_pdf(person, certificates),
                _("CE transcript %(name)s.pdf") % {"name": person.legal_name},
            )
        return _csv_response(
            transcripts.transcript_csv(certificates),
            _("CE transcript %(name)s.csv") % {"name": person.legal_name},
        )
    return render(
        request,
        "certification/admin/person.html",
        {
            "page_title": _("CE transcript: %(name)s") % {"name": person.legal_name},
            "person": person,
            "certificates": certificates,
            "all_certificates": Certificate.objects.filter(
                Q(attendee=person) | Q(registration__attendee=person)
            ).distinct(),
            "summary": transcripts.summary(certificates),
            "pdf_url": reverse("certification_admin:person", args=[person.pk]) + "?format=pdf",
        },
    )
