from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
import datetime






T = TypeVar("T", bound="QueueKind")



@_attrs_define
class QueueKind:
    """ A kind of task and whether workers take it.

        Attributes:
            kind (str):
            paused (bool): Whether its tasks wait for a resume.
            paused_at (datetime.datetime | None | Unset): When it was paused, while it is.
            paused_by (None | str | Unset): The name of the API key that paused it, while it is.
     """

    kind: str
    paused: bool
    paused_at: datetime.datetime | None | Unset = UNSET
    paused_by: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        kind = self.kind

        paused = self.paused

        paused_at: None | str | Unset
        if isinstance(self.paused_at, Unset):
            paused_at = UNSET
        elif isinstance(self.paused_at, datetime.datetime):
            paused_at = self.paused_at.isoformat()
        else:
            paused_at = self.paused_at

        paused_by: None | str | Unset
        if isinstance(self.paused_by, Unset):
            paused_by = UNSET
        else:
            paused_by = self.paused_by


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "kind": kind,
            "paused": paused,
        })
        if paused_at is not UNSET:
            field_dict["paused_at"] = paused_at
        if paused_by is not UNSET:
            field_dict["paused_by"] = paused_by

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        kind = d.pop("kind")

        paused = d.pop("paused")

        def _parse_paused_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                paused_at_type_0 = datetime.datetime.fromisoformat(data)



                return paused_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        paused_at = _parse_paused_at(d.pop("paused_at", UNSET))


        def _parse_paused_by(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        paused_by = _parse_paused_by(d.pop("paused_by", UNSET))


        queue_kind = cls(
            kind=kind,
            paused=paused,
            paused_at=paused_at,
            paused_by=paused_by,
        )


        queue_kind.additional_properties = d
        return queue_kind

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
