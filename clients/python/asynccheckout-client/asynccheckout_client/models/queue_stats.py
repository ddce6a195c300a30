from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.circuit_breaker import CircuitBreaker
  from ..models.queue_count import QueueCount
  from ..models.queue_kind import QueueKind
  from ..models.queue_stats_totals import QueueStatsTotals





T = TypeVar("T", bound="QueueStats")



@_attrs_define
class QueueStats:
    """ 
        Attributes:
            counts (list[QueueCount]): Per kind and state.
            totals (QueueStatsTotals): Per state, over all kinds.
            paused (list[QueueKind]): The kinds paused (see `pauseQueueKind`), by name: their tasks wait.
            breakers (list[CircuitBreaker]): The circuit breaker of each downstream that ever tripped, by name.
     """

    counts: list[QueueCount]
    totals: QueueStatsTotals
    paused: list[QueueKind]
    breakers: list[CircuitBreaker]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.circuit_breaker import CircuitBreaker # noqa: PLC0415
        from ..models.queue_count import QueueCount # noqa: PLC0415
        from ..models.queue_kind import QueueKind # noqa: PLC0415
        from ..models.queue_stats_totals import QueueStatsTotals # noqa: PLC0415
        counts = []
        for counts_item_data in self.counts:
            counts_item = counts_item_data.to_dict()
            counts.append(counts_item)



        totals = self.totals.to_dict()

        paused = []
        for paused_item_data in self.paused:
            paused_item = paused_item_data.to_dict()
            paused.append(paused_item)



        breakers = []
        for breakers_item_data in self.breakers:
            breakers_item = breakers_item_data.to_dict()
            breakers.append(breakers_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "counts": counts,
            "totals": totals,
            "paused": paused,
            "breakers": breakers,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.circuit_breaker import CircuitBreaker # noqa: PLC0415
        from ..models.queue_count import QueueCount # noqa: PLC0415
        from ..models.queue_kind import QueueKind # noqa: PLC0415
        from ..models.queue_stats_totals import QueueStatsTotals # noqa: PLC0415
        d = dict(src_dict)
        counts = []
        _counts = d.pop("counts")
        for counts_item_data in (_counts):
            counts_item = QueueCount.from_dict(counts_item_data)



            counts.append(counts_item)


        totals = QueueStatsTotals.from_dict(d.pop("totals"))




        paused = []
        _paused = d.pop("paused")
        for paused_item_data in (_paused):
            paused_item = QueueKind.from_dict(paused_item_data)



            paused.append(paused_item)


        breakers = []
        _breakers = d.pop("breakers")
        for breakers_item_data in (_breakers):
            breakers_item = CircuitBreaker.from_dict(breakers_item_data)



            breakers.append(breakers_item)


        queue_stats = cls(
            counts=counts,
            totals=totals,
            paused=paused,
            breakers=breakers,
        )


        queue_stats.additional_properties = d
        return queue_stats

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
