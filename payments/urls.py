from django.urls import path

from payments import membership_views, views, webhooks

app_name = "payments"

urlpatterns = [
    path("checkout/<uuid:booking_id>/", views.checkout, name="checkout"),
    path(
        "checkout/<uuid:booking_id>/cancelled/",
        views.checkout_cancelled,
        name="checkout_cancelled",
    ),
    path("orders/<uuid:order_id>/", views.order_return, name="order_return"),
    path("orders/<uuid:order_id>/status/", views.order_status, name="order_status"),
    path(
        "orders/<uuid:order_id>/pay-by-card/",
        views.pay_invoice_by_card,
        name="pay_invoice_by_card",
    ),
    path("documents/<uuid:document_id>/", views.document_download, name="document"),
    path("stripe/webhook/", webhooks.stripe_webhook, name="stripe_webhook"),
    path("membership/", membership_views.membership, name="membership"),
    path("membership/join/", membership_views.join, name="membership_join"),
    path("membership/welcome/", membership_views.checkout_return, name="membership_return"),
    path("membership/invoice/", membership_views.request_invoice, name="membership_invoice"),
    path("membership/manage/", membership_views.manage, name="membership_manage"),
    path("membership/seats/", membership_views.give_seat, name="membership_seat"),
    path(
        "membership/documents/<uuid:payment_id>/<str:kind>/",
        membership_views.document,
        name="membership_document",
    ),
]
