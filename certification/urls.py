from django.urls import path

from . import badge_views, post_test_views, transcript_views, views

app_name = "certification"

urlpatterns = [
    path("ce/", views.my_ce, name="my_ce"),
    path("ce/transcript.pdf", transcript_views.my_transcript_pdf, name="my_transcript_pdf"),
    path("ce/transcripts/", transcript_views.transcript_requests, name="transcripts"),
    path(
        "ce/transcripts/<uuid:public_id>/",
        transcript_views.transcript_status,
        name="transcript_status",
    ),
    path(
        "ce/transcripts/<uuid:public_id>/pdf/",
        transcript_views.transcript_download,
        name="transcript_download",
    ),
    path("ce/transcript.csv", views.my_transcript_csv, name="my_transcript_csv"),
    path("ce/licenses/", views.licenses, name="licenses"),
    path("ce/licenses/<id:pk>/", views.license_edit, name="license_edit"),
    path("ce/licenses/<id:pk>/delete/", views.license_delete, name="license_delete"),
    path(
        "ce/registrations/<uuid:public_id>/licenses/",
        views.registration_licenses,
        name="registration_licenses",
    ),
    path("ce/evaluation/<uuid:public_id>/", views.evaluation, name="evaluation"),
    path("ce/post-test/<uuid:public_id>/", post_test_views.overview, name="post_test"),
    path("ce/post-test/<uuid:public_id>/start/", post_test_views.start, name="post_test_start"),
    path("ce/post-test/<uuid:public_id>/take/", post_test_views.take, name="post_test_take"),
    path(
        "ce/post-test/<uuid:public_id>/attempts/<int:attempt_number>/",
        post_test_views.result,
        name="post_test_result",
    ),
    path("ce/certificates/<text:code>/", views.certificate_detail, name="certificate_detail"),
    path("ce/certificates/<text:code>/pdf/", views.certificate_pdf, name="certificate_pdf"),
    path("verify/", views.verify_lookup, name="verify_lookup"),
    path("verify/<text:code>/", views.verify, name="verify"),
    path("verify/<text:code>/badge.json", badge_views.open_badge, name="open_badge"),
    path("verify/<text:code>/badge.jwt", badge_views.open_badge_jwt, name="open_badge_jwt"),
    path("badges/status/1", badge_views.status_list_credential, name="status_list"),
    path("badges/status/1.jwt", badge_views.status_list_jwt, name="status_list_jwt"),
    path("badges/keys/<text:thumbprint>", badge_views.badge_key, name="badge_key"),
    path(".well-known/jwks.json", badge_views.jwks, name="jwks"),
    path(".well-known/did.json", badge_views.did_document, name="did_document"),
]
