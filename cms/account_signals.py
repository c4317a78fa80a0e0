"""Audit records for the account changes allauth makes (sign-up, verification, passwords, 2FA).

allauth owns these flows, so its signals are the one place each change can be recorded.
"""

from allauth.account import signals as account_signals

# allauth keeps its authentication records through this function; it is not re-exported.
from allauth.account.internal.flows.login import record_authentication
from allauth.core import context as allauth_context
from allauth.mfa import signals as mfa_signals
from allauth.mfa.models import Authenticator
from django.db.models.signals import post_save
from django.dispatch import receiver

from cms import audit


@receiver(account_signals.user_signed_up, dispatch_uid="cms.audit.user_signed_up")
def record_sign_up(sender, request, user, **kwargs):
    audit.record("cms.user.signed_up", user, actor=user, after={"email": user.email})


@receiver(account_signals.email_confirmed, dispatch_uid="cms.audit.email_confirmed")
def record_email_verified(sender, request, email_address, **kwargs):
    user = email_address.user
    audit.record("cms.user.email_verified", user, actor=user, after={"email": email_address.email})


@receiver(account_signals.email_changed, dispatch_uid="cms.audit.email_changed")
def record_email_changed(sender, request, user, from_email_address, to_email_address, **kwargs):
    audit.record(
        "cms.user.email_changed",
        user,
        actor=user,
        before={"email": from_email_address.email if from_email_address else ""},
        after={"email": to_email_address.email},
    )


@receiver(account_signals.password_changed, dispatch_uid="cms.audit.password_changed")
@receiver(account_signals.password_set, dispatch_uid="cms.audit.password_set")
def record_password_changed(sender, request, user, **kwargs):
    audit.record("cms.user.password_changed", user, actor=user)


@receiver(account_signals.password_reset, dispatch_uid="cms.audit.password_reset")
def record_password_reset(sender, request, user, **kwargs):
    audit.record("cms.user.password_reset", user, actor=user)


@receiver(mfa_signals.authenticator_added, dispatch_uid="cms.audit.authenticator_added")
def record_authenticator_added(sender, request, user, authenticator, **kwargs):
    audit.record("cms.user.two_factor_added", user, actor=user, after={"type": authenticator.type})


@receiver(mfa_signals.authenticator_removed, dispatch_uid="cms.audit.authenticator_removed")
def record_authenticator_removed(sender, request, user, authenticator, **kwargs):
    audit.record(
        "cms.user.two_factor_removed", user, actor=user, before={"type": authenticator.type}
    )


@receiver(mfa_signals.authenticator_reset, dispatch_uid="cms.audit.authenticator_reset")
def record_authenticator_reset(sender, request, user, authenticator, **kwargs):
    audit.record(
        "cms.user.recovery_codes_regenerated", user, actor=user, after={"type": authenticator.type}
    )


@receiver(post_save, sender=Authenticator, dispatch_uid="cms.access.second_factor_on_activation")
def count_activation_as_second_factor(sender, instance, created, **kwargs):
    """Activating an authenticator app proves both factors (allauth asked for the password just
    before, and the code came from the new app), so this session counts as having a second
    factor: a staff member who set one up is taken straight back to the page they asked for.

    A post_save receiver, not allauth's `authenticator_added` signal: that one is sent after the
    commit, and the records must be written while the activating request is still current.
    """
    request = allauth_context.request
    if created and request is not None and instance.type == Authenticator.Type.TOTP:
        record_authentication(request, instance.user, "mfa", id=instance.pk, type=instance.type)
