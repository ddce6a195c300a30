from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.task_state import TaskState
from ..types import UNSET, Unset
from typing import cast
import datetime






T = TypeVar("T", bound="QueueCount")



@_attrs_define
class QueueCount:
    """ Tasks of one kind in one state.

        Attributes:
            kind (str):
            state (TaskState): A task's state in the queue.
            count (int):
            oldest_run_at (datetime.datetime | None | Unset): The oldest `run_at` among them: for `available` tasks, how
                long the
                oldest has waited.
     """

    kind: str
    state: TaskState
    count: int
    oldest_run_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        kind = self.kind

        state = self.state.value

        count = self.count

        oldest_run_at: None | str | Unset
        if isinstance(self.oldest_run_at, Unset):
            oldest_run_at = UNSET
        elif isinstance(self.oldest_run_at, datetime.datetime):
            oldest_run_at = self.oldest_run_at.isoformat()
        else:
            oldest_run_at = self.oldest_run_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "kind": kind,
            "state": state,
            "count": count,
        })
        if oldest_run_at is not UNSET:
            field_dict["oldest_run_at"] = oldest_run_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        kind = d.pop("kind")

        state = TaskState(d.pop("state"))




        count = d.pop("count")

        def _parse_oldest_run_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                oldest_run_at_type_0 = datetime.datetime.fromisoformat(data)



                return oldest_run_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        oldest_run_at = _parse_oldest_run_at(d.pop("oldest_run_at", UNSET))


        queue_count = cls(
            kind=kind,
            state=state,
            count=count,
            oldest_run_at=oldest_run_at,
        )


        queue_count.additional_properties = d
        return queue_count

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
