"""A merchant's webhook receiver: checks each delivery's signature with the
Standard Webhooks library (`pip install standardwebhooks`), then acts on the
event. Run as a script, it registers itself with a running AsyncCheckout,
places an order and waits for that order's `order.completed` to arrive
verified.

    pip install ./clients/python/asynccheckout-client standardwebhooks
    API_URL=http://127.0.0.1:8080 API_KEY=ak_... python clients/python/webhook_receiver.py

(`asynccheckout dev` accepts webhook URLs on 127.0.0.1 over http; a
deployment wants https to a public address.)
"""

import json
import os
import queue
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from asynccheckout_client import AuthenticatedClient
from asynccheckout_client.api.orders import place_order
from asynccheckout_client.api.webhooks import create_webhook_endpoint, delete_webhook_endpoint
from asynccheckout_client.models import CreateWebhookEndpoint, EventType, OrderItemInput, PlaceOrder

verified_events: "queue.Queue[dict]" = queue.Queue()


class Receiver(BaseHTTPRequestHandler):
    """Verifies every POST with the endpoint's secret before trusting it."""

    webhook: Webhook  # set once the endpoint exists

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            # Checks webhook-signature against webhook-id, webhook-timestamp
            # (refusing one older than 5 minutes) and the exact body.
            event = self.webhook.verify(body, dict(self.headers))
        except WebhookVerificationError:
            self.send_response(400)
            self.end_headers()
            return
        # A delivery may come more than once: `webhook-id` (the event id)
        # tells a repeat, so act on each id once.
        verified_events.put(event)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def main() -> int:
    client = AuthenticatedClient(base_url=os.environ["API_URL"], token=os.environ["API_KEY"])
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"

    endpoint = create_webhook_endpoint.sync(
        client=client,
        body=CreateWebhookEndpoint(
            url=url,
            event_types=[EventType.ORDER_COMPLETED, EventType.ORDER_FAILED],
            description="example receiver",
        ),
    )
    if endpoint is None or not isinstance(endpoint.secret, str):
        print("creating the webhook endpoint failed", file=sys.stderr)
        return 1
    Receiver.webhook = Webhook(endpoint.secret)  # shown once: keep it in your secrets store
    try:
        placed = place_order.sync(
            client=client,
            body=PlaceOrder(
                customer_email="ada@example.com",
                items=[OrderItemInput(sku="MUG", quantity=1)],
                payment_token="tok_visa",
            ),
            idempotency_key=str(uuid.uuid4()),
        )
        order_id = str(placed.id)
        while True:
            event = verified_events.get(timeout=30)
            order = event["data"]["object"]
            print(f"verified webhook: event {event['id']} {event['type']} for order {order['id']}")
            if order["id"] == order_id:
                return 0 if event["type"] == "order.completed" else 1
    except queue.Empty:
        print("no verified webhook for the order within 30 s", file=sys.stderr)
        return 1
    finally:
        delete_webhook_endpoint.sync_detailed(endpoint.id, client=client)
        server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
