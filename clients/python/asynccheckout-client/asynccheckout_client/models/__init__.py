""" Contains all the data models used in inputs/outputs """

from .attempt import Attempt
from .attempt_outcome import AttemptOutcome
from .capture_method import CaptureMethod
from .circuit_breaker import CircuitBreaker
from .create_product import CreateProduct
from .create_webhook_endpoint import CreateWebhookEndpoint
from .event import Event
from .event_data import EventData
from .event_page import EventPage
from .event_type import EventType
from .failure import Failure
from .field_error import FieldError
from .history_entry import HistoryEntry
from .metadata import Metadata
from .order import Order
from .order_item import OrderItem
from .order_item_input import OrderItemInput
from .order_page import OrderPage
from .order_status import OrderStatus
from .order_summary import OrderSummary
from .order_task import OrderTask
from .patch_product import PatchProduct
from .payment import Payment
from .place_order import PlaceOrder
from .probe_status import ProbeStatus
from .problem import Problem
from .problem_type import ProblemType
from .product import Product
from .product_page import ProductPage
from .queue_count import QueueCount
from .queue_kind import QueueKind
from .queue_stats import QueueStats
from .queue_stats_totals import QueueStatsTotals
from .restock import Restock
from .stream_token import StreamToken
from .task import Task
from .task_page import TaskPage
from .task_state import TaskState
from .update_webhook_endpoint import UpdateWebhookEndpoint
from .webhook_delivery import WebhookDelivery
from .webhook_delivery_attempt import WebhookDeliveryAttempt
from .webhook_delivery_page import WebhookDeliveryPage
from .webhook_delivery_state import WebhookDeliveryState
from .webhook_endpoint import WebhookEndpoint
from .webhook_endpoint_page import WebhookEndpointPage
from .worker import Worker
from .worker_list import WorkerList
from .worker_liveness import WorkerLiveness

__all__ = (
    "Attempt",
    "AttemptOutcome",
    "CaptureMethod",
    "CircuitBreaker",
    "CreateProduct",
    "CreateWebhookEndpoint",
    "Event",
    "EventData",
    "EventPage",
    "EventType",
    "Failure",
    "FieldError",
    "HistoryEntry",
    "Metadata",
    "Order",
    "OrderItem",
    "OrderItemInput",
    "OrderPage",
    "OrderStatus",
    "OrderSummary",
    "OrderTask",
    "PatchProduct",
    "Payment",
    "PlaceOrder",
    "ProbeStatus",
    "Problem",
    "ProblemType",
    "Product",
    "ProductPage",
    "QueueCount",
    "QueueKind",
    "QueueStats",
    "QueueStatsTotals",
    "Restock",
    "StreamToken",
    "Task",
    "TaskPage",
    "TaskState",
    "UpdateWebhookEndpoint",
    "WebhookDelivery",
    "WebhookDeliveryAttempt",
    "WebhookDeliveryPage",
    "WebhookDeliveryState",
    "WebhookEndpoint",
    "WebhookEndpointPage",
    "Worker",
    "WorkerList",
    "WorkerLiveness",
)
