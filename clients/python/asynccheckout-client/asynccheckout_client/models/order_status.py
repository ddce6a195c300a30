from enum import StrEnum

class OrderStatus(StrEnum):
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    PAID = "paid"
    PENDING = "pending"
    REFUNDED = "refunded"
    REFUNDING = "refunding"

    def __str__(self) -> str:
        return str(self.value)
