"""What certification does when courses' rows change (courses never imports certification)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from courses.models import Registration
from courses.signals import on_demand_course_created

from .models import CEOffering, EvaluationQuestion, EventCESettings
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
