from enum import StrEnum

class OrderStatus(StrEnum):
    AUTHORIZED = "authorized"
    CANCELLED = "cancelled"
    CANCELLING = "cancelling"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    PAID = "paid"
    PENDING = "pending"
    REFUNDED = "refunded"
    REFUNDING = "refunding"
    RESERVED = "reserved"
    VOIDING = "voiding"

    def __str__(self) -> str:
        return str(self.value)
