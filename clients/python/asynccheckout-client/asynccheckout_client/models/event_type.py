from enum import StrEnum

class EventType(StrEnum):
    ORDER_AUTHORIZED = "order.authorized"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_CANCELLING = "order.cancelling"
    ORDER_COMPLETED = "order.completed"
    ORDER_CONFIRMED = "order.confirmed"
    ORDER_FAILED = "order.failed"
    ORDER_PAID = "order.paid"
    ORDER_PENDING = "order.pending"
    ORDER_REFUNDED = "order.refunded"
    ORDER_REFUNDING = "order.refunding"
    ORDER_RESERVED = "order.reserved"
    ORDER_VOIDING = "order.voiding"

    def __str__(self) -> str:
        return str(self.value)
