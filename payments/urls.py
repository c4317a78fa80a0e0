from django.urls import path

from payments import views, webhooks

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
]
