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






T = TypeVar("T", bound="OrderTask")



@_attrs_define
class OrderTask:
    """ 
        Attributes:
            id (int):
            kind (str): `charge_payment` or `authorize_payment`, `reserve_inventory`,
                `capture_payment`, `send_confirmation`, `refund_payment`,
                `void_authorization` or `cancel_payment`.
            state (TaskState): A task's state in the queue.
            attempts (int):
            max_attempts (int):
            run_at (datetime.datetime): When it runs (next), or ran last.
            last_error (None | str | Unset):
     """

    id: int
    kind: str
    state: TaskState
    attempts: int
    max_attempts: int
    run_at: datetime.datetime
    last_error: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        id = self.id

        kind = self.kind

        state = self.state.value

        attempts = self.attempts

        max_attempts = self.max_attempts

        run_at = self.run_at.isoformat()

        last_error: None | str | Unset
        if isinstance(self.last_error, Unset):
            last_error = UNSET
        else:
            last_error = self.last_error


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "id": id,
            "kind": kind,
            "state": state,
            "attempts": attempts,
            "max_attempts": max_attempts,
            "run_at": run_at,
        })
        if last_error is not UNSET:
            field_dict["last_error"] = last_error

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        kind = d.pop("kind")

        state = TaskState(d.pop("state"))




        attempts = d.pop("attempts")

        max_attempts = d.pop("max_attempts")

        run_at = datetime.datetime.fromisoformat(d.pop("run_at"))




        def _parse_last_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_error = _parse_last_error(d.pop("last_error", UNSET))


        order_task = cls(
            id=id,
            kind=kind,
            state=state,
            attempts=attempts,
            max_attempts=max_attempts,
            run_at=run_at,
            last_error=last_error,
        )


        order_task.additional_properties = d
        return order_task

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
