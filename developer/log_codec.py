"""How the request log packs its two biggest text columns, and unpacks them exactly (no Django here).

- A request id is ``req_`` and 24 hex digits (``new_request_id``): stored as its 12 bytes. Any other
  id (rows from older versions, tests) is stored as its UTF-8 followed by NUL padding to a length
  that is never 12; text ids never hold NUL (PostgreSQL text cannot), so the padding strips exactly.
- A path under the API prefix is stored without it (every logged path has it). Any other path, or
  one whose remainder starts with the escape ``!``, is stored whole behind a ``!``.
"""

from __future__ import annotations

import re

API_PATH_PREFIX = "/api/public/v1"
_CANONICAL_ID = re.compile(r"req_[0-9a-f]{24}")
_ID_BYTES = 12
_ESCAPE = "!"


def encode_request_id(request_id: str) -> bytes:
    if _CANONICAL_ID.fullmatch(request_id):
        return bytes.fromhex(request_id[4:])
    raw = request_id.encode() + b"\x00"
    return raw + b"\x00" if len(raw) == _ID_BYTES else raw


def decode_request_id(stored: bytes) -> str:
    if len(stored) == _ID_BYTES:
        return "req_" + stored.hex()
    return stored.rstrip(b"\x00").decode()


def encode_path(path: str) -> str:
    if not path.startswith(API_PATH_PREFIX) or path[len(API_PATH_PREFIX) :].startswith(_ESCAPE):
        return _ESCAPE + path
    return path[len(API_PATH_PREFIX) :]


def decode_path(stored: str) -> str:
    return stored[1:] if stored.startswith(_ESCAPE) else API_PATH_PREFIX + stored
