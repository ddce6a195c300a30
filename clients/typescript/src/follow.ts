// Follows an order live, the way a storefront does it:
//  1. the merchant's backend, which holds the API key, places the order and
//     mints a stream token for it (POST /v1/orders/{id}/stream-tokens);
//  2. the shopper's page, which holds no key, opens an EventSource on the
//     token's `events_url` and shows each status as it happens. The stream
//     ends after the order's terminal event; a dropped connection resumes by
//     itself with Last-Event-ID, missing nothing.
//
//   API_URL=http://127.0.0.1:8080 API_KEY=ak_... npm run follow
//
// In a browser, EventSource is built in; Node 20 takes it from the
// `eventsource` package, which follows the same standard.
import { randomUUID } from "node:crypto";

import { EventSource } from "eventsource";

import { asyncCheckout, type OrderEvent } from "./client.js";

const baseUrl = process.env.API_URL ?? "http://127.0.0.1:8080";
const apiKey = process.env.API_KEY;
if (!apiKey) {
  console.error("set API_KEY (the key= of the `asynccheckout dev` ready line)");
  process.exit(2);
}

// 1. The backend.
const api = asyncCheckout(baseUrl, apiKey);
const placed = await api.POST("/v1/orders", {
  params: { header: { "Idempotency-Key": randomUUID() } },
  body: {
    customer_email: "ada@example.com",
    items: [{ sku: "TSHIRT-M", quantity: 1 }],
    payment_token: "tok_visa",
  },
});
if (!placed.data) {
  console.error("the order was refused:", placed.error);
  process.exit(1);
}
const minted = await api.POST("/v1/orders/{id}/stream-tokens", {
  params: { path: { id: placed.data.id } },
});
if (!minted.data) {
  console.error("minting a stream token failed:", minted.error);
  process.exit(1);
}
// What the backend hands the page: a URL with a token for this order only.
const eventsUrl = new URL(minted.data.events_url, baseUrl).toString();

// 2. The page.
const TERMINAL_EVENTS = ["order.completed", "order.failed", "order.cancelled", "order.refunded"];
const seen: string[] = [];
const outcome = await new Promise<string>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("no terminal event within 30 s")), 30_000);
  const source = new EventSource(eventsUrl);
  const show = (message: MessageEvent<string>) => {
    const event = JSON.parse(message.data) as OrderEvent;
    seen.push(event.type);
    console.log(`#${message.lastEventId} ${event.type}: the order is ${event.data.object.status}`);
    if (TERMINAL_EVENTS.includes(event.type)) {
      clearTimeout(timer);
      source.close();
      resolve(event.type);
    }
  };
  // Each event comes with `event: <type>`, so listen for the types.
  for (const type of ["order.pending", "order.paid", "order.confirmed", "order.refunding", ...TERMINAL_EVENTS]) {
    source.addEventListener(type, show);
  }
  source.onerror = (error) => {
    // EventSource reconnects by itself; a closed source means it gave up.
    if (source.readyState === EventSource.CLOSED) {
      clearTimeout(timer);
      reject(new Error(`the stream failed: ${error.message ?? "closed"}`));
    }
  };
});
console.log(`order ${placed.data.id}: ${seen.join(" -> ")}`);
process.exit(outcome === "order.completed" ? 0 : 1);
