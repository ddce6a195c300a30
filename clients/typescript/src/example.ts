// Places an order and polls it until the saga is over.
//
//   API_URL=http://127.0.0.1:8080 API_KEY=ak_... npm run example
//
// Uses the demo catalog that `asynccheckout dev` seeds (TSHIRT-M).
import { randomUUID } from "node:crypto";

import { asyncCheckout, TERMINAL, type Order } from "./client.js";

const baseUrl = process.env.API_URL ?? "http://127.0.0.1:8080";
const apiKey = process.env.API_KEY;
if (!apiKey) {
  console.error("set API_KEY (the key= of the `asynccheckout dev` ready line)");
  process.exit(2);
}
const api = asyncCheckout(baseUrl, apiKey);

const placed = await api.POST("/v1/orders", {
  params: { header: { "Idempotency-Key": randomUUID() } },
  body: {
    customer_email: "ada@example.com",
    items: [{ sku: "TSHIRT-M", quantity: 2 }],
    payment_token: "tok_visa",
    metadata: { cart_id: "c_123" },
  },
});
if (!placed.data) {
  console.error("the order was refused:", placed.error);
  process.exit(1);
}
console.log(`placed ${placed.data.id}: ${placed.data.status}, ${placed.data.total_cents} ${placed.data.currency}`);

let order: Order = placed.data;
const deadline = Date.now() + 30_000;
while (!TERMINAL.includes(order.status)) {
  if (Date.now() > deadline) {
    console.error(`order ${order.id} is still ${order.status} after 30 s`);
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  const polled = await api.GET("/v1/orders/{id}", { params: { path: { id: order.id } } });
  if (!polled.data) {
    console.error("reading the order failed:", polled.error);
    process.exit(1);
  }
  order = polled.data;
}
console.log(`order ${order.id} ended ${order.status}: ${order.history.map((h) => h.status).join(" -> ")}`);
process.exit(order.status === "completed" ? 0 : 1);
