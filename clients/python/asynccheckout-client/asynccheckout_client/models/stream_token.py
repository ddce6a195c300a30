from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="StreamToken")



@_attrs_define
class StreamToken:
    """ A token for a browser to follow one order.

        Attributes:
            token (str): `st_…`: shown this once.
            order_id (UUID):
            expires_at (datetime.datetime):
            events_url (str): The order's event stream with the token: give it to `EventSource`,
                after the API's base URL.
     """

    token: str
    order_id: UUID
    expires_at: datetime.datetime
    events_url: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        token = self.token

        order_id = str(self.order_id)

        expires_at = self.expires_at.isoformat()

        events_url = self.events_url


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "token": token,
            "order_id": order_id,
            "expires_at": expires_at,
            "events_url": events_url,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        token = d.pop("token")

        order_id = UUID(d.pop("order_id"))




        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))




        events_url = d.pop("events_url")

        stream_token = cls(
            token=token,
            order_id=order_id,
            expires_at=expires_at,
            events_url=events_url,
        )


        stream_token.additional_properties = d
        return stream_token

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
