from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime






T = TypeVar("T", bound="Product")



@_attrs_define
class Product:
    """ A product as sold.

        Example:
            {'sku': 'TSHIRT-M', 'name': 'T-shirt M', 'price_cents': 1999, 'currency': 'USD', 'stock': 25, 'created_at':
                '2026-11-25T12:00:00+00:00', 'updated_at': '2026-11-25T12:00:00+00:00'}

        Attributes:
            sku (str): 1–64 characters of `A–Z a–z 0–9 . _ -`.
            name (str):
            price_cents (int): Price in the currency's minor unit (cents).
            currency (str): ISO 4217, uppercase.
            stock (int): Units available to reserve.
            created_at (datetime.datetime):
            updated_at (datetime.datetime):
     """

    sku: str
    name: str
    price_cents: int
    currency: str
    stock: int
    created_at: datetime.datetime
    updated_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        sku = self.sku

        name = self.name

        price_cents = self.price_cents

        currency = self.currency

        stock = self.stock

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "sku": sku,
            "name": name,
            "price_cents": price_cents,
            "currency": currency,
            "stock": stock,
            "created_at": created_at,
            "updated_at": updated_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        sku = d.pop("sku")

        name = d.pop("name")

        price_cents = d.pop("price_cents")

        currency = d.pop("currency")

        stock = d.pop("stock")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        product = cls(
            sku=sku,
            name=name,
            price_cents=price_cents,
            currency=currency,
            stock=stock,
            created_at=created_at,
            updated_at=updated_at,
        )


        product.additional_properties = d
        return product

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
