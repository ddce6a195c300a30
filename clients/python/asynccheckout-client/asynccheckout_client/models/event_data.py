from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.order import Order





T = TypeVar("T", bound="EventData")



@_attrs_define
class EventData:
    """ 
        Attributes:
            object_ (Order): An order with everything known about it. Example: {'id':
                '01a21436-b906-7687-8cd3-6050832ab317', 'status': 'pending', 'customer_email': 'ada@example.com', 'currency':
                'USD', 'total_cents': 3998, 'items': [{'sku': 'TSHIRT-M', 'quantity': 2, 'unit_price_cents': 1999}], 'payment':
                {'capture_method': 'automatic', 'authorization_id': None, 'charge_id': None, 'refund_id': None}, 'failure':
                None, 'metadata': {'cart_id': 'c_123'}, 'created_at': '2026-11-25T12:00:00+00:00', 'updated_at':
                '2026-11-25T12:00:00+00:00', 'history': [{'status': 'pending', 'at': '2026-11-25T12:00:00+00:00', 'reason':
                None}], 'tasks': [{'id': 1, 'kind': 'charge_payment', 'state': 'available', 'attempts': 0, 'max_attempts': 8,
                'last_error': None, 'run_at': '2026-11-25T12:00:00+00:00'}]}.
     """

    object_: Order
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.order import Order # noqa: PLC0415
        object_ = self.object_.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "object": object_,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.order import Order # noqa: PLC0415
        d = dict(src_dict)
        object_ = Order.from_dict(d.pop("object"))




        event_data = cls(
            object_=object_,
        )


        event_data.additional_properties = d
        return event_data

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
