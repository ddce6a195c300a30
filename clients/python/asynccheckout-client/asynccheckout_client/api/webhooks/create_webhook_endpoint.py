from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.create_webhook_endpoint import CreateWebhookEndpoint
from ...models.problem import Problem
from ...models.webhook_endpoint import WebhookEndpoint
from typing import cast



def _get_kwargs(
    *,
    body: CreateWebhookEndpoint,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/webhook-endpoints",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json; charset=utf-8"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | WebhookEndpoint | None:
    if response.status_code == 200:
        response_200 = WebhookEndpoint.from_dict(response.json())



        return response_200

    if response.status_code == 201:
        response_201 = WebhookEndpoint.from_dict(response.json())



        return response_201

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())



        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())



        return response_404

    if response.status_code == 408:
        response_408 = Problem.from_dict(response.json())



        return response_408

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())



        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())



        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())



        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())



        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())



        return response_429

    if response.status_code == 500:
        response_500 = Problem.from_dict(response.json())



        return response_500

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())



        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | WebhookEndpoint]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: CreateWebhookEndpoint,

) -> Response[Problem | WebhookEndpoint]:
    """ Create a webhook endpoint

     Every order event of the `event_types` asked for (all by default) is
    POSTed to `url` as JSON — the same object `GET /v1/events` shows —
    with the Standard Webhooks headers: `webhook-id` (the event id, the
    same on every retry), `webhook-timestamp` (Unix seconds) and
    `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
    `{webhook-id}.{webhook-timestamp}.{body}` keyed with the secret's
    bytes). Any 2xx answer is success; anything else, or no answer in
    10 s, is retried over about three days (5 s, 5 min, 30 min, 2 h, 5 h,
    10 h, 14 h, 20 h, 24 h), sooner never than a `Retry-After` on a 429 or
    503 asks. A 410 disables the endpoint at once; so does failing for 5
    days. The answer holds the signing `secret`, shown this once. Needs
    the `webhooks:write` (or `admin`) scope.

    Args:
        body (CreateWebhookEndpoint): An endpoint to create.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | WebhookEndpoint]
     """


    kwargs = _get_kwargs(
        body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    body: CreateWebhookEndpoint,

) -> Problem | WebhookEndpoint | None:
    """ Create a webhook endpoint

     Every order event of the `event_types` asked for (all by default) is
    POSTed to `url` as JSON — the same object `GET /v1/events` shows —
    with the Standard Webhooks headers: `webhook-id` (the event id, the
    same on every retry), `webhook-timestamp` (Unix seconds) and
    `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
    `{webhook-id}.{webhook-timestamp}.{body}` keyed with the secret's
    bytes). Any 2xx answer is success; anything else, or no answer in
    10 s, is retried over about three days (5 s, 5 min, 30 min, 2 h, 5 h,
    10 h, 14 h, 20 h, 24 h), sooner never than a `Retry-After` on a 429 or
    503 asks. A 410 disables the endpoint at once; so does failing for 5
    days. The answer holds the signing `secret`, shown this once. Needs
    the `webhooks:write` (or `admin`) scope.

    Args:
        body (CreateWebhookEndpoint): An endpoint to create.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | WebhookEndpoint
     """


    return sync_detailed(
        client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: CreateWebhookEndpoint,

) -> Response[Problem | WebhookEndpoint]:
    """ Create a webhook endpoint

     Every order event of the `event_types` asked for (all by default) is
    POSTed to `url` as JSON — the same object `GET /v1/events` shows —
    with the Standard Webhooks headers: `webhook-id` (the event id, the
    same on every retry), `webhook-timestamp` (Unix seconds) and
    `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
    `{webhook-id}.{webhook-timestamp}.{body}` keyed with the secret's
    bytes). Any 2xx answer is success; anything else, or no answer in
    10 s, is retried over about three days (5 s, 5 min, 30 min, 2 h, 5 h,
    10 h, 14 h, 20 h, 24 h), sooner never than a `Retry-After` on a 429 or
    503 asks. A 410 disables the endpoint at once; so does failing for 5
    days. The answer holds the signing `secret`, shown this once. Needs
    the `webhooks:write` (or `admin`) scope.

    Args:
        body (CreateWebhookEndpoint): An endpoint to create.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | WebhookEndpoint]
     """


    kwargs = _get_kwargs(
        body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    body: CreateWebhookEndpoint,

) -> Problem | WebhookEndpoint | None:
    """ Create a webhook endpoint

     Every order event of the `event_types` asked for (all by default) is
    POSTed to `url` as JSON — the same object `GET /v1/events` shows —
    with the Standard Webhooks headers: `webhook-id` (the event id, the
    same on every retry), `webhook-timestamp` (Unix seconds) and
    `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
    `{webhook-id}.{webhook-timestamp}.{body}` keyed with the secret's
    bytes). Any 2xx answer is success; anything else, or no answer in
    10 s, is retried over about three days (5 s, 5 min, 30 min, 2 h, 5 h,
    10 h, 14 h, 20 h, 24 h), sooner never than a `Retry-After` on a 429 or
    503 asks. A 410 disables the endpoint at once; so does failing for 5
    days. The answer holds the signing `secret`, shown this once. Needs
    the `webhooks:write` (or `admin`) scope.

    Args:
        body (CreateWebhookEndpoint): An endpoint to create.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | WebhookEndpoint
     """


    return (await asyncio_detailed(
        client=client,
body=body,

    )).parsed
