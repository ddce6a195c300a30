from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.probe_status import ProbeStatus
from typing import cast



def _get_kwargs(
    
) -> dict[str, Any]:
    

    

    

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/readyz",
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ProbeStatus | None:
    if response.status_code == 200:
        response_200 = ProbeStatus.from_dict(response.json())



        return response_200

    if response.status_code == 503:
        response_503 = ProbeStatus.from_dict(response.json())



        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ProbeStatus]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,

) -> Response[ProbeStatus]:
    """ Readiness

     200 when the database answers and every migration this build expects
    has been applied; 503 otherwise, and also while the process has 90% or
    more of its connection cap (MAX_CONNECTIONS) open, so that a load
    balancer sends new clients to another process.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ProbeStatus]
     """


    kwargs = _get_kwargs(
        
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient | Client,

) -> ProbeStatus | None:
    """ Readiness

     200 when the database answers and every migration this build expects
    has been applied; 503 otherwise, and also while the process has 90% or
    more of its connection cap (MAX_CONNECTIONS) open, so that a load
    balancer sends new clients to another process.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ProbeStatus
     """


    return sync_detailed(
        client=client,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,

) -> Response[ProbeStatus]:
    """ Readiness

     200 when the database answers and every migration this build expects
    has been applied; 503 otherwise, and also while the process has 90% or
    more of its connection cap (MAX_CONNECTIONS) open, so that a load
    balancer sends new clients to another process.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ProbeStatus]
     """


    kwargs = _get_kwargs(
        
    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient | Client,

) -> ProbeStatus | None:
    """ Readiness

     200 when the database answers and every migration this build expects
    has been applied; 503 otherwise, and also while the process has 90% or
    more of its connection cap (MAX_CONNECTIONS) open, so that a load
    balancer sends new clients to another process.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ProbeStatus
     """


    return (await asyncio_detailed(
        client=client,

    )).parsed
