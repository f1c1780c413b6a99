"""Store URLs: what a user writes (`sqlite:///./harness.db`) and what SQLAlchemy needs."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from parent_harness.credentials import mask_url


def async_url(url: str) -> str:
    """Maps a store URL to its async driver (aiosqlite, asyncpg)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if backend in ("postgresql", "postgres"):
        query = dict(parsed.query)
        if "sslmode" in query:
            # libpq's `sslmode` (what operators write) is asyncpg's `ssl`, with the same values.
            query.setdefault("ssl", query.pop("sslmode"))
        parsed = parsed.set(drivername="postgresql+asyncpg", query=query)
        return parsed.render_as_string(hide_password=False)
    raise ValueError(
        f"unsupported store URL {mask_url(url)!r}: use sqlite:///path.db or postgresql://..."
    )


def sqlite_path(url: str) -> str:
    """The file of a `sqlite:///path.db` URL (`:memory:` for an in-memory database)."""
    return make_url(url).database or ":memory:"
