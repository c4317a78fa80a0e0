from django.urls import path

from . import admin_views as views

app_name = "certification_admin"

urlpatterns = [
    path("", views.index, name="index"),
    path("events/<id:event_id>/", views.event_ce, name="event"),
    path("events/<id:event_id>/evaluation/", views.evaluation_results, name="evaluation"),
    path(
        "events/<id:event_id>/reinstate/<id:registration_id>/",
        views.reinstate,
        name="reinstate",
    ),
    path(
        "events/<id:event_id>/ce-broker/<id:body_id>/",
        views.ce_broker_roster,
        name="ce_broker",
    ),
    path(
        "events/<id:event_id>/attendance/<id:body_id>.csv",
        views.attendance_roster,
        name="attendance_roster",
    ),
    path("jobs/<id:pk>/", views.job, name="job"),
    path("certificates/<text:code>/", views.certificate, name="certificate"),
    path("certificates/<text:code>/pdf/", views.certificate_pdf, name="certificate_pdf"),
    path("transcripts/", views.transcript_search, name="transcripts"),
    path("transcripts/<id:user_id>/", views.person_transcript, name="person"),
]
