from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.order_status import OrderStatus
from ..types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.failure import Failure





T = TypeVar("T", bound="OrderSummary")



@_attrs_define
class OrderSummary:
    """ An order without its lines, history and tasks, as listed.

        Attributes:
            id (UUID):
            status (OrderStatus): Where an order is in its saga. Paid automatically: `pending` → `paid` →
                `confirmed` → `completed`, or `refunding` → `refunded`. Paid manually:
                `pending` → `authorized` → `reserved` → `confirmed` → `completed`, or
                `voiding` → `failed`. Cancelled after its payment (until the
                confirmation is sent): `cancelling` → `cancelled`. Terminal: `completed`,
                `failed`, `cancelled`, `refunded`.
            customer_email (str):
            currency (str):
            total_cents (int):
            created_at (datetime.datetime):
            updated_at (datetime.datetime):
            failure (Failure | None | Unset):
     """

    id: UUID
    status: OrderStatus
    customer_email: str
    currency: str
    total_cents: int
    created_at: datetime.datetime
    updated_at: datetime.datetime
    failure: Failure | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.failure import Failure # noqa: PLC0415
        id = str(self.id)

        status = self.status.value

        customer_email = self.customer_email

        currency = self.currency

        total_cents = self.total_cents

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        failure: dict[str, Any] | None | Unset
        if isinstance(self.failure, Unset):
            failure = UNSET
        elif isinstance(self.failure, Failure):
            failure = self.failure.to_dict()
        else:
            failure = self.failure


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "id": id,
            "status": status,
            "customer_email": customer_email,
            "currency": currency,
            "total_cents": total_cents,
            "created_at": created_at,
            "updated_at": updated_at,
        })
        if failure is not UNSET:
            field_dict["failure"] = failure

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.failure import Failure # noqa: PLC0415
        d = dict(src_dict)
        id = UUID(d.pop("id"))




        status = OrderStatus(d.pop("status"))




        customer_email = d.pop("customer_email")

        currency = d.pop("currency")

        total_cents = d.pop("total_cents")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        def _parse_failure(data: object) -> Failure | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                failure_type_1 = Failure.from_dict(data)



                return failure_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Failure | None | Unset, data)

        failure = _parse_failure(d.pop("failure", UNSET))


        order_summary = cls(
            id=id,
            status=status,
            customer_email=customer_email,
            currency=currency,
            total_cents=total_cents,
            created_at=created_at,
            updated_at=updated_at,
            failure=failure,
        )


        order_summary.additional_properties = d
        return order_summary

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
