from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="CreateProduct")



@_attrs_define
class CreateProduct:
    """ A product to create.

        Example:
            {'sku': 'TSHIRT-M', 'name': 'T-shirt M', 'price_cents': 1999, 'currency': 'USD', 'stock': 25}

        Attributes:
            sku (str): 1–64 characters of `A–Z a–z 0–9 . _ -`; unique.
            name (str): 1–200 characters.
            price_cents (int): Price in minor units, ≥ 0.
            currency (str): ISO 4217 code, three uppercase letters.
            stock (int): Initial stock, 0 – 2,147,483,647.
     """

    sku: str
    name: str
    price_cents: int
    currency: str
    stock: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        sku = self.sku

        name = self.name

        price_cents = self.price_cents

        currency = self.currency

        stock = self.stock


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "sku": sku,
            "name": name,
            "price_cents": price_cents,
            "currency": currency,
            "stock": stock,
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

        create_product = cls(
            sku=sku,
            name=name,
            price_cents=price_cents,
            currency=currency,
            stock=stock,
        )


        create_product.additional_properties = d
        return create_product

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
