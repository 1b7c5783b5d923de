"""The API keys page's Quickstart: the same first request as curl, Node (the official SDK) and Python
(the official SDK), aimed at this instance and filled with a test key.

Secrets are stored hashed, so the snippets carry the full key only in the one response that created it;
otherwise they carry the chosen key's masked form, which the reader replaces with the secret they stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

# Shown when the organisation has no test key to choose.
PLACEHOLDER_KEY = "aip_test_your_key_here"


@dataclass(frozen=True)
class Snippet:
    slug: str
    title: str
    text: str


def quickstart_snippets(*, base_url: str, key: str) -> list[Snippet]:
    """`base_url` is the API root, e.g. http://127.0.0.1:8000/api/public/v1."""
    # JSON string literals are valid in JavaScript and Python alike, and quote anything odd in the values.
    key_literal, base_literal = json.dumps(key, ensure_ascii=False), json.dumps(base_url, ensure_ascii=False)
    curl = f'curl "{base_url}/calls?limit=5" \\\n  -H "Authorization: Bearer {key}"'
    node = (
        "// npm install @aiphone360/sdk, then: node quickstart.mjs\n"
        'import { AiPhone360 } from "@aiphone360/sdk";\n'
        "\n"
        "const client = new AiPhone360({\n"
        f"  apiKey: {key_literal},\n"
        f"  baseUrl: {base_literal},\n"
        "});\n"
        "const { data } = await client.calls.list({ limit: 5 });\n"
        "for (const call of data) console.log(call.id, call.status);\n"
        "console.log(`${data.length} call(s) listed with a ${client.mode} key`);\n"
    )
    python = (
        "# pip install aiphone360, then: python quickstart.py\n"
        "from aiphone360 import AiPhone360\n"
        "\n"
        "client = AiPhone360(\n"
        f"    api_key={key_literal},\n"
        f"    base_url={base_literal},\n"
        ")\n"
        "page = client.calls.list(limit=5)\n"
        "for call in page.data:\n"
        "    print(call.id, call.status)\n"
        'print(f"{len(page.data)} call(s) listed with a {client.mode} key")\n'
    )
    return [Snippet("curl", "curl", curl), Snippet("node", "Node.js", node), Snippet("python", "Python", python)]
