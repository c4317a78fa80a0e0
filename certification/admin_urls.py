from django.urls import path

from . import admin_views as views

app_name = "certification_admin"

urlpatterns = [
    path("", views.index, name="index"),
    path("events/<int:event_id>/", views.event_ce, name="event"),
    path("events/<int:event_id>/evaluation/", views.evaluation_results, name="evaluation"),
    path(
        "events/<int:event_id>/ce-broker/<int:body_id>/",
        views.ce_broker_roster,
        name="ce_broker",
    ),
    path(
        "events/<int:event_id>/attendance/<int:body_id>.csv",
        views.attendance_roster,
        name="attendance_roster",
    ),
    path("jobs/<int:pk>/", views.job, name="job"),
    path("certificates/<str:code>/", views.certificate, name="certificate"),
    path("certificates/<str:code>/pdf/", views.certificate_pdf, name="certificate_pdf"),
    path("transcripts/", views.transcript_search, name="transcripts"),
    path("transcripts/<int:user_id>/", views.person_transcript, name="person"),
]
