from django.urls import path

from . import playback, tus, views

app_name = "trainers"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("tracks/<slug:slug>/enrol/", views.enrol, name="enrol"),
    path(
        "enrolments/<uuid:public_id>/videos/<id:requirement_id>/new/",
        views.video_start,
        name="video_start",
    ),
    path(
        "enrolments/<uuid:public_id>/evidence/<id:requirement_id>/",
        views.evidence,
        name="evidence",
    ),
    path(
        "enrolments/<uuid:public_id>/assessment/<id:requirement_id>/",
        views.assessment,
        name="assessment",
    ),
    path("videos/<uuid:public_id>/", views.video_detail, name="video"),
    path("videos/<uuid:public_id>/upload/", views.video_upload, name="video_upload"),
    path("videos/<uuid:public_id>/status/", views.video_status, name="video_status"),
    path("videos/<uuid:public_id>/withdraw/", views.video_withdraw, name="video_withdraw"),
    path("videos/<uuid:public_id>/play/", playback.video, name="video_play"),
    path("videos/<uuid:public_id>/poster/", playback.poster, name="video_poster"),
    path("uploads/tus/", tus.collection, name="tus_collection"),
    path("uploads/tus/<uuid:upload_id>", tus.resource, name="tus_resource"),
    path("uploads/s3/sign/", views.s3_sign, name="s3_sign"),
    path("uploads/s3/finish/", views.s3_finish, name="s3_finish"),
    path("staff/enrolments/<uuid:public_id>/", views.enrolment_staff, name="enrolment_staff"),
    path("reviews/", views.my_reviews, name="my_reviews"),
    path("reviews/<uuid:public_id>/", views.review, name="review"),
    path("credentials/<text:number>.pdf", views.credential_pdf, name="credential_pdf"),
    path("verify/<text:code>/", views.verify, name="verify"),
    path("directory/", views.directory, name="directory"),
    path("directory/my-entry/", views.listing, name="listing"),
]
