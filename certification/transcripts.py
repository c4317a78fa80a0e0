"""A person's CE transcript: every valid certificate, with hours per body and per license."""

import io
from collections import OrderedDict
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cms import exports, pdf

from .models import Certificate, CertificateStatus

CSV_COLUMNS = [
    gettext_lazy("Certificate ID"),
    gettext_lazy("Program"),
    gettext_lazy("Dates"),
    gettext_lazy("Format"),
    gettext_lazy("Completed on"),
    gettext_lazy("Accrediting body"),
    gettext_lazy("Hours"),
    gettext_lazy("Course number"),
    gettext_lazy("Provider number"),
    gettext_lazy("Licenses"),
    gettext_lazy("Issued on"),
]


def certificates_for(user):
    """The person's valid certificates, newest program first."""
    return (
        Certificate.objects.filter(Q(attendee=user) | Q(registration__attendee=user))
        .filter(status=CertificateStatus.ISSUED)
        .distinct()
        .order_by("-completed_on", "-issued_at")
    )


def license_label(license_):
    return _("%(profession)s, %(jurisdiction)s #%(number)s") % {
        "profession": license_.get("profession") or _("License"),
        "jurisdiction": license_.get("jurisdiction"),
        "number": license_.get("number"),
    }


def summary(certificates):
    """Total hours per accrediting body, and per (license, body) pair."""
    by_body, by_license = OrderedDict(), OrderedDict()
    for certificate in certificates:
        for line in certificate.credits:
            hours = Decimal(line["hours"])
            by_body[line["body"]] = by_body.get(line["body"], Decimal("0")) + hours
            for license_ in certificate.licenses:
                key = (license_label(license_), line["body"])
                by_license[key] = by_license.get(key, Decimal("0")) + hours
    return {
        "by_body": list(by_body.items()),
        "by_license": [(label, body, hours) for (label, body), hours in by_license.items()],
    }


def transcript_csv(certificates):
    buffer = io.StringIO()
    writer = exports.csv_writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for certificate in certificates:
        licenses = "; ".join(license_label(license_) for license_ in certificate.licenses)
        for line in certificate.credits:
            writer.writerow(
                [
                    certificate.code,
                    certificate.program_title,
                    certificate.program_dates,
                    certificate.program_format,
                    certificate.completed_on.isoformat(),
                    line["body"],
                    Decimal(line["hours"]),
                    line.get("course_number", ""),
                    line.get("provider_number", ""),
                    licenses,
                    certificate.issue_date.isoformat(),
                ]
            )
    return exports.BOM + buffer.getvalue()


def transcript_pdf(person, certificates):
    certificates = list(certificates)
    return pdf.render_pdf(
        "certification/pdf/transcript.html",
        {
            "person": person,
            "certificates": certificates,
            "summary": summary(certificates),
            "generated_on": timezone.localdate(),
        },
    )
