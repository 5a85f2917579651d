"""Keyed digests and request checks that keep secrets and narratives out of logs and bodies.

* Log hashes of narratives are HMAC-SHA256 under a per-deployment secret
  (`TRIAGE_LOG_HASH_KEY`), so a known text cannot be confirmed from a log line by hashing it.
  Without the setting each process draws its own random secret: hashes then correlate lines
  of one process only.
* A streaming session remembers a keyed digest of the API key that opened it (never the key),
  under a secret of this process: sessions live in one process's memory only.
* WebSocket upgrades can be limited to browser origins listed in `TRIAGE_ALLOWED_ORIGINS`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from client.core.settings import GatewaySettings

# Drawn once per process: used when no deployment secret is configured.
_PROCESS_SECRET = secrets.token_bytes(32)


def log_hash_key(settings: GatewaySettings) -> bytes:
    configured = settings.log_hash_key.get_secret_value()
    return configured.encode("utf-8") if configured else _PROCESS_SECRET


def text_fingerprint(text: str, key: bytes) -> str:
    """Short keyed hash for correlating log lines about one narrative without its text."""
    data = text.encode("utf-8", "surrogatepass")
    return hmac.new(key, data, hashlib.sha256).hexdigest()[:16]


def presented_api_key(headers: dict[bytes, bytes]) -> bytes | None:
    """The key of `Authorization: Bearer KEY` or `X-API-Key: KEY`, if any."""
    auth = headers.get(b"authorization", b"")
    if auth[:7].lower() == b"bearer ":
        return auth[7:].strip() or None
    return headers.get(b"x-api-key") or None


def api_key_valid(presented: bytes, keys: list[bytes]) -> bool:
    """Every configured key is compared in constant time, so timing reveals neither the key
    nor which key matched."""
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(presented, key)
    return matched


def owner_digest(api_key: bytes | None) -> str | None:
    """Who owns a session: a keyed digest of its API key; None without authentication."""
    if not api_key:
        return None
    return hmac.new(_PROCESS_SECRET, b"session-owner\0" + api_key, hashlib.sha256).hexdigest()


def same_owner(owner: str | None, caller: str | None) -> bool:
    return hmac.compare_digest(owner or "", caller or "")


def normalize_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def origin_allowed(origin: bytes | None, allowed: list[str]) -> bool:
    """Empty list: every origin. A request without `Origin` is not from a browser page (which
    always sends it on a WebSocket upgrade), so the list does not apply to it."""
    if not allowed or origin is None:
        return True
    wanted = {normalize_origin(o) for o in allowed}
    return normalize_origin(origin.decode("latin-1")) in wanted
