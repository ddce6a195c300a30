from enum import StrEnum

class TaskState(StrEnum):
    AVAILABLE = "available"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    DEAD = "dead"
    RUNNING = "running"

    def __str__(self) -> str:
        return str(self.value)
