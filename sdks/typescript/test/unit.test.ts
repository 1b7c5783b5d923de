/**
 * Offline tests: webhook verification against a vector signed by the platform's own signer,
 * key-mode detection, the backoff schedule, and the retry loop driven by an injected fetch.
 */

import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";

import { AiPhone360, AiPhone360Error, signWebhook, WebhookVerificationError } from "../src/index.js";
import { parseRetryAfter, retryDelayMs } from "../src/core.js";

// Signed by webhooks/signing.py (the platform's signer) with two live secrets, as during a rotation.
const BODY =
  '{"id":"evt_123","type":"contact.created","createdAt":"2026-06-28T20:00:00Z","businessId":"biz_1",' +
  '"data":{"name":"Jördan 📞"},"livemode":false}';
const T = 1782676800;
const HEADER =
  `t=${T},v1=db096aa096e178dfa5b24b0a7d67cad71df0780f8749f736b154450555c5dd71,` +
  "v1=e6816dd771e771d62be845a9a96d349acde8866d0d47a58524b028bad6326045";

describe("AiPhone360.verifyWebhook", () => {
  test("accepts the platform's signature and returns the parsed event", () => {
    const event = AiPhone360.verifyWebhook(BODY, HEADER, "whsec_old", { now: T + 10 });
    assert.equal(event.id, "evt_123");
    assert.equal(event.type, "contact.created");
    assert.deepEqual(event.data, { name: "Jördan 📞" });
  });

  test("accepts any matching v1: the second secret of a rotation verifies too", () => {
    assert.equal(AiPhone360.verifyWebhook(BODY, HEADER, "whsec_new", { now: T }).id, "evt_123");
  });

  test("accepts the raw body as bytes and the header as an array (Node's req.headers)", () => {
    const event = AiPhone360.verifyWebhook(Buffer.from(BODY, "utf8"), [HEADER], "whsec_old", { now: T });
    assert.equal(event.businessId, "biz_1");
  });

  test("rejects a wrong secret", () => {
    assert.throws(
      () => AiPhone360.verifyWebhook(BODY, HEADER, "whsec_other", { now: T }),
      (e: unknown) => e instanceof WebhookVerificationError && /No v1 signature matches/.test(e.message),
    );
  });

  test("rejects a body changed by one byte", () => {
    assert.throws(
      () => AiPhone360.verifyWebhook(BODY.replace("Jördan", "Jordan"), HEADER, "whsec_old", { now: T }),
      WebhookVerificationError,
    );
  });

  test("rejects a timestamp older than 5 minutes, accepts exactly 5 minutes", () => {
    assert.equal(AiPhone360.verifyWebhook(BODY, HEADER, "whsec_old", { now: T + 300 }).id, "evt_123");
    assert.throws(
      () => AiPhone360.verifyWebhook(BODY, HEADER, "whsec_old", { now: T + 301 }),
      /301 seconds old; the limit is 300/,
    );
  });

  test("rejects a timestamp too far in the future, and honours a custom tolerance", () => {
    assert.throws(() => AiPhone360.verifyWebhook(BODY, HEADER, "whsec_old", { now: T - 301 }), /in the future/);
    assert.throws(
      () => AiPhone360.verifyWebhook(BODY, HEADER, "whsec_old", { now: T + 61, toleranceSeconds: 60 }),
      /limit is 60/,
    );
  });

  test("rejects a replayed signature whose timestamp was rewritten", () => {
    const forged = HEADER.replace(`t=${T}`, `t=${T + 100}`);
    assert.throws(() => AiPhone360.verifyWebhook(BODY, forged, "whsec_old", { now: T + 100 }), /No v1 signature/);
  });

  test("rejects missing, empty and malformed headers and a missing secret", () => {
    for (const header of [undefined, "", "garbage", `v1=${"a".repeat(64)}`, `t=abc,v1=${"a".repeat(64)}`, `t=${T}`]) {
      assert.throws(() => AiPhone360.verifyWebhook(BODY, header, "whsec_old", { now: T }), WebhookVerificationError);
    }
    assert.throws(() => AiPhone360.verifyWebhook(BODY, HEADER, undefined, { now: T }), /secret/);
  });

  test("ignores unknown schemes and non-hex candidates but still needs one match", () => {
    const header = `t=${T},v0=zzz,v1=nothex,${HEADER.split(",")[1]}`;
    assert.equal(AiPhone360.verifyWebhook(BODY, header, "whsec_old", { now: T }).id, "evt_123");
  });

  test("signWebhook produces what verifyWebhook accepts", () => {
    const header = signWebhook(BODY, ["whsec_a", "whsec_b"], T);
    assert.equal(header.split(",").length, 3);
    assert.equal(AiPhone360.verifyWebhook(BODY, header, "whsec_b", { now: T }).id, "evt_123");
  });

  test("the error is an AiPhone360Error with its own code", () => {
    try {
      AiPhone360.verifyWebhook(BODY, "t=1,v1=00", "whsec_old", { now: T });
      assert.fail("should have thrown");
    } catch (error) {
      assert.ok(error instanceof AiPhone360Error);
      assert.equal(error.code, "WEBHOOK_SIGNATURE_INVALID");
      assert.equal(error.status, 400);
    }
  });
});

