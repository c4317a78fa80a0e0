"""The CE transcript as PDF: rendered in the request when short, by the worker when long."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from cms.access import Perm, may_act_for_others, members, owner

from . import services, transcripts
from .models import TranscriptJob
from .views import _pdf_response

# The status page reloads itself this often (seconds) while the transcript is being built.
REFRESH_SECONDS = 5


@members
def my_transcript_pdf(request):
    """The transcript PDF at once, or (for a long one) the page that has the worker build it."""
    certificates = list(transcripts.certificates_for(request.user))
    if services.built_by_worker(len(certificates)):
        return redirect("certification:transcripts")
    data = transcripts.transcript_pdf(request.user, certificates)
    return _pdf_response(data, _("CE transcript %(name)s.pdf") % {"name": request.user.legal_name})


@members
def transcript_requests(request):
    """Ask for a long transcript (POST), and see the ones asked for before."""
    if request.method == "POST":
        job = services.request_transcript(request.user)
        return redirect(job.get_absolute_url())
    return render(
        request,
        "certification/transcripts.html",
        {
            "count": transcripts.certificates_for(request.user).count(),
            "limit": services.INLINE_LIMIT,
            "jobs": TranscriptJob.objects.filter(owner=request.user)[:5],
        },
    )


def visible_transcript(request, public_id):
    """The transcript job if the signed-in person owns it or is a CE administrator; else 404."""
    job = TranscriptJob.objects.select_related("owner").filter(public_id=public_id).first()
    if job is not None and job.owner_id == request.user.pk:
        return job
    # CE staff without a second factor in this session are sent to complete it first,
    # whether or not the transcript exists: the answer tells nobody else anything.
    if not may_act_for_others(request.user, Perm.ISSUE_CERTIFICATES) or job is None:
        raise Http404
    return job


@owner(Perm.ISSUE_CERTIFICATES)
def transcript_status(request, public_id):
    job = visible_transcript(request, public_id)
    return render(
        request,
        "certification/transcript_status.html",
        {"job": job, "refresh_seconds": REFRESH_SECONDS if job.is_pending else None},
    )


@owner(Perm.ISSUE_CERTIFICATES)
def transcript_download(request, public_id):
    job = visible_transcript(request, public_id)
    if not job.pdf_path:
        messages.info(request, _("The transcript is not ready yet."))
        return redirect(job.get_absolute_url())
    return _pdf_response(services.transcript_pdf_bytes(job), services.transcript_filename(job))
