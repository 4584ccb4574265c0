"""API keys: every ``/v1`` route needs one, sent as ``X-API-Key`` (or ``Authorization: Bearer <key>``).

Keys are configured as SHA-256 digests (``DENIALS_API_KEY_HASHES``), never as keys. The digest of the key
sent is compared with every configured digest with :func:`hmac.compare_digest` (constant time, and no
early exit, so the time taken says nothing about which digest came close). No key: 401; a wrong key: 403.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

__all__ = ["KeyChecker", "require_api_key"]

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key")
_bearer = HTTPBearer(auto_error=False, description="an API key as a bearer token")


class KeyChecker:
    """Checks a presented key against configured SHA-256 digests in constant time."""

    def __init__(self, digests: Sequence[str]) -> None:
        self._digests = [bytes.fromhex(d) for d in digests]

    def accepts(self, key: str) -> bool:
        presented = hashlib.sha256(key.encode()).digest()
        accepted = False
        for digest in self._digests:
            accepted |= hmac.compare_digest(presented, digest)
        return accepted


async def require_api_key(
    request: Request,
    api_key: Annotated[str | None, Depends(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """The dependency every /v1 router carries."""
    checker: KeyChecker = request.app.state.keys
    key = api_key or (bearer.credentials if bearer is not None else None)
    if not key:
        raise HTTPException(
            401,
            "an API key is required: send it in the X-API-Key header",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    if not checker.accepts(key):
        raise HTTPException(403, "the API key is not valid")
