"""Attendee and public pages: My CE, licenses, the evaluation, certificates, verification."""

import re

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_ratelimit.core import is_ratelimited

from cms import pdf
from cms.access import Perm, may_act_for_others, members, owner, public
from courses.models import Registration, RegistrationStatus

from . import badges, services, transcripts
from .credits import home_study_progress, is_recorded
from .forms import EvaluationForm, LicenseForm, RegistrationLicensesForm
from .models import AccreditingBody, Certificate, CertificateStatus, EvaluationResponse, License

CODE_PATTERN = re.compile(r"^CE-[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")
VERIFY_RATE = "60/m"


def _pdf_response(data, filename, *, inline=False):
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = pdf.content_disposition(filename, inline=inline)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _csv_response(text, filename):
    response = HttpResponse(text.encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = pdf.content_disposition(filename)
    response["Cache-Control"] = "private, no-store"
    return response


def visible_certificate(request, code):
    """The certificate if the signed-in person owns it or is a CE administrator; else 404."""
    certificate = (
        Certificate.objects.select_related("event", "registration").filter(code=code).first()
    )
    if certificate is None:
        raise Http404
    user = request.user
    owns = user.is_authenticated and user.pk in (
        certificate.attendee_id,
        certificate.registration.attendee_id,
    )
    if not owns and not may_act_for_others(user, Perm.ISSUE_CERTIFICATES):
        raise Http404
    return certificate


def _own_registrations(user):
    """The person's confirmed registrations that asked for CE, with their eligibility facts
    (a fixed number of queries however many there are)."""
    return services.with_eligibility_facts(
        Registration.objects.filter(attendee=user, status=RegistrationStatus.CONFIRMED)
        .filter(services.asked_for_ce())
        .distinct()
        .order_by("-event__starts_at")
    ).prefetch_related(
        # What a home-study course's credit and its post-test line read, read once for all.
        "post_test_attempts",
        "watch_progress",
        "event__recordings",
    )


@members
def my_ce(request):
    certificates = list(transcripts.certificates_for(request.user))
    certified = {c.registration_id for c in certificates}
    evaluated = set(
        EvaluationResponse.objects.filter(registration__attendee=request.user).values_list(
            "registration_id", flat=True
        )
    )
    pending = []
    for registration in _own_registrations(request.user):
        if registration.pk in certified:
            continue
        state = services.eligibility(registration)
        pending.append(
            {
                "registration": registration,
                "state": state,
                "post_test_passed_on": _post_test_passed_on(registration),
                "evaluation_open": registration.pk not in evaluated
                and bool(registration.event.evaluation_questions.all())
                and services.evaluation_is_open(registration.event),
            }
        )
    summary = transcripts.summary(certificates)
    return render(
        request,
        "certification/my_ce.html",
        {
            "certificates": certificates,
            "summary": summary,
            "hours_by_body": _with_units(summary["by_body"], certificates),
            "pending": pending,
            "licenses": License.objects.filter(user=request.user),
            "transcript_by_worker": services.built_by_worker(len(certificates)),
            "pending_transcript": services.pending_transcript(request.user),
        },
    )


def _post_test_passed_on(registration):
    """The day (in the course's zone) a home-study seat passed its post-test, or None."""
    if not is_recorded(registration.event):
        return None
    return home_study_progress(registration).passed_on


def _with_units(by_body, certificates):
    """(body, hours, unit) for each body's total: a body's hours are only read with its unit."""
    units = {}
    for certificate in certificates:
        for line in certificate.credits:
            units.setdefault(line["body"], line.get("unit", ""))
    return [(body, hours, units.get(body, "")) for body, hours in by_body]


@members
def my_transcript_csv(request):
    text = transcripts.transcript_csv(transcripts.certificates_for(request.user))
    return _csv_response(text, _("CE transcript %(name)s.csv") % {"name": request.user.legal_name})


@members
def licenses(request):
    form = LicenseForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        license_ = form.save(commit=False)
        license_.user = request.user
        services.save_license(license_, actor=request.user)
        messages.success(request, _("Added %(license)s.") % {"license": license_})
        return redirect("certification:licenses")
    return render(
        request,
        "certification/licenses.html",
        {"form": form, "licenses": License.objects.filter(user=request.user)},
    )


@owner()
def license_edit(request, pk):
    license_ = get_object_or_404(License, pk=pk, user=request.user)
    form = LicenseForm(
        request.POST if request.method == "POST" else None, instance=license_, user=request.user
    )
    if request.method == "POST" and form.is_valid():
        services.save_license(form.save(commit=False), actor=request.user)
        messages.success(
            request, _("License updated. Certificates already issued keep what they print.")
        )
        return redirect("certification:licenses")
    return render(request, "certification/license_form.html", {"form": form, "license": license_})


@owner()
@require_POST
def license_delete(request, pk):
    license_ = get_object_or_404(License, pk=pk, user=request.user)
    services.delete_license(license_, actor=request.user)
    messages.success(request, _("Removed %(license)s.") % {"license": license_})
    return redirect("certification:licenses")


@owner()
def registration_licenses(request, public_id):
    registration = get_object_or_404(Registration, public_id=public_id, attendee=request.user)
    initial = {"licenses": [link.license for link in registration.ce_licenses.all()]}
    form = RegistrationLicensesForm(
        request.POST if request.method == "POST" else None,
        user=request.user,
        registration=registration,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        services.set_registration_licenses(
            registration, list(form.cleaned_data["licenses"]), actor=request.user
        )
        messages.success(
            request, _("Saved the licenses for %(event)s.") % {"event": registration.event.title}
        )
        return redirect("certification:my_ce")
    return render(
        request,
        "certification/registration_licenses.html",
        {"form": form, "registration": registration},
    )


@owner()
def evaluation(request, public_id):
    registration = get_object_or_404(
        Registration,
        public_id=public_id,
        attendee=request.user,
        status=RegistrationStatus.CONFIRMED,
    )
    event = registration.event
    if EvaluationResponse.objects.filter(registration=registration).exists():
        messages.info(request, _("You have already submitted this evaluation. Thank you."))
        return redirect("certification:my_ce")
    if not services.evaluation_is_open(event):
        return render(request, "certification/evaluation_closed.html", {"event": event}, status=403)
    questions = event.evaluation_questions.all()
    form = EvaluationForm(request.POST if request.method == "POST" else None, questions=questions)
    if request.method == "POST" and form.is_valid():
        try:
            _response, certificate = services.submit_evaluation(
                registration, form.answers(), actor=request.user
            )
        except services.CEError as error:
            messages.error(request, str(error))
            return redirect("certification:my_ce")
        if certificate:
            messages.success(request, _("Thank you. Your certificate is ready."))
            return redirect(certificate.get_absolute_url())
        messages.success(request, _("Thank you for your evaluation."))
        return redirect("certification:my_ce")
    return render(
        request,
        "certification/evaluation.html",
        {"form": form, "event": event, "registration": registration},
    )


@owner(Perm.ISSUE_CERTIFICATES)
def certificate_detail(request, code):
    certificate = visible_certificate(request, code)
    return render(
        request,
        "certification/certificate_detail.html",
        {
            "certificate": certificate,
            "linkedin_url": badges.linkedin_add_url(certificate),
            "verify_url": services.absolute_url(certificate.get_verification_url()),
        },
    )


@owner(Perm.ISSUE_CERTIFICATES)
def certificate_pdf(request, code):
    certificate = visible_certificate(request, code)
    data = services.certificate_pdf_bytes(certificate)
    return _pdf_response(data, services.certificate_filename(certificate))


def _rate_limited(request):
    return is_ratelimited(
        request, group="certification.verify", key="ip", rate=VERIFY_RATE, increment=True
    )


def _not_found(request):
    return render(request, "certification/verify_not_found.html", status=404)


@public
def verify(request, code):
    """Public: valid, superseded (link to the current one) or revoked; nothing else leaks."""
    if _rate_limited(request):
        return render(request, "certification/verify_rate_limited.html", status=429)
    code = (code or "").strip().upper()
    certificate = None
    if CODE_PATTERN.match(code):
        certificate = Certificate.objects.filter(code=code).first()
    if certificate is None:
        return _not_found(request)
    current = (
        certificate.current_version()
        if certificate.status == CertificateStatus.SUPERSEDED
        else None
    )
    return render(
        request,
        "certification/verify.html",
        {
            "certificate": certificate,
            "current": current if current and current.pk != certificate.pk else None,
            "credit_lines": _spelled_out_credits(certificate.credits),
        },
    )


def _spelled_out_credits(credits):
    """Each body by its full name with the abbreviation after it ("Florida Board of … (FL 491)"):
    a stranger checking the certificate may not know what "FL 491" is. The name printed at
    issue is used; older certificates without one take the body's current name."""
    ids = [line.get("body_id") for line in credits if not line.get("body") and line.get("body_id")]
    names = dict(AccreditingBody.objects.filter(pk__in=ids).values_list("pk", "name"))
    lines = []
    for line in credits:
        short_name = line.get("short_name") or ""
        name = line.get("body") or names.get(line.get("body_id")) or short_name
        lines.append(
            {
                **line,
                "body_name": name,
                "short_name": short_name if short_name and short_name != name else "",
            }
        )
    return lines


@public
def verify_lookup(request):
    """The form on the verification page: type an id, land on its page."""
    code = (request.GET.get("code") or "").strip().upper()
    if not code:
        return render(request, "certification/verify_lookup.html")
    if "/" in code or not code.isprintable():
        # Not an id the site could have printed, and no path segment to redirect to.
        return _not_found(request)
    return redirect("certification:verify", code=code)
