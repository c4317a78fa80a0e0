"""Order status and payment method enums for templates (`order.status == OrderStatus.PENDING`)."""

from payments.models import Order


def statuses(request):
    return {"OrderStatus": Order.Status, "PaymentMethod": Order.Method}
