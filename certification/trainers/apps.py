from django.apps import AppConfig


class TrainersConfig(AppConfig):
    """Trainer certification: tracks, demonstration videos, reviews, credentials.

    Kept as its own app inside certification/ so its tables and migrations evolve apart from
    CE credit and certificates, which it uses (the credential PDF comes from the certificate
    engine in certification/).
    """

    name = "certification.trainers"
    label = "trainers"
    verbose_name = "Trainer certification"
