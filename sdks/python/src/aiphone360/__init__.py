"""Official Python SDK for the AI Phone 360 developer platform.

from aiphone360 import AiPhone360

client = AiPhone360(api_key="aip_test_…")
page = client.calls.list(limit=25)
client.sms.send(to="+15555550123", body="Hi from our app")
contact = client.contacts.create(phone_number="+15555550123", name="Jordan")
"""

from . import types
from ._base import NOT_GIVEN, RequestOptions
from ._client import AiPhone360, AsyncAiPhone360
from ._core import DEFAULT_BASE_URL, VERSION, RateLimit, ResponseInfo
from ._errors import (
    AiPhone360Error,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    ValidationError,
    WebhookVerificationError,
)
from ._objects import ApiObject
from ._pagination import AsyncPage, AsyncPageRequest, Page
from ._version import __version__
from ._webhooks import SIGNATURE_HEADER, sign_webhook, verify_webhook

__all__ = [
    "DEFAULT_BASE_URL",
    "NOT_GIVEN",
    "SIGNATURE_HEADER",
    "VERSION",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AiPhone360",
    "AiPhone360Error",
    "ApiObject",
    "AsyncAiPhone360",
    "AsyncPage",
    "AsyncPageRequest",
    "AuthenticationError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "Page",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "RequestOptions",
    "ResponseInfo",
    "ValidationError",
    "WebhookVerificationError",
    "__version__",
    "sign_webhook",
    "types",
    "verify_webhook",
]
