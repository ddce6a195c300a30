from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.task_state import TaskState
from ..types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.attempt import Attempt





T = TypeVar("T", bound="Task")



@_attrs_define
class Task:
    """ A task with its attempts.

        Attributes:
            id (int):
            kind (str):
            state (TaskState): A task's state in the queue.
            attempts (int):
            max_attempts (int):
            run_at (datetime.datetime): When it runs (next), or ran last.
            created_at (datetime.datetime):
            history (list[Attempt]): Every finished attempt, oldest first.
            order_id (None | Unset | UUID): The order it moves, if any.
            locked_by (None | str | Unset): The worker holding it, while running.
            last_error (None | str | Unset):
            finished_at (datetime.datetime | None | Unset):
     """

    id: int
    kind: str
    state: TaskState
    attempts: int
    max_attempts: int
    run_at: datetime.datetime
    created_at: datetime.datetime
    history: list[Attempt]
    order_id: None | Unset | UUID = UNSET
    locked_by: None | str | Unset = UNSET
    last_error: None | str | Unset = UNSET
    finished_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.attempt import Attempt # noqa: PLC0415
        id = self.id

        kind = self.kind

        state = self.state.value

        attempts = self.attempts

        max_attempts = self.max_attempts

        run_at = self.run_at.isoformat()

        created_at = self.created_at.isoformat()

        history = []
        for history_item_data in self.history:
            history_item = history_item_data.to_dict()
            history.append(history_item)



        order_id: None | str | Unset
        if isinstance(self.order_id, Unset):
            order_id = UNSET
        elif isinstance(self.order_id, UUID):
            order_id = str(self.order_id)
        else:
            order_id = self.order_id

        locked_by: None | str | Unset
        if isinstance(self.locked_by, Unset):
            locked_by = UNSET
        else:
            locked_by = self.locked_by

        last_error: None | str | Unset
        if isinstance(self.last_error, Unset):
            last_error = UNSET
        else:
            last_error = self.last_error

        finished_at: None | str | Unset
        if isinstance(self.finished_at, Unset):
            finished_at = UNSET
        elif isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "id": id,
            "kind": kind,
            "state": state,
            "attempts": attempts,
            "max_attempts": max_attempts,
            "run_at": run_at,
            "created_at": created_at,
            "history": history,
        })
        if order_id is not UNSET:
            field_dict["order_id"] = order_id
        if locked_by is not UNSET:
            field_dict["locked_by"] = locked_by
        if last_error is not UNSET:
            field_dict["last_error"] = last_error
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.attempt import Attempt # noqa: PLC0415
        d = dict(src_dict)
        id = d.pop("id")

        kind = d.pop("kind")

        state = TaskState(d.pop("state"))




        attempts = d.pop("attempts")

        max_attempts = d.pop("max_attempts")

        run_at = datetime.datetime.fromisoformat(d.pop("run_at"))




        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        history = []
        _history = d.pop("history")
        for history_item_data in (_history):
            history_item = Attempt.from_dict(history_item_data)



            history.append(history_item)


        def _parse_order_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                order_id_type_0 = UUID(data)



                return order_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        order_id = _parse_order_id(d.pop("order_id", UNSET))


        def _parse_locked_by(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        locked_by = _parse_locked_by(d.pop("locked_by", UNSET))


        def _parse_last_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_error = _parse_last_error(d.pop("last_error", UNSET))


        def _parse_finished_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)



                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        finished_at = _parse_finished_at(d.pop("finished_at", UNSET))


        task = cls(
            id=id,
            kind=kind,
            state=state,
            attempts=attempts,
            max_attempts=max_attempts,
            run_at=run_at,
            created_at=created_at,
            history=history,
            order_id=order_id,
            locked_by=locked_by,
            last_error=last_error,
            finished_at=finished_at,
        )


        task.additional_properties = d
        return task

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
