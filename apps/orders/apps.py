from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "apps.orders"
    label = "orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.accounts.events import UserErased
        from apps.orders import handlers
        from apps.payments.events import PaymentAuthorized, PaymentCaptured, PaymentRefunded
        from apps.tracking.events import DeliveryCompleted, DeliveryPickedUp
        from foodiefast.events import subscribe

        subscribe(PaymentAuthorized, handlers.paid_on_payment_authorized)
        subscribe(PaymentCaptured, handlers.refund_on_payment_captured_for_cancelled)
        subscribe(PaymentRefunded, handlers.audit_on_payment_refunded)
        subscribe(DeliveryPickedUp, handlers.picked_up_on_delivery_picked_up)
        subscribe(DeliveryCompleted, handlers.delivered_on_delivery_completed)
        subscribe(UserErased, handlers.anonymise_on_user_erased)
