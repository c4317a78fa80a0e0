from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrainersConfig(AppConfig):
    """Trainer certification: tracks, demonstration videos, reviews, credentials.

    Its own app inside certification/ so its tables and migrations evolve apart from CE credit
    and certificates. Candidates' attendance comes from courses; the credential PDF is rendered
    by the site's PDF engine (cms.pdf), as certificates are.
    """

    name = "certification.trainers"
    label = "trainers"
    verbose_name = _("Trainer certification")
