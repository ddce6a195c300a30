from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.event import Event
from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    id: str,
    *,
    last_event_id: str | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(last_event_id, Unset):
        headers["Last-Event-ID"] = last_event_id



    

    

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/orders/{id}/events".format(id=quote(str(id), safe=""),),
    }


    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | list[Event] | None:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.text
        for response_200_item_data in (_response_200):
            response_200_item = Event.from_dict(response_200_item_data)



            response_200.append(response_200_item)

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | list[Event]]:
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
    last_event_id: str | Unset = UNSET,

) -> Response[Problem | list[Event]]:
    """ Follow an order

     The order's events as Server-Sent Events (`text/event-stream`): first
    those it already has, then each as it happens; `id:` is the event id,
    `event:` its type and `data:` the event. The stream ends after the
    order's terminal event (`order.completed`, `order.failed`,
    `order.cancelled`, `order.refunded`). A reconnecting client sends
    `Last-Event-ID` (an `EventSource` does it for you) and gets exactly
    what followed it. A comment line every 15 s keeps proxies from closing
    an idle stream. Needs the `orders:read` scope, or, from a browser, a
    stream token for this order as `?token=st_…` (see
    `createStreamToken`): never put an API key in a page.

    Args:
        id (str):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[Event]]
     """


    kwargs = _get_kwargs(
        id=id,
last_event_id=last_event_id,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    id: str,
    *,
    client: AuthenticatedClient,
    last_event_id: str | Unset = UNSET,

) -> Problem | list[Event] | None:
    """ Follow an order

     The order's events as Server-Sent Events (`text/event-stream`): first
    those it already has, then each as it happens; `id:` is the event id,
    `event:` its type and `data:` the event. The stream ends after the
    order's terminal event (`order.completed`, `order.failed`,
    `order.cancelled`, `order.refunded`). A reconnecting client sends
    `Last-Event-ID` (an `EventSource` does it for you) and gets exactly
    what followed it. A comment line every 15 s keeps proxies from closing
    an idle stream. Needs the `orders:read` scope, or, from a browser, a
    stream token for this order as `?token=st_…` (see
    `createStreamToken`): never put an API key in a page.

    Args:
        id (str):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[Event]
     """


    return sync_detailed(
        id=id,
client=client,
last_event_id=last_event_id,

    ).parsed

async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
    last_event_id: str | Unset = UNSET,

) -> Response[Problem | list[Event]]:
    """ Follow an order

     The order's events as Server-Sent Events (`text/event-stream`): first
    those it already has, then each as it happens; `id:` is the event id,
    `event:` its type and `data:` the event. The stream ends after the
    order's terminal event (`order.completed`, `order.failed`,
    `order.cancelled`, `order.refunded`). A reconnecting client sends
    `Last-Event-ID` (an `EventSource` does it for you) and gets exactly
    what followed it. A comment line every 15 s keeps proxies from closing
    an idle stream. Needs the `orders:read` scope, or, from a browser, a
    stream token for this order as `?token=st_…` (see
    `createStreamToken`): never put an API key in a page.

    Args:
        id (str):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[Event]]
     """


    kwargs = _get_kwargs(
        id=id,
last_event_id=last_event_id,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient,
    last_event_id: str | Unset = UNSET,

) -> Problem | list[Event] | None:
    """ Follow an order

     The order's events as Server-Sent Events (`text/event-stream`): first
    those it already has, then each as it happens; `id:` is the event id,
    `event:` its type and `data:` the event. The stream ends after the
    order's terminal event (`order.completed`, `order.failed`,
    `order.cancelled`, `order.refunded`). A reconnecting client sends
    `Last-Event-ID` (an `EventSource` does it for you) and gets exactly
    what followed it. A comment line every 15 s keeps proxies from closing
    an idle stream. Needs the `orders:read` scope, or, from a browser, a
    stream token for this order as `?token=st_…` (see
    `createStreamToken`): never put an API key in a page.

    Args:
        id (str):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[Event]
     """


    return (await asyncio_detailed(
        id=id,
client=client,
last_event_id=last_event_id,

    )).parsed
