"""Writes the committed OpenAPI document:
`python -m client.http.openapi` -> client/http/openapi.json."""

from __future__ import annotations

from pathlib import Path

from client.core.settings import GatewaySettings
from client.http.app import create_app, openapi_document
from client.triton.runner import EndpointState

TARGET = Path(__file__).with_name("openapi.json")


class NoModel:
    """The document depends only on routes and schemas; no model server is contacted."""

    async def infer(self, *args: object, **kwargs: object) -> dict:
        raise NotImplementedError

    async def state(self) -> EndpointState:
        return EndpointState("none", "none", False, [])

    async def close(self) -> None:
        return None


def main() -> None:
    TARGET.write_text(openapi_document(create_app(GatewaySettings(), NoModel())))
    print(TARGET)


if __name__ == "__main__":
    main()
