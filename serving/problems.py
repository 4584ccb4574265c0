"""Every error becomes an RFC 9457 problem (``application/problem+json``) here, and only here.

Bodies say what and where (a field path, an X12 segment position, a limit) and never echo the request:
pydantic's ``input`` and ``ctx`` (which may hold a name or a birth date) are dropped from validation errors,
and unexpected exceptions give a generic 500 whose log line carries the request id and exception type only.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving.errors import ServingError

__all__ = ["PROBLEM_JSON", "field_errors", "install_problem_handlers", "problem"]

logger = logging.getLogger("serving.errors")

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "https://oncology-denials.example/problems/"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    type_: str,
    request: Request | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A problem-details response."""
    body: dict[str, Any] = {
        "type": _TYPE_BASE + type_,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    if request is not None:
        body["instance"] = request.url.path
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "claims", 0, "lines", 2, "units")`` -> ``body.claims.0.lines.2.units``.

    Union branches that pydantic inserts (``function-after[...]``) are dropped.
    """
    parts = [str(p) for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))]
    return ".".join(parts)


def field_errors(errors: Any) -> list[dict[str, str]]:
    """Field path, message and error type of each validation error, without the input values."""
    out = []
    for error in errors:
        out.append(
            {
                "field": _location(error.get("loc", ())),
                "message": str(error.get("msg", "invalid value")),
                "type": str(error.get("type", "value_error")),
            }
        )
    return out


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors(exc.errors())
    count = len(errors)
    first = errors[0]["field"] if errors else "body"
    return problem(
        422,
        "Invalid request",
        f"{count} invalid field{'s' if count != 1 else ''}, first at {first}",
        type_="validation",
        request=request,
        errors=errors[:100],
    )


async def _serving(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServingError)
    headers = {"Retry-After": "1"} if exc.status == 503 else None
    return problem(
        exc.status,
        exc.title,
        exc.detail,
        type_=exc.type,
        request=request,
        headers=headers,
        **exc.extensions,
    )


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    titles = {
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        415: "Unsupported media type",
    }
    title = titles.get(exc.status_code, "HTTP error")
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem(
        exc.status_code,
        title,
        detail,
        type_=title.lower().replace(" ", "-"),
        request=request,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The exception's message may quote the request: log its type and the request id only.
    logger.error(
        "unexpected %s on %s (request %s)",
        type(exc).__name__,
        request.url.path,
        getattr(request.state, "request_id", "-"),
    )
    return problem(
        500,
        "Internal error",
        "the service failed on this request; the error was logged with its request id",
        type_="internal",
        request=request,
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(ServingError, _serving)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
