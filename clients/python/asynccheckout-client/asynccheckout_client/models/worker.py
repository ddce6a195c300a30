from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.worker_liveness import WorkerLiveness
from ..types import UNSET, Unset
from typing import cast
import datetime






T = TypeVar("T", bound="Worker")



@_attrs_define
class Worker:
    """ One worker process.

        Attributes:
            id (str): `WORKER_ID`, or host-pid.
            host (str):
            pid (int):
            kinds (list[str]): The kinds it runs.
            slots (int): Steps it may run at once, over all its kinds.
            in_flight (int): Steps it was running at its last heartbeat.
            version (str):
            liveness (WorkerLiveness): Where a worker is.
            started_at (datetime.datetime):
            last_seen_at (datetime.datetime):
            stopped_at (datetime.datetime | None | Unset):
     """

    id: str
    host: str
    pid: int
    kinds: list[str]
    slots: int
    in_flight: int
    version: str
    liveness: WorkerLiveness
    started_at: datetime.datetime
    last_seen_at: datetime.datetime
    stopped_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        id = self.id

        host = self.host

        pid = self.pid

        kinds = self.kinds



        slots = self.slots

        in_flight = self.in_flight

        version = self.version

        liveness = self.liveness.value

        started_at = self.started_at.isoformat()

        last_seen_at = self.last_seen_at.isoformat()

        stopped_at: None | str | Unset
        if isinstance(self.stopped_at, Unset):
            stopped_at = UNSET
        elif isinstance(self.stopped_at, datetime.datetime):
            stopped_at = self.stopped_at.isoformat()
        else:
            stopped_at = self.stopped_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "id": id,
            "host": host,
            "pid": pid,
            "kinds": kinds,
            "slots": slots,
            "in_flight": in_flight,
            "version": version,
            "liveness": liveness,
            "started_at": started_at,
            "last_seen_at": last_seen_at,
        })
        if stopped_at is not UNSET:
            field_dict["stopped_at"] = stopped_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        host = d.pop("host")

        pid = d.pop("pid")

        kinds = cast(list[str], d.pop("kinds"))


        slots = d.pop("slots")

        in_flight = d.pop("in_flight")

        version = d.pop("version")

        liveness = WorkerLiveness(d.pop("liveness"))




        started_at = datetime.datetime.fromisoformat(d.pop("started_at"))




        last_seen_at = datetime.datetime.fromisoformat(d.pop("last_seen_at"))




        def _parse_stopped_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                stopped_at_type_0 = datetime.datetime.fromisoformat(data)



                return stopped_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        stopped_at = _parse_stopped_at(d.pop("stopped_at", UNSET))


        worker = cls(
            id=id,
            host=host,
            pid=pid,
            kinds=kinds,
            slots=slots,
            in_flight=in_flight,
            version=version,
            liveness=liveness,
            started_at=started_at,
            last_seen_at=last_seen_at,
            stopped_at=stopped_at,
        )


        worker.additional_properties = d
        return worker

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
