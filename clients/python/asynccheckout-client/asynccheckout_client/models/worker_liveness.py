from enum import StrEnum

class WorkerLiveness(StrEnum):
    ALIVE = "alive"
    STOPPED = "stopped"
    VANISHED = "vanished"

    def __str__(self) -> str:
        return str(self.value)
