"""The public API's least-privilege scopes, exactly as the public docs list them."""

SCOPES: dict[str, str] = {
    "read:calls": "List & read calls.",
    "read:transcripts": "Read call transcripts.",
    "read:recordings": "Read call recording URLs.",
    "read:contacts": "List & read contacts.",
    "write:contacts": "Create & update contacts.",
    "write:sms": "Send SMS via POST /messages.",
    "read:usage": "Read config & list your keys.",
    "manage:config": "Update AI config; create/revoke keys.",
    "manage:webhooks": "Manage webhook endpoints & deliveries.",
    "manage:tools": "Manage custom tools.",
    "manage:agents": "Manage specialized AI agents.",
}
ALL_SCOPES: tuple[str, ...] = tuple(SCOPES)
READ_ONLY_SCOPES: tuple[str, ...] = tuple(s for s in ALL_SCOPES if s.startswith("read:"))
