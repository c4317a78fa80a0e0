"""The license typed at registration is kept: saved once on the attendee's profile and chosen
for that event's CE, so My CE lists it and the CE licenses page has it ticked."""

import html as html_lib
import re
from importlib import import_module

import pytest
from django.apps import apps
from django.urls import reverse

from certification.factories import make_registration
from certification.models import License, RegistrationLicense
from courses.factories import UserFactory, make_event
from courses.models import AddOn, Booking, Registration

pytestmark = [pytest.mark.board, pytest.mark.django_db]


def _text(response):
    page = response.content.decode()
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _seat(index, **fields):
    base = {
        "attendee_name": "",
        "attendee_email": "",
        "profession": "",
        "license_jurisdiction": "",
        "license_number": "",
        "accessibility_needs": "",
        "dietary_needs": "",
    }
    base.update(fields)
    return {f"seat-{index}-{name}": value for name, value in base.items()}


def _register(client, event, seats, *, key):
    """Choose tickets, fill in each seat (with the CE add-on) and confirm the free booking."""
    ce = AddOn.objects.get(event=event)
    data = {"idempotency_key": key, f"ticket_{event.ticket_types.get().pk}": len(seats)}
    data[f"addon_{ce.pk}"] = len(seats)
    response = client.post(reverse("courses:register", args=[event.pk]), data)
    assert response.status_code == 302, _text(response)
    details = {}
    for index, seat in enumerate(seats, start=1):
        details.update(_seat(index, **seat))
        details[f"seat-{index}-add_on_ids"] = [str(ce.pk)]
    response = client.post(response["Location"], details)
    assert response.status_code == 302, _text(response)
    booking = Booking.objects.get(idempotency_key=key)
    client.post(reverse("courses:confirm_booking", args=[booking.public_id]))
    return booking


def _ticked_license_ids(page):
    """The license ids whose checkbox is ticked on a CE licenses page."""
    return {
        int(re.search(r'value="(\d+)"', tag).group(1))
        for tag in re.findall(r"<input[^>]*>", page)
        if 'name="licenses"' in tag and re.search(r"\schecked\b", tag)
    }


def _ce_event(title):
    return make_event(title=title, add_ons=[("CE credits", 0, True)])


@pytest.fixture
def maria(client):
    user = UserFactory(email="maria@example.org", legal_name="María José Núñez")
    client.force_login(user)
    return user


def test_license_typed_at_registration_is_kept_once_and_chosen_for_that_event(client, maria):
    first = _ce_event("Measuring What Matters")
    _register(
        client,
        first,
        [
            {
                "attendee_name": "María José Núñez",
                "attendee_email": "maria@example.org",
                "profession": "LMHC",
                "license_jurisdiction": "FL",
                "license_number": "MH12345",
            }
        ],
        key="first",
    )

    kept = License.objects.get(user=maria)
    assert (kept.profession, kept.jurisdiction, kept.number) == ("LMHC", "FL", "MH12345")
    registration = Registration.objects.get(event=first)
    assert registration.is_confirmed
    assert list(registration.ce_licenses.values_list("license_id", flat=True)) == [kept.pk]

    my_ce = _text(client.get(reverse("certification:my_ce")))
    assert "No licenses on your profile" not in my_ce
    assert "LMHC, FL #MH12345" in my_ce

    # The same number typed again with other spacing and case is the same license.
    second = _ce_event("Deliberate Practice Intensive")
    _register(
        client,
        second,
        [
            {
                "attendee_name": "María José Núñez",
                "attendee_email": "maria@example.org",
                "profession": "LMHC",
                "license_jurisdiction": "FL",
                "license_number": " mh 123 45 ",
            }
        ],
        key="second",
    )

    assert License.objects.filter(user=maria).count() == 1
    again = Registration.objects.get(event=second)
    assert again.is_confirmed
    page = client.get(reverse("certification:registration_licenses", args=[again.public_id]))
    assert _ticked_license_ids(page.content.decode()) == {kept.pk}
    text = _text(page)
    assert "LMHC, Florida #MH12345" in text
    assert "saved on your profile and chosen for this program" in text


def test_a_license_already_on_the_profile_with_other_spacing_is_not_added_twice(client, maria):
    typed_earlier = License.objects.create(
        user=maria, profession="LCSW", jurisdiction="fl", number="sw 98 765"
    )
    event = _ce_event("Measuring What Matters")

    registration = make_registration(
        event,
        user=maria,
        name="María José Núñez",
        license_number="SW98765",
        license_jurisdiction="FL",
        profession="LCSW",
    )

    assert list(License.objects.filter(user=maria)) == [typed_earlier]
    assert RegistrationLicense.objects.get(registration=registration).license == typed_earlier
    page = client.get(reverse("certification:registration_licenses", args=[registration.public_id]))
    assert _ticked_license_ids(page.content.decode()) == {typed_earlier.pk}


