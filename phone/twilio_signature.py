"""Twilio's request signature (X-Twilio-Signature), as its helper libraries compute it. Pure.

signature = base64(HMAC-SHA1(auth_token, url + key1 + value1 + key2 + value2 ...)) over the
POST parameters sorted by name (a repeated name contributes each of its values, sorted). The URL is
the full URL Twilio requested, including any query string.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

_DEFAULT_PORTS = {"https": 443, "http": 80}


def compute_signature(url: str, params: Iterable[tuple[str, str]], auth_token: str) -> str:
    by_name: dict[str, set[str]] = {}
    for name, value in params:
        by_name.setdefault(name, set()).add(value)
    payload = url + "".join(name + value for name in sorted(by_name) for value in sorted(by_name[name]))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _port_variants(url: str) -> list[str]:
    """Twilio signs whichever of 'host' and 'host:443' it was configured with; accept either."""
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    if default is None or parts.hostname is None:
        return [url]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port is None:
        other = parts._replace(netloc=f"{host}:{default}")
    elif parts.port == default:
        other = parts._replace(netloc=host)
    else:
        return [url]
    return [url, urlunsplit(other)]


def is_valid_signature(url: str, params: Iterable[tuple[str, str]], auth_token: str, signature: str) -> bool:
    if not auth_token or not signature:
        return False
    params = list(params)
    return any(
        hmac.compare_digest(compute_signature(candidate, params, auth_token), signature)
        for candidate in _port_variants(url)
    )
