from django.urls import path

from . import attendance_views as views

app_name = "attendance"

urlpatterns = [
    path("", views.event_list, name="events"),
    path("events/<int:event_id>/", views.check_in_screen, name="check_in"),
    path(
        "events/<int:event_id>/sessions/<int:session_id>/registrations/<uuid:public_id>/"
        "<str:action>/",
        views.record_action,
        name="record",
    ),
    path("events/<int:event_id>/zoom/", views.zoom_import, name="zoom_import"),
    path("zoom/<int:pk>/", views.zoom_report, name="zoom_report"),
    path("scan/<str:token>/", views.scan, name="scan"),
    path("entries/<int:pk>/void/", views.void_entry, name="void"),
    path("sessions/<int:session_id>/code/", views.presenter_code, name="presenter_code"),
    path("check-in/", views.self_check_in, name="self_check_in"),
    path("pass/<uuid:public_id>/", views.check_in_pass, name="pass"),
]
