"""What certification does when courses' rows change (courses never imports certification),
and what it tells payments about a seat being refunded (payments never imports it either)."""

from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from wagtail import hooks

from courses.models import Registration
from courses.signals import on_demand_course_created

from .models import CEOffering, Certificate, CertificateStatus, EvaluationQuestion, EventCESettings
from .services.licenses import keep_registration_license

# A save touching any of these may bind a typed license to an account: confirmation
# (status), a claimed seat (attendee), a staff correction (the license fields).
LICENSE_FIELDS = {"status", "attendee", "license_number", "license_jurisdiction", "profession"}


@receiver(post_save, sender=Registration, dispatch_uid="certification.keep_registration_license")
def keep_license_typed_at_registration(sender, instance, raw=False, update_fields=None, **kwargs):
    """The license typed at registration goes to the attendee's profile, chosen for this CE."""
    if raw or not instance.license_number or not instance.attendee_id:
        return
    if update_fields is not None and not LICENSE_FIELDS.intersection(update_fields):
        return
    keep_registration_license(instance)


@receiver(on_demand_course_created, dispatch_uid="certification.home_study_from_webinar")
def set_up_home_study(sender, webinar, course, actor=None, **kwargs):
    """A draft on-demand course made from a webinar is home study: its CE settings say so,
    and it offers credit under the webinar's bodies for the same hours. The course number and
    the body's home-study approval statement are left for staff to fill in (a home-study
    course has its own number), as is the post-test. The evaluation questions come along."""
    EventCESettings.objects.update_or_create(event=course, defaults={"is_recorded": True})
    for offering in webinar.ce_offerings.all():
        CEOffering.objects.get_or_create(
            event=course,
            body=offering.body,
            defaults={"hours": offering.hours, "professions": offering.professions},
        )
    if not course.evaluation_questions.exists():
        EvaluationQuestion.objects.bulk_create(
            EvaluationQuestion(
                event=course,
                sort_order=question.sort_order,
                kind=question.kind,
                prompt=question.prompt,
                required=question.required,
            )
            for question in webinar.evaluation_questions.all()
        )


# payments.services.refunds.REFUNDED_SEATS_HOOK, by name: certification does not import payments.
@hooks.register("refunded_seats_keep")
def issued_certificates_kept(registrations):
    """A refund takes a seat's access away but not a certificate already issued (the
    attendee may have sent it to their board): Finance is told who keeps which one."""
    certificates = Certificate.objects.filter(
        registration__in=registrations, status=CertificateStatus.ISSUED
    ).order_by("attendee_name", "code")
    return [
        _(
            "%(name)s keeps CE certificate %(code)s for %(program)s (issued %(day)s) although "
            "the seat is refunded: an issued certificate stays valid. A CE administrator can "
            "revoke it if the credit should not stand."
        )
        % {
            "name": certificate.attendee_name,
            "code": certificate.code,
            "program": certificate.program_title,
            "day": date_format(certificate.issue_date, "j F Y"),
        }
        for certificate in certificates
    ]
