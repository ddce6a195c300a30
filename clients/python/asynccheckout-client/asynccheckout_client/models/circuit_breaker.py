from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
import datetime






T = TypeVar("T", bound="CircuitBreaker")



@_attrs_define
class CircuitBreaker:
    """ A downstream's circuit breaker, shared by every worker. While it is
    `open`, no task of its kinds is claimed (they wait without spending an
    attempt) but for one probe per cool-down; the first call that gets
    through closes it.

        Attributes:
            downstream (str): `payment_gateway` or `mail_server`.
            state (str): `open` or `closed`.
            kinds (list[str]): The kinds it holds while open.
            times_opened (int):
            opened_at (datetime.datetime | None | Unset): When it last opened.
            closed_at (datetime.datetime | None | Unset): When it last closed.
            probe_at (datetime.datetime | None | Unset): While open: when the next probe may go.
            reason (None | str | Unset): Why it last opened.
     """

    downstream: str
    state: str
    kinds: list[str]
    times_opened: int
    opened_at: datetime.datetime | None | Unset = UNSET
    closed_at: datetime.datetime | None | Unset = UNSET
    probe_at: datetime.datetime | None | Unset = UNSET
    reason: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        downstream = self.downstream

        state = self.state

        kinds = self.kinds



        times_opened = self.times_opened

        opened_at: None | str | Unset
        if isinstance(self.opened_at, Unset):
            opened_at = UNSET
        elif isinstance(self.opened_at, datetime.datetime):
            opened_at = self.opened_at.isoformat()
        else:
            opened_at = self.opened_at

        closed_at: None | str | Unset
        if isinstance(self.closed_at, Unset):
            closed_at = UNSET
        elif isinstance(self.closed_at, datetime.datetime):
            closed_at = self.closed_at.isoformat()
        else:
            closed_at = self.closed_at

        probe_at: None | str | Unset
        if isinstance(self.probe_at, Unset):
            probe_at = UNSET
        elif isinstance(self.probe_at, datetime.datetime):
            probe_at = self.probe_at.isoformat()
        else:
            probe_at = self.probe_at

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "downstream": downstream,
            "state": state,
            "kinds": kinds,
            "times_opened": times_opened,
        })
        if opened_at is not UNSET:
            field_dict["opened_at"] = opened_at
        if closed_at is not UNSET:
            field_dict["closed_at"] = closed_at
        if probe_at is not UNSET:
            field_dict["probe_at"] = probe_at
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        downstream = d.pop("downstream")

        state = d.pop("state")

        kinds = cast(list[str], d.pop("kinds"))


        times_opened = d.pop("times_opened")

        def _parse_opened_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                opened_at_type_0 = datetime.datetime.fromisoformat(data)



                return opened_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        opened_at = _parse_opened_at(d.pop("opened_at", UNSET))


        def _parse_closed_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                closed_at_type_0 = datetime.datetime.fromisoformat(data)



                return closed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        closed_at = _parse_closed_at(d.pop("closed_at", UNSET))


        def _parse_probe_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                probe_at_type_0 = datetime.datetime.fromisoformat(data)



                return probe_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        probe_at = _parse_probe_at(d.pop("probe_at", UNSET))


        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))


        circuit_breaker = cls(
            downstream=downstream,
            state=state,
            kinds=kinds,
            times_opened=times_opened,
            opened_at=opened_at,
            closed_at=closed_at,
            probe_at=probe_at,
            reason=reason,
        )


        circuit_breaker.additional_properties = d
        return circuit_breaker

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
