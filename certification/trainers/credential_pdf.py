"""The credential certificate, rendered by the shared certificate engine (cms/pdf.py)."""

from django.conf import settings

from cms import links, pdf


def verification_url(credential):
    return links.absolute_reverse("trainers:verify", credential.verification_code)


def render_credential(credential):
    """Render and store the PDF; return (storage name, sha256)."""
    url = verification_url(credential)
    context = {
        "credential": credential,
        "holder_name": credential.holder_name,
        "verification_url": url,
        "qr_code": pdf.qr_code_data_uri(url),
        "organisation": getattr(settings, "WAGTAIL_SITE_NAME", ""),
    }
    data = pdf.render_pdf("certification/trainers/credential_pdf.html", context)
    return pdf.store_pdf(data, f"credential-{credential.number}")