def test_a_license_chosen_by_the_attendee_is_not_replaced_by_a_later_save(client, maria):
    event = _ce_event("Measuring What Matters")
    registration = make_registration(
        event, user=maria, license_number="MH12345", license_jurisdiction="FL", profession="LMHC"
    )
    other = License.objects.create(user=maria, profession="LCSW", jurisdiction="FL", number="SW1")

    client.post(
        reverse("certification:registration_licenses", args=[registration.public_id]),
        {"licenses": [str(other.pk)]},
    )
    registration.refresh_from_db()
    registration.dietary_needs = "Vegetarian"
    registration.save()

    assert list(registration.ce_licenses.values_list("license_id", flat=True)) == [other.pk]
    assert License.objects.filter(user=maria).count() == 2


def test_a_corrected_license_number_moves_the_automatic_choice(client, maria):
    event = _ce_event("Measuring What Matters")
    registration = make_registration(
        event, user=maria, license_number="MH1234", license_jurisdiction="FL", profession="LMHC"
    )
    typo = License.objects.get(user=maria, number="MH1234")

    # Staff correct the number in the admin (a full save of the registration).
    registration.license_number = "MH12345"
    registration.save()

    corrected = License.objects.get(user=maria, number="MH12345")
    assert list(registration.ce_licenses.values_list("license_id", flat=True)) == [corrected.pk]
    assert typo.pk != corrected.pk
    page = client.get(reverse("certification:registration_licenses", args=[registration.public_id]))
    assert _ticked_license_ids(page.content.decode()) == {corrected.pk}


def test_an_agency_seat_keeps_the_license_until_the_attendee_claims_it(client, maria):
    event = _ce_event("Measuring What Matters")
    _register(
        client,
        event,
        [
            {
                "attendee_name": "María José Núñez",
                "attendee_email": "maria@example.org",
                "license_jurisdiction": "FL",
                "license_number": "MH12345",
            },
            {
                "attendee_name": "Kwame Mensah",
                "attendee_email": "kwame@example.org",
                "profession": "LCSW",
                "license_jurisdiction": "FL",
                "license_number": "sw 4321",
                "invite": "on",
            },
        ],
        key="agency",
    )
    seat = Registration.objects.get(attendee_email="kwame@example.org")
    assert seat.is_confirmed and seat.awaiting_claim
    # The buyer's profile gets only the buyer's own license; the colleague's waits on the seat.
    assert list(License.objects.values_list("user__email", "number")) == [
        ("maria@example.org", "MH12345")
    ]
    assert not seat.ce_licenses.exists()

    kwame = UserFactory(email="kwame@example.org", legal_name="Kwame Mensah")
    client.force_login(kwame)
    client.post(reverse("courses:claim_seat", args=[seat.invitation_token]))

    kept = License.objects.get(user=kwame)
    assert (kept.profession, kept.jurisdiction, kept.number) == ("LCSW", "FL", "SW4321")
    page = client.get(reverse("certification:registration_licenses", args=[seat.public_id]))
    assert _ticked_license_ids(page.content.decode()) == {kept.pk}


def test_registrations_confirmed_before_licenses_were_kept_get_theirs_from_the_migration(maria):
    """Registrations saved before the receiver existed: the data migration keeps their typed
    license on the profile and chooses it, once, and leaves an attendee's own choice alone."""
    keep = import_module(
        "certification.migrations.0009_keep_licenses_typed_before"
    ).keep_typed_licenses
    first, second = _ce_event("Webinar one"), _ce_event("Webinar two")
    older = [make_registration(event, user=maria) for event in (first, second)]
    chosen_by_her = make_registration(_ce_event("Webinar three"), user=maria)
    own = License.objects.create(user=maria, jurisdiction="CA", number="LMFT 1")
    RegistrationLicense.objects.create(registration=chosen_by_her, license=own)
    # Typed before the receiver existed: an update() saves no signal.
    Registration.objects.filter(pk__in=[r.pk for r in older + [chosen_by_her]]).update(
        license_jurisdiction="FL", license_number="mh 12345", profession="Mental health counselor"
    )

    keep(apps, None)
    keep(apps, None)  # a second run adds nothing

    kept = License.objects.get(user=maria, jurisdiction="FL")
    assert (kept.number, kept.profession) == ("MH12345", "Mental health counselor")
    for registration in older:
        assert list(registration.ce_licenses.values_list("license", flat=True)) == [kept.pk]
    assert list(chosen_by_her.ce_licenses.values_list("license", flat=True)) == [own.pk]
