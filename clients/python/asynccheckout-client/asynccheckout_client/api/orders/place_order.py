from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.order import Order
from ...models.place_order import PlaceOrder
from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    body: PlaceOrder,
    idempotency_key: str,
    traceparent: str | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Idempotency-Key"] = idempotency_key

    if not isinstance(traceparent, Unset):
        headers["traceparent"] = traceparent



    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/orders",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json; charset=utf-8"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Order | Problem | None:
    if response.status_code == 202:
        response_202 = Order.from_dict(response.json())



        return response_202

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Order | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: PlaceOrder,
    idempotency_key: str,
    traceparent: str | Unset = UNSET,

) -> Response[Order | Problem]:
    """ Place an order

     Validates the order, prices it from the catalog and accepts it (202).
    The `Idempotency-Key` header is required: the same key with the same
    body answers the same order (`Idempotent-Replayed: true`); with a
    different body, 422 `idempotency-key-reused`. Keys are scoped to the
    API key that used them. Needs the `orders:write` scope.

    Args:
        idempotency_key (str):
        traceparent (str | Unset):
        body (PlaceOrder): An order to place. Prices come from the catalog, never from the client.
            Example: {'customer_email': 'ada@example.com', 'items': [{'sku': 'TSHIRT-M', 'quantity':
            2}], 'payment_token': 'tok_visa', 'metadata': {'cart_id': 'c_123'}, 'capture_method':
            None}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Order | Problem]
     """


    kwargs = _get_kwargs(
        body=body,
idempotency_key=idempotency_key,
traceparent=traceparent,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    body: PlaceOrder,
    idempotency_key: str,
    traceparent: str | Unset = UNSET,

) -> Order | Problem | None:
    """ Place an order

     Validates the order, prices it from the catalog and accepts it (202).
    The `Idempotency-Key` header is required: the same key with the same
    body answers the same order (`Idempotent-Replayed: true`); with a
    different body, 422 `idempotency-key-reused`. Keys are scoped to the
    API key that used them. Needs the `orders:write` scope.

    Args:
        idempotency_key (str):
        traceparent (str | Unset):
        body (PlaceOrder): An order to place. Prices come from the catalog, never from the client.
            Example: {'customer_email': 'ada@example.com', 'items': [{'sku': 'TSHIRT-M', 'quantity':
            2}], 'payment_token': 'tok_visa', 'metadata': {'cart_id': 'c_123'}, 'capture_method':
            None}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Order | Problem
     """


    return sync_detailed(
        client=client,
body=body,
idempotency_key=idempotency_key,
traceparent=traceparent,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: PlaceOrder,
    idempotency_key: str,
    traceparent: str | Unset = UNSET,

) -> Response[Order | Problem]:
    """ Place an order

     Validates the order, prices it from the catalog and accepts it (202).
    The `Idempotency-Key` header is required: the same key with the same
    body answers the same order (`Idempotent-Replayed: true`); with a
    different body, 422 `idempotency-key-reused`. Keys are scoped to the
    API key that used them. Needs the `orders:write` scope.

    Args:
        idempotency_key (str):
        traceparent (str | Unset):
        body (PlaceOrder): An order to place. Prices come from the catalog, never from the client.
            Example: {'customer_email': 'ada@example.com', 'items': [{'sku': 'TSHIRT-M', 'quantity':
            2}], 'payment_token': 'tok_visa', 'metadata': {'cart_id': 'c_123'}, 'capture_method':
            None}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Order | Problem]
     """


    kwargs = _get_kwargs(
        body=body,
idempotency_key=idempotency_key,
traceparent=traceparent,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    body: PlaceOrder,
    idempotency_key: str,
    traceparent: str | Unset = UNSET,

) -> Order | Problem | None:
    """ Place an order

     Validates the order, prices it from the catalog and accepts it (202).
    The `Idempotency-Key` header is required: the same key with the same
    body answers the same order (`Idempotent-Replayed: true`); with a
    different body, 422 `idempotency-key-reused`. Keys are scoped to the
    API key that used them. Needs the `orders:write` scope.

    Args:
        idempotency_key (str):
        traceparent (str | Unset):
        body (PlaceOrder): An order to place. Prices come from the catalog, never from the client.
            Example: {'customer_email': 'ada@example.com', 'items': [{'sku': 'TSHIRT-M', 'quantity':
            2}], 'payment_token': 'tok_visa', 'metadata': {'cart_id': 'c_123'}, 'capture_method':
            None}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Order | Problem
     """


    return (await asyncio_detailed(
        client=client,
body=body,
idempotency_key=idempotency_key,
traceparent=traceparent,

    )).parsed
