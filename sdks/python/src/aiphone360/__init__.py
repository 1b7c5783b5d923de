"""Official Python SDK for the AI Phone 360 developer platform.

from aiphone360 import AiPhone360

client = AiPhone360(api_key="aip_test_…")
page = client.calls.list(limit=25)
client.sms.send(to="+15555550123", body="Hi from our app")
contact = client.contacts.create(phone_number="+15555550123", name="Jordan")
"""

from ._client import AiPhone360
from ._core import DEFAULT_BASE_URL, VERSION
from ._errors import AiPhone360Error, WebhookVerificationError
from ._objects import ApiObject
from ._pagination import Page
from ._resources import NOT_GIVEN, RequestOptions
from ._webhooks import SIGNATURE_HEADER, sign_webhook, verify_webhook

__version__ = VERSION
__all__ = [
    "DEFAULT_BASE_URL",
    "NOT_GIVEN",
    "SIGNATURE_HEADER",
    "AiPhone360",
    "AiPhone360Error",
    "ApiObject",
    "Page",
    "RequestOptions",
    "WebhookVerificationError",
    "sign_webhook",
    "verify_webhook",
]
