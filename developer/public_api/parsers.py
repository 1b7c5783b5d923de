"""The public API's one parser: JSON, read with a size limit and checked for depth before parsing.

A body over `API_MAX_BODY_BYTES` is a 413 before any of it is parsed (the Content-Length is checked
in `PublicApiView.initial`; this read limit covers a body whose length was not declared). Nesting over
`API_MAX_JSON_DEPTH` is a 400 found by a scan of the bytes, so `json.loads` never recurses deep enough
to fail. Text no database can store (NUL, lone surrogates) is a 400 naming each field.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.parsers import JSONParser

from .exceptions import PayloadTooLarge, ValidationFailed
from .input_checks import bad_input_paths, depth_message, json_depth_exceeds


class LimitedJSONParser(JSONParser):
    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        limit = settings.API_MAX_BODY_BYTES
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise PayloadTooLarge.for_limit(limit)
        if json_depth_exceeds(raw, settings.API_MAX_JSON_DEPTH):
            raise ValidationFailed(fields={"body": [depth_message(settings.API_MAX_JSON_DEPTH)]})
        data = super().parse(io.BytesIO(raw), media_type, parser_context)
        bad = bad_input_paths(data)
        if bad:
            raise ValidationFailed(fields={path: [problem] for path, problem in bad.items()})
        return data
