"""Options that `harness serve`, `run` and `demo` share: where the hub may be reached from."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from parent_harness.web.settings import Settings

AllowedHostOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--allowed-host",
        envvar="HARNESS_ALLOWED_HOST",
        help="A Host name to answer besides IPs, localhost and this machine's names "
        "(repeatable; * for any, behind a proxy that checks names).",
    ),
]
AllowedOriginOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--allowed-origin",
        envvar="HARNESS_ALLOWED_ORIGIN",
        help="An origin (https://name[:port]) whose pages may publish and subscribe, "
        "besides the hub's own (repeatable).",
    ),
]
PublicUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--public-url",
        envvar="HARNESS_PUBLIC_URL",
        help="The URL users open the hub at, behind a proxy: its host and origin are allowed.",
    ),
]


def site_settings(
    settings: Settings,
    allowed_host: list[str] | None,
    allowed_origin: list[str] | None,
    public_url: str | None,
) -> Settings:
    """`settings` with the hosts and origins the hub answers besides its own."""
    return replace(
        settings,
        allowed_hosts=(*settings.allowed_hosts, *(allowed_host or ())),
        allowed_origins=(*settings.allowed_origins, *(allowed_origin or ())),
        public_url=public_url or settings.public_url,
    )
