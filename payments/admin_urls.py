from django.urls import path

from payments import admin_views

app_name = "payments_admin"

urlpatterns = [
    path("", admin_views.order_list, name="orders"),
    path("export.csv", admin_views.order_csv, name="orders_csv"),
    path("revenue/", admin_views.revenue, name="revenue"),
    path("<uuid:order_id>/", admin_views.order_detail, name="order"),
    path("<uuid:order_id>/refund/", admin_views.order_refund, name="order_refund"),
    path("<uuid:order_id>/mark-paid/", admin_views.order_mark_paid, name="order_mark_paid"),
    path("<uuid:order_id>/resolve/", admin_views.order_resolve, name="order_resolve"),
]
