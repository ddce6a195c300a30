// A typed client for the AsyncCheckout API. The types in schema.d.ts are
// generated from the repository's openapi.json (`npm run generate`), so a
// change to the API that breaks a caller breaks its type-check.
import createClient, { type Client } from "openapi-fetch";

import type { components, paths } from "./schema.js";

export type Order = components["schemas"]["Order"];
export type OrderStatus = components["schemas"]["OrderStatus"];
export type Problem = components["schemas"]["Problem"];
/** An order event, as `GET /v1/events`, the event streams and webhooks send it. */
export type OrderEvent = components["schemas"]["Event"];
export type AsyncCheckoutClient = Client<paths>;

/** Terminal order states: the saga is over. */
export const TERMINAL: readonly OrderStatus[] = ["completed", "failed", "cancelled", "refunded"];

/** A client for the API at `baseUrl`, sending `apiKey` as a bearer token. */
export function asyncCheckout(baseUrl: string, apiKey: string): AsyncCheckoutClient {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${apiKey}` } });
}
