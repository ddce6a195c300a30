from enum import StrEnum

class AttemptOutcome(StrEnum):
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    LEASE_EXPIRED = "lease_expired"
    RETRIED = "retried"
    SUCCEEDED = "succeeded"

    def __str__(self) -> str:
        return str(self.value)
