from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.order_page import OrderPage
from ...models.order_status import OrderStatus
from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    status: OrderStatus | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status.value

    params["status"] = json_status

    params["limit"] = limit

    params["cursor"] = cursor


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/orders",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> OrderPage | Problem | None:
    if response.status_code == 200:
        response_200 = OrderPage.from_dict(response.json())



        return response_200

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[OrderPage | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    status: OrderStatus | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,

) -> Response[OrderPage | Problem]:
    """ List orders

     Newest first, optionally only those in one `status`, `limit` (1–100,
    default 20) at a time; pass a page's `next_cursor` as `cursor`.
    Needs the `orders:read` scope.

    Args:
        status (OrderStatus | Unset): Where an order is in its saga. Paid automatically: `pending`
            → `paid` →
            `confirmed` → `completed`, or `refunding` → `refunded`. Paid manually:
            `pending` → `authorized` → `reserved` → `confirmed` → `completed`, or
            `voiding` → `failed`. Cancelled after its payment (until the
            confirmation is sent): `cancelling` → `cancelled`. Terminal: `completed`,
            `failed`, `cancelled`, `refunded`.
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[OrderPage | Problem]
     """


    kwargs = _get_kwargs(
        status=status,
limit=limit,
cursor=cursor,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    status: OrderStatus | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,

) -> OrderPage | Problem | None:
    """ List orders

     Newest first, optionally only those in one `status`, `limit` (1–100,
    default 20) at a time; pass a page's `next_cursor` as `cursor`.
    Needs the `orders:read` scope.

    Args:
        status (OrderStatus | Unset): Where an order is in its saga. Paid automatically: `pending`
            → `paid` →
            `confirmed` → `completed`, or `refunding` → `refunded`. Paid manually:
            `pending` → `authorized` → `reserved` → `confirmed` → `completed`, or
            `voiding` → `failed`. Cancelled after its payment (until the
            confirmation is sent): `cancelling` → `cancelled`. Terminal: `completed`,
            `failed`, `cancelled`, `refunded`.
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        OrderPage | Problem
     """


    return sync_detailed(
        client=client,
status=status,
limit=limit,
cursor=cursor,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    status: OrderStatus | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,

) -> Response[OrderPage | Problem]:
    """ List orders

     Newest first, optionally only those in one `status`, `limit` (1–100,
    default 20) at a time; pass a page's `next_cursor` as `cursor`.
    Needs the `orders:read` scope.

    Args:
        status (OrderStatus | Unset): Where an order is in its saga. Paid automatically: `pending`
            → `paid` →
            `confirmed` → `completed`, or `refunding` → `refunded`. Paid manually:
            `pending` → `authorized` → `reserved` → `confirmed` → `completed`, or
            `voiding` → `failed`. Cancelled after its payment (until the
            confirmation is sent): `cancelling` → `cancelled`. Terminal: `completed`,
            `failed`, `cancelled`, `refunded`.
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[OrderPage | Problem]
     """


    kwargs = _get_kwargs(
        status=status,
limit=limit,
cursor=cursor,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    status: OrderStatus | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,

) -> OrderPage | Problem | None:
    """ List orders

     Newest first, optionally only those in one `status`, `limit` (1–100,
    default 20) at a time; pass a page's `next_cursor` as `cursor`.
    Needs the `orders:read` scope.

    Args:
        status (OrderStatus | Unset): Where an order is in its saga. Paid automatically: `pending`
            → `paid` →
            `confirmed` → `completed`, or `refunding` → `refunded`. Paid manually:
            `pending` → `authorized` → `reserved` → `confirmed` → `completed`, or
            `voiding` → `failed`. Cancelled after its payment (until the
            confirmation is sent): `cancelling` → `cancelled`. Terminal: `completed`,
            `failed`, `cancelled`, `refunded`.
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        OrderPage | Problem
     """


    return (await asyncio_detailed(
        client=client,
status=status,
limit=limit,
cursor=cursor,

    )).parsed
