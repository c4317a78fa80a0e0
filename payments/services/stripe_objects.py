"""Reading Stripe's objects: as plain dicts, by id (None when Stripe has no such object), and
the order a session, payment intent or charge belongs to."""

import stripe

from payments.models import Order, Payment


def plain(stripe_object):
    """A StripeObject as a plain dict (v16 objects have no `.get`)."""
    if stripe_object is None:
        return {}
    return stripe_object.to_dict() if hasattr(stripe_object, "to_dict") else dict(stripe_object)


def order_for_stripe_object(metadata, *, session_id=None, payment_intent_id=None):
    """Our order for a Stripe object: by the order id we put in its metadata, else by the
    Checkout Session or PaymentIntent id we stored."""
    order_id = plain(metadata).get("order_id")
    if order_id:
        order = Order.objects.filter(public_id=order_id).first()
        if order:
            return order
    if session_id:
        order = Order.objects.filter(stripe_checkout_session_id=session_id).first()
        if order:
            return order
    if payment_intent_id:
        payment = Payment.objects.filter(stripe_payment_intent_id=payment_intent_id).first()
        if payment:
            return payment.order
        return Order.objects.filter(stripe_payment_intent_id=payment_intent_id).first()
    return None


def stripe_object_or_none(retrieve, object_id, *params):
    """Stripe's copy of an object, or None when Stripe has no such object (an event or a link
    for another account's or a deleted object): the caller treats it as matching no order."""
    try:
        return retrieve(object_id, *params)
    except stripe.InvalidRequestError as error:
        if error.code == "resource_missing":
            return None
        raise