describe("the spec's webhook handler", () => {
  test("compiles and works as written, with Node's header and env types", async () => {
    process.env.AIP_WEBHOOK_SECRET = "whsec_handler";
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks); // what express.raw() hands over as req.body
        try {
          // Pass the RAW body bytes, not a parsed object.
          AiPhone360.verifyWebhook(body.toString("utf8"), req.headers["x-aip-signature"], process.env.AIP_WEBHOOK_SECRET);
        } catch {
          res.statusCode = 400;
          return res.end("bad signature");
        }
        const event = JSON.parse(body.toString("utf8"));
        res.statusCode = 200;
        res.end(event.type);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/aiphone`;
    try {
      const good = await fetch(url, {
        method: "POST",
        body: BODY,
        headers: { "X-AIP-Signature": signWebhook(BODY, "whsec_handler") },
      });
      assert.equal(good.status, 200);
      assert.equal(await good.text(), "contact.created");
      const bad = await fetch(url, { method: "POST", body: BODY, headers: { "X-AIP-Signature": HEADER } });
      assert.equal(bad.status, 400);
    } finally {
      server.close();
      delete process.env.AIP_WEBHOOK_SECRET;
    }
  });
});

describe("client construction", () => {
  test("mode is detected from the key prefix", () => {
    assert.equal(new AiPhone360({ apiKey: "aip_test_abc" }).mode, "test");
    assert.equal(new AiPhone360({ apiKey: "aip_live_abc" }).mode, "live");
  });

  test("the default base URL is the production API", () => {
    const saved = process.env.AIP_BASE_URL;
    delete process.env.AIP_BASE_URL;
    try {
      assert.equal(new AiPhone360({ apiKey: "aip_test_abc" }).baseUrl, "https://api.aiphone360.com/api/public/v1");
    } finally {
      if (saved !== undefined) process.env.AIP_BASE_URL = saved;
    }
  });

  test("a missing key or a key of unknown shape is refused at construction", () => {
    const saved = process.env.AIP_KEY;
    delete process.env.AIP_KEY;
    try {
      assert.throws(() => new AiPhone360({ apiKey: undefined }), /API key is required/);
      assert.throws(() => new AiPhone360({ apiKey: "sk_live_123" }), /aip_live_ or aip_test_/);
    } finally {
      if (saved !== undefined) process.env.AIP_KEY = saved;
    }
  });
});

describe("backoff schedule", () => {
  test("Retry-After is read as seconds or as an HTTP date", () => {
    assert.equal(parseRetryAfter("3"), 3000);
    assert.equal(parseRetryAfter("0.5"), 500);
    assert.equal(parseRetryAfter(null), null);
    assert.equal(parseRetryAfter("soon"), null);
    const now = Date.parse("2026-06-28T20:00:00Z");
    assert.equal(parseRetryAfter("Sun, 28 Jun 2026 20:00:07 GMT", now), 7000);
  });

  test("without Retry-After the wait grows exponentially with jitter in [ceiling/2, ceiling], capped at 8 s", () => {
    assert.equal(retryDelayMs(0, null, () => 0), 250);
    assert.equal(retryDelayMs(0, null, () => 0.999999), 499);
    assert.equal(retryDelayMs(3, null, () => 0), 2000);
    assert.equal(retryDelayMs(10, null, () => 0), 4000);
    assert.ok(retryDelayMs(10, null, () => 0.999999) <= 8000);
  });

  test("with Retry-After the wait is at least the server's and adds at most a second of jitter", () => {
    assert.equal(retryDelayMs(0, 2000, () => 0), 2000);
    assert.ok(retryDelayMs(0, 2000, () => 0.999999) < 2300);
    assert.ok(retryDelayMs(0, 30_000, () => 0.999999) <= 31_000);
  });
});

/** A fetch that answers from a script and records what it was sent. */
function scriptedFetch(replies: Array<{ status: number; body?: unknown; headers?: Record<string, string> } | Error>) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    calls.push({ url: String(input), init: init ?? {} });
    const reply = replies.shift();
    if (!reply) throw new Error("no scripted reply left");
    if (reply instanceof Error) throw reply;
    return new Response(reply.body === undefined ? null : JSON.stringify(reply.body), {
      status: reply.status,
      headers: { "Content-Type": "application/json", "X-Request-Id": "req_header", ...reply.headers },
    });
  };
  return { fetchImpl, calls };
}

const okMessage = { success: true, data: { id: "msg_1" }, message: "sent" };
const serverError = {
  success: false,
  error: { message: "boom", code: "INTERNAL_ERROR", status: 500, requestId: "req_body" },
};

describe("retry loop (scripted transport)", () => {
  test("a 5xx and a dropped connection are retried; the send's Idempotency-Key is the same on every try", async () => {
    const { fetchImpl, calls } = scriptedFetch([
      { status: 503, body: serverError, headers: { "Retry-After": "0" } },
      new TypeError("fetch failed"),
      { status: 201, body: okMessage },
    ]);
    const client = new AiPhone360({ apiKey: "aip_test_x", baseUrl: "http://api.test/v1", fetch: fetchImpl });
    const message = await client.sms.send({ to: "+15555550123", body: "Hi" });
    assert.equal(message.id, "msg_1");
    assert.equal(calls.length, 3);
    const keys = calls.map((c) => new Headers(c.init.headers).get("idempotency-key"));
    assert.match(keys[0]!, /^[0-9a-f-]{36}$/);
    assert.deepEqual(keys, [keys[0], keys[0], keys[0]]);
    assert.equal(calls[0]!.url, "http://api.test/v1/messages");
    assert.equal(calls[0]!.init.body, JSON.stringify({ to: "+15555550123", body: "Hi" }));
  });

  test("two sends get two different Idempotency-Keys, and a caller-supplied key is used as given", async () => {
    const { fetchImpl, calls } = scriptedFetch([
      { status: 201, body: okMessage },
      { status: 201, body: okMessage },
      { status: 201, body: okMessage },
    ]);
    const client = new AiPhone360({ apiKey: "aip_test_x", baseUrl: "http://api.test/v1", fetch: fetchImpl });
    await client.sms.send({ to: "+15555550123", body: "a" });
    await client.sms.send({ to: "+15555550123", body: "a" });
    await client.sms.send({ to: "+15555550123", body: "a" }, { idempotencyKey: "order-42" });
    const keys = calls.map((c) => new Headers(c.init.headers).get("idempotency-key"));
    assert.notEqual(keys[0], keys[1]);
    assert.equal(keys[2], "order-42");
  });

  test("after maxRetries the last error is thrown with code, status and the body's requestId", async () => {
    const { fetchImpl, calls } = scriptedFetch([
      { status: 500, body: serverError, headers: { "Retry-After": "0" } },
      { status: 500, body: serverError, headers: { "Retry-After": "0" } },
    ]);
    const client = new AiPhone360({ apiKey: "aip_test_x", baseUrl: "http://api.test/v1", fetch: fetchImpl, maxRetries: 1 });
    await assert.rejects(client.calls.get("call_1"), (e: unknown) => {
      assert.ok(e instanceof AiPhone360Error);
      assert.equal(e.code, "INTERNAL_ERROR");
      assert.equal(e.status, 500);
      assert.equal(e.requestId, "req_body");
      return true;
    });
    assert.equal(calls.length, 2);
  });

  test("a 4xx is not retried; requestId falls back to the X-Request-Id header", async () => {
    const { fetchImpl, calls } = scriptedFetch([
      { status: 404, body: { success: false, error: { message: "nope", code: "RESOURCE_NOT_FOUND", status: 404 } } },
    ]);
    const client = new AiPhone360({ apiKey: "aip_test_x", baseUrl: "http://api.test/v1", fetch: fetchImpl });
    await assert.rejects(client.contacts.get("ct_1"), { code: "RESOURCE_NOT_FOUND", status: 404, requestId: "req_header" });
    assert.equal(calls.length, 1);
  });

  test("a Retry-After beyond a minute is not waited out", async () => {
    const { fetchImpl, calls } = scriptedFetch([
      {
        status: 429,
        body: { success: false, error: { message: "slow down", code: "RATE_LIMIT_EXCEEDED", status: 429 } },
        headers: { "Retry-After": "3600" },
      },
    ]);
    const client = new AiPhone360({ apiKey: "aip_test_x", baseUrl: "http://api.test/v1", fetch: fetchImpl });
    await assert.rejects(client.usage.get(), { code: "RATE_LIMIT_EXCEEDED", status: 429 });
    assert.equal(calls.length, 1);
  });

  test("a non-JSON gateway error is reported with its status", async () => {
    const fetchImpl: typeof fetch = async () => new Response("<html>Bad gateway</html>", { status: 502 });
    const client = new AiPhone360({ apiKey: "aip_test_x", baseUrl: "http://api.test/v1", fetch: fetchImpl, maxRetries: 0 });
    await assert.rejects(client.config.get(), { code: "HTTP_502", status: 502 });
  });

  test("an unreachable server surfaces as CONNECTION_ERROR after the retries", async () => {
    const client = new AiPhone360({ apiKey: "aip_test_x", baseUrl: "http://127.0.0.1:9/v1", maxRetries: 1 });
    await assert.rejects(client.calls.list({ limit: 1 }), { code: "CONNECTION_ERROR", status: 0 });
  });

  test("a request slower than timeoutMs ends with TIMEOUT", async () => {
    const fetchImpl: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(new Error("aborted"))));
    const client = new AiPhone360({
      apiKey: "aip_test_x",
      baseUrl: "http://api.test/v1",
      fetch: fetchImpl,
      timeoutMs: 50,
      maxRetries: 0,
    });
    await assert.rejects(client.calls.get("call_1"), { code: "TIMEOUT", status: 0 });
  });

  test("query parameters skip undefined values and list pages iterate with the cursor", async () => {
    const { fetchImpl, calls } = scriptedFetch([
      { status: 200, body: { success: true, data: [{ id: "a" }, { id: "b" }], pagination: { nextCursor: "c1", hasMore: true, limit: 2 } } },
      { status: 200, body: { success: true, data: [{ id: "c" }], pagination: { nextCursor: null, hasMore: false, limit: 2 } } },
    ]);
    const client = new AiPhone360({ apiKey: "aip_test_x", baseUrl: "http://api.test/v1", fetch: fetchImpl });
    const ids: string[] = [];
    for await (const call of client.calls.list({ limit: 2, direction: "inbound", search: undefined })) ids.push(call.id);
    assert.deepEqual(ids, ["a", "b", "c"]);
    assert.equal(calls[0]!.url, "http://api.test/v1/calls?limit=2&direction=inbound");
    assert.equal(calls[1]!.url, "http://api.test/v1/calls?limit=2&direction=inbound&cursor=c1");
  });
});
