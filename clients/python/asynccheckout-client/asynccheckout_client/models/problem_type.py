from enum import StrEnum

class ProblemType(StrEnum):
    VALUE_0 = "/problems/validation-error"
    VALUE_1 = "/problems/malformed-request"
    VALUE_10 = "/problems/order-not-cancellable"
    VALUE_11 = "/problems/payload-too-large"
    VALUE_12 = "/problems/unsupported-media-type"
    VALUE_13 = "/problems/request-timeout"
    VALUE_14 = "/problems/rate-limited"
    VALUE_15 = "/problems/internal"
    VALUE_16 = "/problems/service-unavailable"
    VALUE_2 = "/problems/not-found"
    VALUE_3 = "/problems/method-not-allowed"
    VALUE_4 = "/problems/unauthorized"
    VALUE_5 = "/problems/forbidden"
    VALUE_6 = "/problems/idempotency-key-missing"
    VALUE_7 = "/problems/idempotency-key-reused"
    VALUE_8 = "/problems/idempotency-key-in-use"
    VALUE_9 = "/problems/conflict"

    def __str__(self) -> str:
        return str(self.value)
