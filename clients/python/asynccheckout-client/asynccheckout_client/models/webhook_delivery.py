from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.webhook_delivery_state import WebhookDeliveryState
from ..types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.webhook_delivery_attempt import WebhookDeliveryAttempt





T = TypeVar("T", bound="WebhookDelivery")



@_attrs_define
class WebhookDelivery:
    """ One event sent to one endpoint, with every request made for it.

        Attributes:
            id (int):
            endpoint_id (UUID):
            event_id (int): The event's id, sent as `webhook-id` (the same on every attempt).
            event_type (str):
            order_id (UUID):
            state (WebhookDeliveryState):
            created_at (datetime.datetime):
            attempts (list[WebhookDeliveryAttempt]): Oldest first.
            finished_at (datetime.datetime | None | Unset):
     """

    id: int
    endpoint_id: UUID
    event_id: int
    event_type: str
    order_id: UUID
    state: WebhookDeliveryState
    created_at: datetime.datetime
    attempts: list[WebhookDeliveryAttempt]
    finished_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.webhook_delivery_attempt import WebhookDeliveryAttempt # noqa: PLC0415
        id = self.id

        endpoint_id = str(self.endpoint_id)

        event_id = self.event_id

        event_type = self.event_type

        order_id = str(self.order_id)

        state = self.state.value

        created_at = self.created_at.isoformat()

        attempts = []
        for attempts_item_data in self.attempts:
            attempts_item = attempts_item_data.to_dict()
            attempts.append(attempts_item)



        finished_at: None | str | Unset
        if isinstance(self.finished_at, Unset):
            finished_at = UNSET
        elif isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "id": id,
            "endpoint_id": endpoint_id,
            "event_id": event_id,
            "event_type": event_type,
            "order_id": order_id,
            "state": state,
            "created_at": created_at,
            "attempts": attempts,
        })
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.webhook_delivery_attempt import WebhookDeliveryAttempt # noqa: PLC0415
        d = dict(src_dict)
        id = d.pop("id")

        endpoint_id = UUID(d.pop("endpoint_id"))




        event_id = d.pop("event_id")

        event_type = d.pop("event_type")

        order_id = UUID(d.pop("order_id"))




        state = WebhookDeliveryState(d.pop("state"))




        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        attempts = []
        _attempts = d.pop("attempts")
        for attempts_item_data in (_attempts):
            attempts_item = WebhookDeliveryAttempt.from_dict(attempts_item_data)



            attempts.append(attempts_item)


        def _parse_finished_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)



                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        finished_at = _parse_finished_at(d.pop("finished_at", UNSET))


        webhook_delivery = cls(
            id=id,
            endpoint_id=endpoint_id,
            event_id=event_id,
            event_type=event_type,
            order_id=order_id,
            state=state,
            created_at=created_at,
            attempts=attempts,
            finished_at=finished_at,
        )


        webhook_delivery.additional_properties = d
        return webhook_delivery

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
