"""State changes a person makes to their own account outside allauth: profile and closing it."""

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.db import transaction

from cms import audit
from cms.models import User

PROFILE_FIELDS = ["legal_name", "preferred_name", "profession", "credentials"]
DELETED_LEGAL_NAME = "Deleted account"


def update_profile(user, changes, *, actor):
    """Save the profile fields that changed and record their old and new values."""
    # Read the old values from the database: a bound ModelForm has already copied the new
    # ones onto `user`.
    stored = User.objects.only(*PROFILE_FIELDS).get(pk=user.pk)
    before = {field: getattr(stored, field) for field in PROFILE_FIELDS}
    after = {field: changes[field] for field in PROFILE_FIELDS if field in changes}
    changed = {field: value for field, value in after.items() if before[field] != value}
    if not changed:
        return user
    with transaction.atomic():
        for field, value in changed.items():
            setattr(user, field, value)
        user.save(update_fields=list(changed))
        audit.record(
            "cms.user.profile_updated",
            user,
            actor=actor,
            before={field: before[field] for field in changed},
            after=changed,
        )
    return user


def close_account(user, *, actor):
    """Anonymise and deactivate the account instead of deleting the row.

    Registrations, payments and certificates point at the user and must survive for CE and
    financial audits; they keep their own copy of the name as it was printed. What identifies
    the person on the account itself is wiped, the login is made impossible, and the email
    address becomes free for a new sign-up.
    """
    with transaction.atomic():
        user.email = f"deleted-{user.pk}@deleted.invalid"
        user.legal_name = DELETED_LEGAL_NAME
        user.preferred_name = ""
        user.profession = ""
        user.credentials = ""
        user.is_active = False
        user.is_staff = False
        user.is_superuser = False
        # An unusable password also changes the session hash, which ends every other session.
        user.set_unusable_password()
        user.save()
        user.groups.clear()
        EmailAddress.objects.filter(user=user).delete()
        Authenticator.objects.filter(user=user).delete()
        audit.record(
            "cms.user.account_closed",
            user,
            actor=actor,
            after={"is_active": False, "anonymised": True},
            note="Closed by the account holder; personal details anonymised.",
        )
    return user
