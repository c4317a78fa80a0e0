from django.urls import path

from . import attendance_views as views

app_name = "attendance"

urlpatterns = [
    path("", views.event_list, name="events"),
    path("events/<id:event_id>/", views.check_in_screen, name="check_in"),
    path(
        "events/<id:event_id>/sessions/<id:session_id>/registrations/<uuid:public_id>/"
        "<text:action>/",
        views.record_action,
        name="record",
    ),
    path("events/<id:event_id>/zoom/", views.zoom_import, name="zoom_import"),
    path("zoom/<id:pk>/", views.zoom_report, name="zoom_report"),
    path("scan/<text:token>/", views.scan, name="scan"),
    path("entries/<id:pk>/void/", views.void_entry, name="void"),
    path("sessions/<id:session_id>/code/", views.presenter_code, name="presenter_code"),
    path("check-in/", views.self_check_in, name="self_check_in"),
    path("pass/<uuid:public_id>/", views.check_in_pass, name="pass"),
]
