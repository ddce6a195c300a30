from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.order import Order
from ...models.problem import Problem
from typing import cast



def _get_kwargs(
    id: str,

) -> dict[str, Any]:
    

    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/orders/{id}/cancel".format(id=quote(str(id), safe=""),),
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Order | Problem | None:
    if response.status_code == 200:
        response_200 = Order.from_dict(response.json())



        return response_200

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
    id: str,
    *,
    client: AuthenticatedClient,

) -> Response[Order | Problem]:
    """ Cancel an order

     While the order is `pending` and its payment has not started, it is
    cancelled at once with its queued payment task: 200, `cancelled`.
    Once its payment was taken or held (`authorized`, `reserved`, `paid`,
    `confirmed`) and until its confirmation is sent, it goes to
    `cancelling`: 202, and the saga gives the money back (voids the hold
    or refunds the charge), puts back the stock and ends it `cancelled`
    (follow it on the order, its events or webhooks). Otherwise 409
    `order-not-cancellable`, saying why. Needs the `orders:write` scope.

    Args:
        id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Order | Problem]
     """


    kwargs = _get_kwargs(
        id=id,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    id: str,
    *,
    client: AuthenticatedClient,

) -> Order | Problem | None:
    """ Cancel an order

     While the order is `pending` and its payment has not started, it is
    cancelled at once with its queued payment task: 200, `cancelled`.
    Once its payment was taken or held (`authorized`, `reserved`, `paid`,
    `confirmed`) and until its confirmation is sent, it goes to
    `cancelling`: 202, and the saga gives the money back (voids the hold
    or refunds the charge), puts back the stock and ends it `cancelled`
    (follow it on the order, its events or webhooks). Otherwise 409
    `order-not-cancellable`, saying why. Needs the `orders:write` scope.

    Args:
        id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Order | Problem
     """


    return sync_detailed(
        id=id,
client=client,

    ).parsed

async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,

) -> Response[Order | Problem]:
    """ Cancel an order

     While the order is `pending` and its payment has not started, it is
    cancelled at once with its queued payment task: 200, `cancelled`.
    Once its payment was taken or held (`authorized`, `reserved`, `paid`,
    `confirmed`) and until its confirmation is sent, it goes to
    `cancelling`: 202, and the saga gives the money back (voids the hold
    or refunds the charge), puts back the stock and ends it `cancelled`
    (follow it on the order, its events or webhooks). Otherwise 409
    `order-not-cancellable`, saying why. Needs the `orders:write` scope.

    Args:
        id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Order | Problem]
     """


    kwargs = _get_kwargs(
        id=id,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient,

) -> Order | Problem | None:
    """ Cancel an order

     While the order is `pending` and its payment has not started, it is
    cancelled at once with its queued payment task: 200, `cancelled`.
    Once its payment was taken or held (`authorized`, `reserved`, `paid`,
    `confirmed`) and until its confirmation is sent, it goes to
    `cancelling`: 202, and the saga gives the money back (voids the hold
    or refunds the charge), puts back the stock and ends it `cancelled`
    (follow it on the order, its events or webhooks). Otherwise 409
    `order-not-cancellable`, saying why. Needs the `orders:write` scope.

    Args:
        id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Order | Problem
     """


    return (await asyncio_detailed(
        id=id,
client=client,

    )).parsed
