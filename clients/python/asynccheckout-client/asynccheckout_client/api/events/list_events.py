from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.event_page import EventPage
from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    after: int | Unset = UNSET,
    types: list[str] | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["after"] = after

    json_types: list[str] | Unset = UNSET
    if not isinstance(types, Unset):
        json_types = types


    params["types"] = json_types

    params["limit"] = limit


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/events",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> EventPage | Problem | None:
    if response.status_code == 200:
        response_200 = EventPage.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[EventPage | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    after: int | Unset = UNSET,
    types: list[str] | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> Response[EventPage | Problem]:
    """ List events

     The order events after the id `after` (0, the default, is before the
    first), oldest first, `limit` (1–100, default 20) at a time, only of
    the `types` given (comma-separated; all by default). Keep the page's
    `next_after` and ask again with it: nothing is missed or repeated.
    Events are kept for `EVENT_RETENTION_DAYS` (30). Needs the
    `orders:read` scope.

    Args:
        after (int | Unset):
        types (list[str] | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EventPage | Problem]
     """


    kwargs = _get_kwargs(
        after=after,
types=types,
limit=limit,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    after: int | Unset = UNSET,
    types: list[str] | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> EventPage | Problem | None:
    """ List events

     The order events after the id `after` (0, the default, is before the
    first), oldest first, `limit` (1–100, default 20) at a time, only of
    the `types` given (comma-separated; all by default). Keep the page's
    `next_after` and ask again with it: nothing is missed or repeated.
    Events are kept for `EVENT_RETENTION_DAYS` (30). Needs the
    `orders:read` scope.

    Args:
        after (int | Unset):
        types (list[str] | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EventPage | Problem
     """


    return sync_detailed(
        client=client,
after=after,
types=types,
limit=limit,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    after: int | Unset = UNSET,
    types: list[str] | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> Response[EventPage | Problem]:
    """ List events

     The order events after the id `after` (0, the default, is before the
    first), oldest first, `limit` (1–100, default 20) at a time, only of
    the `types` given (comma-separated; all by default). Keep the page's
    `next_after` and ask again with it: nothing is missed or repeated.
    Events are kept for `EVENT_RETENTION_DAYS` (30). Needs the
    `orders:read` scope.

    Args:
        after (int | Unset):
        types (list[str] | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EventPage | Problem]
     """


    kwargs = _get_kwargs(
        after=after,
types=types,
limit=limit,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    after: int | Unset = UNSET,
    types: list[str] | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> EventPage | Problem | None:
    """ List events

     The order events after the id `after` (0, the default, is before the
    first), oldest first, `limit` (1–100, default 20) at a time, only of
    the `types` given (comma-separated; all by default). Keep the page's
    `next_after` and ask again with it: nothing is missed or repeated.
    Events are kept for `EVENT_RETENTION_DAYS` (30). Needs the
    `orders:read` scope.

    Args:
        after (int | Unset):
        types (list[str] | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EventPage | Problem
     """


    return (await asyncio_detailed(
        client=client,
after=after,
types=types,
limit=limit,

    )).parsed
