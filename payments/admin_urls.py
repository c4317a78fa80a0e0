from django.urls import path

from payments import admin_views, membership_admin

app_name = "payments_admin"

urlpatterns = [
    path("", admin_views.order_list, name="orders"),
    path("export.csv", admin_views.order_csv, name="orders_csv"),
    path("revenue/", admin_views.revenue, name="revenue"),
    path("members/", membership_admin.members, name="members"),
    path("members/export.csv", membership_admin.members_csv, name="members_csv"),
    path(
        "members/invoices/<uuid:payment_id>/mark-paid/",
        membership_admin.invoice_mark_paid,
        name="membership_invoice_mark_paid",
    ),
    path(
        "members/invoices/<uuid:payment_id>/cancel/",
        membership_admin.invoice_cancel,
        name="membership_invoice_cancel",
    ),
    path("<uuid:order_id>/", admin_views.order_detail, name="order"),
    path("<uuid:order_id>/refund/", admin_views.order_refund, name="order_refund"),
    path("<uuid:order_id>/mark-paid/", admin_views.order_mark_paid, name="order_mark_paid"),
    path("<uuid:order_id>/resolve/", admin_views.order_resolve, name="order_resolve"),
]
