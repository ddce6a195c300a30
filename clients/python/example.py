"""Places an order with the generated Python client, follows it to a terminal
status, and shows a refused order's problem parsed into its model.

    pip install ./clients/python/asynccheckout-client
    API_URL=http://127.0.0.1:8080 API_KEY=ak_... python clients/python/example.py
"""

import os
import sys
import time
import uuid

from asynccheckout_client import AuthenticatedClient
from asynccheckout_client.api.orders import get_order, place_order
from asynccheckout_client.models import OrderItemInput, PlaceOrder, Problem

TERMINAL = {"completed", "failed", "cancelled", "refunded"}


def main() -> int:
    client = AuthenticatedClient(base_url=os.environ["API_URL"], token=os.environ["API_KEY"])

    order = PlaceOrder(
        customer_email="ada@example.com",
        items=[OrderItemInput(sku="MUG", quantity=1)],
        payment_token="tok_visa",
    )
    placed = place_order.sync_detailed(
        client=client, body=order, idempotency_key=str(uuid.uuid4())
    )
    if placed.status_code != 202 or placed.parsed is None:
        print(f"placing the order answered {placed.status_code}: {placed.content!r}")
        return 1
    order_id = placed.parsed.id
    print(f"placed order {order_id}: {placed.parsed.status}")

    deadline = time.monotonic() + 30
    status = str(placed.parsed.status)
    while status not in TERMINAL:
        if time.monotonic() > deadline:
            print(f"order {order_id} is still {status} after 30 s")
            return 1
        time.sleep(0.1)
        current = get_order.sync(client=client, id=str(order_id))
        status = str(current.status)
    print(f"order {order_id} is {status}")
    if status != "completed":
        return 1

    # A refused order: the 422 comes back parsed, with the field at fault.
    bad = PlaceOrder(
        customer_email="not-an-email",
        items=[OrderItemInput(sku="MUG", quantity=1)],
        payment_token="tok_visa",
    )
    refused = place_order.sync_detailed(
        client=client, body=bad, idempotency_key=str(uuid.uuid4())
    )
    problem = refused.parsed
    if refused.status_code != 422 or not isinstance(problem, Problem):
        print(f"a bad order answered {refused.status_code}, parsed as {problem!r}")
        return 1
    fields = [error.field for error in problem.errors or []]
    print(f"refused: {problem.type_} {problem.status} {fields}")
    if "customer_email" not in fields:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
