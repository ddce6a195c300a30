from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.capture_method import CaptureMethod
from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="Payment")



@_attrs_define
class Payment:
    """ The gateway's references for the order's money.

        Attributes:
            capture_method (CaptureMethod): How the order's payment is taken: `automatic` charges the card at once
                (a shortfall of stock is refunded); `manual` authorizes it, reserves the
                stock and only then captures (a shortfall voids the hold: nothing is
                charged).
            authorization_id (None | str | Unset): The hold on the card (manual capture), once authorized.
            charge_id (None | str | Unset): The charge, once taken (captured, for manual capture).
            refund_id (None | str | Unset): The refund, once made.
     """

    capture_method: CaptureMethod
    authorization_id: None | str | Unset = UNSET
    charge_id: None | str | Unset = UNSET
    refund_id: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        capture_method = self.capture_method.value

        authorization_id: None | str | Unset
        if isinstance(self.authorization_id, Unset):
            authorization_id = UNSET
        else:
            authorization_id = self.authorization_id

        charge_id: None | str | Unset
        if isinstance(self.charge_id, Unset):
            charge_id = UNSET
        else:
            charge_id = self.charge_id

        refund_id: None | str | Unset
        if isinstance(self.refund_id, Unset):
            refund_id = UNSET
        else:
            refund_id = self.refund_id


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "capture_method": capture_method,
        })
        if authorization_id is not UNSET:
            field_dict["authorization_id"] = authorization_id
        if charge_id is not UNSET:
            field_dict["charge_id"] = charge_id
        if refund_id is not UNSET:
            field_dict["refund_id"] = refund_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        capture_method = CaptureMethod(d.pop("capture_method"))




        def _parse_authorization_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        authorization_id = _parse_authorization_id(d.pop("authorization_id", UNSET))


        def _parse_charge_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        charge_id = _parse_charge_id(d.pop("charge_id", UNSET))


        def _parse_refund_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        refund_id = _parse_refund_id(d.pop("refund_id", UNSET))


        payment = cls(
            capture_method=capture_method,
            authorization_id=authorization_id,
            charge_id=charge_id,
            refund_id=refund_id,
        )


        payment.additional_properties = d
        return payment

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
