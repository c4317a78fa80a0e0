"""The Wagtail admin's user screens, fitted to this site's user model.

Wagtail's own forms ask for a first and last name (this model has a legal name and a preferred
name instead) and would let staff change a login email without allauth verifying it.
"""

from allauth.account.models import EmailAddress
from django.utils.translation import gettext_lazy as _
from wagtail.users.forms import UserCreationForm, UserEditForm
from wagtail.users.views.users import UserViewSet

PROFILE_FIELDS = {"legal_name", "preferred_name", "profession", "credentials"}
EMAIL_HELP = _(
    "People change their own email address from their account page, where the new address "
    "is verified before it becomes their login."
)


class StaffUserCreationForm(UserCreationForm):
    first_name = None
    last_name = None

    class Meta(UserCreationForm.Meta):
        fields = (UserCreationForm.Meta.fields - {"first_name", "last_name"}) | PROFILE_FIELDS

    def save(self, commit=True):
        user = super().save(commit=commit)
        if commit:
            # The address was typed by staff, not proven by its owner: allauth asks them to
            # verify it the first time they log in.
            EmailAddress.objects.get_or_create(
                user=user, email=user.email, defaults={"primary": True, "verified": False}
            )
        return user


class StaffUserEditForm(UserEditForm):
    first_name = None
    last_name = None

    class Meta(UserEditForm.Meta):
        fields = (UserEditForm.Meta.fields - {"first_name", "last_name"}) | PROFILE_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].disabled = True
        self.fields["email"].help_text = EMAIL_HELP


class StaffUserViewSet(UserViewSet):
    def get_form_class(self, for_update=False):
        return StaffUserEditForm if for_update else StaffUserCreationForm
