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
  from ..models.history_entry import HistoryEntry
  from ..models.metadata import Metadata
  from ..models.order_item import OrderItem
  from ..models.order_task import OrderTask
  from ..models.payment import Payment





T = TypeVar("T", bound="Order")



@_attrs_define
class Order:
    """ An order with everything known about it.

        Example:
            {'id': '01a21436-b906-7687-8cd3-6050832ab317', 'status': 'pending', 'customer_email': 'ada@example.com',
                'currency': 'USD', 'total_cents': 3998, 'items': [{'sku': 'TSHIRT-M', 'quantity': 2, 'unit_price_cents': 1999}],
                'payment': {'capture_method': 'automatic', 'authorization_id': None, 'charge_id': None, 'refund_id': None},
                'failure': None, 'metadata': {'cart_id': 'c_123'}, 'created_at': '2026-11-25T12:00:00+00:00', 'updated_at':
                '2026-11-25T12:00:00+00:00', 'history': [{'status': 'pending', 'at': '2026-11-25T12:00:00+00:00', 'reason':
                None}], 'tasks': [{'id': 1, 'kind': 'charge_payment', 'state': 'available', 'attempts': 0, 'max_attempts': 8,
                'last_error': None, 'run_at': '2026-11-25T12:00:00+00:00'}]}

        Attributes:
            id (UUID):
            status (OrderStatus): Where an order is in its saga. Paid automatically: `pending` → `paid` →
                `confirmed` → `completed`, or `refunding` → `refunded`. Paid manually:
                `pending` → `authorized` → `reserved` → `confirmed` → `completed`, or
                `voiding` → `failed`. Cancelled after its payment (until the
                confirmation is sent): `cancelling` → `cancelled`. Terminal: `completed`,
                `failed`, `cancelled`, `refunded`.
            customer_email (str):
            currency (str): ISO 4217 code of every line.
            total_cents (int): Sum of quantity × unit price over the lines, in minor units.
            items (list[OrderItem]):
            payment (Payment): The gateway's references for the order's money.
            metadata (Metadata): The client's own keys and values, kept with the order and returned as sent.
            created_at (datetime.datetime):
            updated_at (datetime.datetime):
            history (list[HistoryEntry]): Every status the order has had, oldest first.
            tasks (list[OrderTask]): The saga's tasks for this order, oldest first.
            failure (Failure | None | Unset): Why the order failed or was refunded; `null` otherwise.
     """

    id: UUID
    status: OrderStatus
    customer_email: str
    currency: str
    total_cents: int
    items: list[OrderItem]
    payment: Payment
    metadata: Metadata
    created_at: datetime.datetime
    updated_at: datetime.datetime
    history: list[HistoryEntry]
    tasks: list[OrderTask]
    failure: Failure | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.failure import Failure # noqa: PLC0415
        from ..models.history_entry import HistoryEntry # noqa: PLC0415
        from ..models.metadata import Metadata # noqa: PLC0415
        from ..models.order_item import OrderItem # noqa: PLC0415
        from ..models.order_task import OrderTask # noqa: PLC0415
        from ..models.payment import Payment # noqa: PLC0415
        id = str(self.id)

        status = self.status.value

        customer_email = self.customer_email

        currency = self.currency

        total_cents = self.total_cents

        items = []
        for items_item_data in self.items:
            items_item = items_item_data.to_dict()
            items.append(items_item)



        payment = self.payment.to_dict()

        metadata = self.metadata.to_dict()

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        history = []
        for history_item_data in self.history:
            history_item = history_item_data.to_dict()
            history.append(history_item)



        tasks = []
        for tasks_item_data in self.tasks:
            tasks_item = tasks_item_data.to_dict()
            tasks.append(tasks_item)



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
            "items": items,
            "payment": payment,
            "metadata": metadata,
            "created_at": created_at,
            "updated_at": updated_at,
            "history": history,
            "tasks": tasks,
        })
        if failure is not UNSET:
            field_dict["failure"] = failure

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.failure import Failure # noqa: PLC0415
        from ..models.history_entry import HistoryEntry # noqa: PLC0415
        from ..models.metadata import Metadata # noqa: PLC0415
        from ..models.order_item import OrderItem # noqa: PLC0415
        from ..models.order_task import OrderTask # noqa: PLC0415
        from ..models.payment import Payment # noqa: PLC0415
        d = dict(src_dict)
        id = UUID(d.pop("id"))




        status = OrderStatus(d.pop("status"))




        customer_email = d.pop("customer_email")

        currency = d.pop("currency")

        total_cents = d.pop("total_cents")

        items = []
        _items = d.pop("items")
        for items_item_data in (_items):
            items_item = OrderItem.from_dict(items_item_data)



            items.append(items_item)


        payment = Payment.from_dict(d.pop("payment"))




        metadata = Metadata.from_dict(d.pop("metadata"))




        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        history = []
        _history = d.pop("history")
        for history_item_data in (_history):
            history_item = HistoryEntry.from_dict(history_item_data)



            history.append(history_item)


        tasks = []
        _tasks = d.pop("tasks")
        for tasks_item_data in (_tasks):
            tasks_item = OrderTask.from_dict(tasks_item_data)



            tasks.append(tasks_item)


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


        order = cls(
            id=id,
            status=status,
            customer_email=customer_email,
            currency=currency,
            total_cents=total_cents,
            items=items,
            payment=payment,
            metadata=metadata,
            created_at=created_at,
            updated_at=updated_at,
            history=history,
            tasks=tasks,
            failure=failure,
        )


        order.additional_properties = d
        return order

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
