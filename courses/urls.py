"""Registration pages, mounted under /registrations/ before Wagtail's catch-all."""

from django.urls import path

from courses import calendar_views, views, waitlist_views, watch_views

app_name = "courses"

urlpatterns = [
    path("", views.my_registrations, name="my_registrations"),
    path("events/<id:event_id>/register/", views.register, name="register"),
    path("events/<id:event_id>/waitlist/", waitlist_views.join_waitlist, name="join_waitlist"),
    path(
        "events/<id:event_id>/calendar.ics",
        calendar_views.event_calendar_file,
        name="event_calendar",
    ),
    path("bookings/<uuid:public_id>/", views.booking_summary, name="booking_summary"),
    path(
        "bookings/<uuid:public_id>/attendees/",
        views.booking_attendees,
        name="booking_attendees",
    ),
    path("bookings/<uuid:public_id>/confirm/", views.confirm_booking, name="confirm_booking"),
    path(
        "bookings/<uuid:public_id>/confirmation/",
        views.booking_confirmation,
        name="booking_confirmation",
    ),
    path("seats/<uuid:public_id>/cancel/", views.cancel_registration, name="cancel_registration"),
    path(
        "seats/<uuid:public_id>/transfer/",
        views.transfer_registration,
        name="transfer_registration",
    ),
    path("seats/<uuid:public_id>/invite/", views.resend_invitation, name="resend_invitation"),
    path("seats/<uuid:public_id>/watch/", watch_views.watch, name="watch"),
    path(
        "seats/<uuid:public_id>/recordings/<id:recording_id>/",
        watch_views.recording_file,
        name="watch_recording",
    ),
    path(
        "seats/<uuid:public_id>/recordings/<id:recording_id>/heartbeat/",
        watch_views.heartbeat,
        name="watch_heartbeat",
    ),
    path("waitlist/leave/<id:entry_id>/", waitlist_views.leave_waitlist, name="leave_waitlist"),
    path("claim/<text:token>/", views.claim_seat, name="claim_seat"),
    path("waitlist/<text:token>/", waitlist_views.waitlist_claim, name="waitlist_claim"),
    path("materials/<id:material_id>/", views.download_material, name="download_material"),
]
