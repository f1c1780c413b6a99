"""Security headers: the dashboard's Content-Security-Policy, and no MIME sniffing anywhere.

The dashboard (`/` and `/static/`) is served with a policy that allows only its own files:
no inline script, no inline style attribute, nothing from another origin, no framing.
It holds because the dashboard's JS never writes markup (`innerHTML`) and sets styles only
through the CSSOM (`el.style.width = ...`), which `style-src 'self'` allows. Every other
response (REST, /metrics, /docs) gets `X-Content-Type-Options: nosniff` only: /docs is a
third-party page with inline script the dashboard's policy would break.

Applied from `on_response_prepare`, a signal, because `add_static` takes no headers and the
app deliberately has no middleware (see `guarded` in web/app.py).
"""

from __future__ import annotations

from aiohttp import web

POLICY = (
    ("default-src", "'self'"),
    ("script-src", "'self'"),
    ("style-src", "'self'"),
    ("img-src", "'self' data:"),  # the favicon is `data:,`
    # CSP Level 3 matches 'self' against ws: and wss: on the page's own host and port.
    ("connect-src", "'self'"),
    ("object-src", "'none'"),
    ("base-uri", "'none'"),
    ("frame-ancestors", "'none'"),
    ("form-action", "'self'"),
)
NOSNIFF = {"X-Content-Type-Options": "nosniff"}


def content_security_policy() -> str:
    """The dashboard's policy as one header value."""
    return "; ".join(f"{name} {sources}" for name, sources in POLICY)


def dashboard_headers() -> dict[str, str]:
    """Every header the dashboard's pages and files are served with."""
    return {
        "Content-Security-Policy": content_security_policy(),
        "X-Frame-Options": "DENY",  # frame-ancestors, for browsers that predate it
        # The page may be opened with ?token= (docs/dashboard.md): no Referer may carry it.
        "Referrer-Policy": "no-referrer",
        **NOSNIFF,
    }


def is_dashboard(path: str) -> bool:
    return path == "/" or path.startswith("/static/")


def install(app: web.Application) -> None:
    """Adds the headers to every response of `app` (call before the app starts)."""
    dashboard = dashboard_headers()

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(dashboard if is_dashboard(request.path) else NOSNIFF)

    app.on_response_prepare.append(add_headers)
