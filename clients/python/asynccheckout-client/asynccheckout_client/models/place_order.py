from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.capture_method import CaptureMethod
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.metadata import Metadata
  from ..models.order_item_input import OrderItemInput





T = TypeVar("T", bound="PlaceOrder")



@_attrs_define
class PlaceOrder:
    """ An order to place. Prices come from the catalog, never from the client.

        Example:
            {'customer_email': 'ada@example.com', 'items': [{'sku': 'TSHIRT-M', 'quantity': 2}], 'payment_token':
                'tok_visa', 'metadata': {'cart_id': 'c_123'}, 'capture_method': None}

        Attributes:
            customer_email (str): Where the confirmation goes.
            items (list[OrderItemInput]): 1–100 lines, each sku at most once, all priced in one currency.
            payment_token (str): The payment method token (`tok_visa`, `tok_chargeDeclined`, …).
            metadata (Metadata | None | Unset): Up to 20 string keys (1–40 characters) with string values (up to 500).
            capture_method (CaptureMethod | None | Unset): How the payment is taken; absent or `null`, the deployment's
                `CAPTURE_METHOD`.
     """

    customer_email: str
    items: list[OrderItemInput]
    payment_token: str
    metadata: Metadata | None | Unset = UNSET
    capture_method: CaptureMethod | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.metadata import Metadata # noqa: PLC0415
        from ..models.order_item_input import OrderItemInput # noqa: PLC0415
        customer_email = self.customer_email

        items = []
        for items_item_data in self.items:
            items_item = items_item_data.to_dict()
            items.append(items_item)



        payment_token = self.payment_token

        metadata: dict[str, Any] | None | Unset
        if isinstance(self.metadata, Unset):
            metadata = UNSET
        elif isinstance(self.metadata, Metadata):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        capture_method: None | str | Unset
        if isinstance(self.capture_method, Unset):
            capture_method = UNSET
        elif isinstance(self.capture_method, CaptureMethod):
            capture_method = self.capture_method.value
        else:
            capture_method = self.capture_method


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "customer_email": customer_email,
            "items": items,
            "payment_token": payment_token,
        })
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if capture_method is not UNSET:
            field_dict["capture_method"] = capture_method

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.metadata import Metadata # noqa: PLC0415
        from ..models.order_item_input import OrderItemInput # noqa: PLC0415
        d = dict(src_dict)
        customer_email = d.pop("customer_email")

        items = []
        _items = d.pop("items")
        for items_item_data in (_items):
            items_item = OrderItemInput.from_dict(items_item_data)



            items.append(items_item)


        payment_token = d.pop("payment_token")

        def _parse_metadata(data: object) -> Metadata | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                metadata_type_1 = Metadata.from_dict(data)



                return metadata_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Metadata | None | Unset, data)

        metadata = _parse_metadata(d.pop("metadata", UNSET))


        def _parse_capture_method(data: object) -> CaptureMethod | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                capture_method_type_1 = CaptureMethod(data)



                return capture_method_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CaptureMethod | None | Unset, data)

        capture_method = _parse_capture_method(d.pop("capture_method", UNSET))


        place_order = cls(
            customer_email=customer_email,
            items=items,
            payment_token=payment_token,
            metadata=metadata,
            capture_method=capture_method,
        )


        place_order.additional_properties = d
        return place_order

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
