"""Staff roles. Each later feature grants its screens and objects to the roles named here."""

EVENT_MANAGER = "Event manager"
CE_ADMINISTRATOR = "CE administrator"
CERTIFICATION_REVIEWER = "Certification reviewer"
FINANCE = "Finance"
EDITOR = "Editor"

STAFF_ROLES = [EVENT_MANAGER, CE_ADMINISTRATOR, CERTIFICATION_REVIEWER, FINANCE, EDITOR]


def user_has_role(user, *roles):
    """True for superusers and for members of any of the given role groups."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name__in=roles).exists()
