/**
 * Offline: the error classes, the HTTP answer on results, logging, withOptions, telemetry, header
 * handling, the plain-TypeScript HMAC against Node's, Web Crypto verification and the typed events.
 */

import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { describe, test } from "node:test";

import {
  AiPhone360,
  AiPhone360Error,
  APIConnectionError,
  APIStatusError,
  APITimeoutError,
  APIUserAbortError,
  AuthenticationError,
  ConflictError,
  InternalServerError,
  NotFoundError,
  PaymentRequiredError,
  PermissionDeniedError,
  RateLimitError,
  signWebhook,
  signWebhookAsync,
  ValidationError,
  VERSION,
  verifyWebhookAsync,
  WEBHOOK_EVENT_TYPES,
  WebhookVerificationError,
  type RequestLogEntry,
  type WebhookEvent,
} from "../src/index.js";
import { hmacSha256, sha256 } from "../src/sha256.js";

type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | Error;

function scripted(replies: Reply[]) {
  const calls: Array<{ url: string; headers: Headers; init: RequestInit }> = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    calls.push({ url: String(input), headers: new Headers(init?.headers), init: init ?? {} });
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

const ok = (data: unknown, extra: Record<string, unknown> = {}) => ({
  status: 200,
  body: { success: true, data, message: "OK", ...extra },
});
const failure = (status: number, code: string, headers: Record<string, string> = {}) => ({
  status,
  headers,
  body: { success: false, error: { message: "nope", code, status, requestId: "req_body", fields: { to: ["bad"] } } },
});

function client(replies: Reply[], options: Record<string, unknown> = {}) {
  const script = scripted(replies);
  return {
    ...script,
    client: new AiPhone360({ apiKey: "aip_test_x", baseUrl: "http://api.test/v1", fetch: script.fetchImpl, ...options }),
  };
}

describe("error classes", () => {
  const cases: Array<[number, string, new (...args: never[]) => AiPhone360Error]> = [
    [400, "VALIDATION_ERROR", ValidationError],
    [401, "INVALID_API_KEY", AuthenticationError],
    [402, "INSUFFICIENT_CREDITS", PaymentRequiredError],
    [403, "INSUFFICIENT_SCOPE", PermissionDeniedError],
    [404, "RESOURCE_NOT_FOUND", NotFoundError],
    [409, "IDEMPOTENCY_KEY_IN_USE", ConflictError],
    [422, "QUIET_HOURS", ConflictError],
    [429, "RATE_LIMIT_EXCEEDED", RateLimitError],
    [500, "INTERNAL_ERROR", InternalServerError],
  ];
  for (const [status, code, ErrorClass] of cases) {
    test(`${status} ${code} is a ${ErrorClass.name} under AiPhone360Error`, async () => {
      const { client: c } = client([failure(status, code, { "Retry-After": "120" })], { maxRetries: 0 });
      const error = await c.contacts.get("con_1").catch((e: unknown) => e);
      assert.ok(error instanceof ErrorClass, String(error));
      assert.ok(error instanceof APIStatusError && error instanceof AiPhone360Error);
      assert.equal(error.name, ErrorClass.name);
      assert.deepEqual([error.code, error.status, error.requestId], [code, status, "req_body"]);
      if (error instanceof RateLimitError) assert.equal(error.retryAfter, 120);
      if (error instanceof ValidationError) assert.deepEqual(error.fields, { to: ["bad"] });
    });
  }

  test("transport failures: connection, timeout and abort", async () => {
    const refused = await client([new TypeError("fetch failed")], { maxRetries: 0 })
      .client.config.get()
      .catch((e: unknown) => e);
    assert.ok(refused instanceof APIConnectionError && !(refused instanceof APITimeoutError));
    const slow: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(new Error("aborted"))));
    const timedOut = await new AiPhone360({ apiKey: "aip_test_x", fetch: slow, timeoutMs: 20, maxRetries: 0 }).config
      .get()
      .catch((e: unknown) => e);
    assert.ok(timedOut instanceof APITimeoutError && timedOut instanceof APIConnectionError);
    const controller = new AbortController();
    controller.abort();
    const aborted = await new AiPhone360({ apiKey: "aip_test_x", fetch: slow }).config
      .get({ signal: controller.signal })
      .catch((e: unknown) => e);
    assert.ok(aborted instanceof APIUserAbortError);
    assert.equal((aborted as AiPhone360Error).code, "ABORTED");
  });
});

describe("the HTTP answer on results", () => {
  test("lastResponse and requestId on objects and pages; JSON and equality see only the data", async () => {
    const headers = {
      "X-Request-Id": "req_42",
      "Idempotent-Replayed": "true",
      "X-RateLimit-Limit": "60",
      "X-RateLimit-Remaining": "58",
      "X-RateLimit-Reset": "1800000000",
    };
    const { client: c } = client([
      failure(503, "INTERNAL_ERROR", { "Retry-After": "0" }),
      { ...ok({ id: "con_1" }), status: 201, headers },
      { ...ok([{ id: "con_1" }], { pagination: { nextCursor: null, hasMore: false, limit: 25 } }), headers: { "X-Request-Id": "req_page" } },
    ]);
    const contact = await c.contacts.create({ phoneNumber: "+15555550123" }, { idempotencyKey: "mine" });
    assert.equal(contact.requestId, "req_42");
    assert.equal(contact.lastResponse.status, 201);
    assert.equal(contact.lastResponse.retries, 1);
    assert.equal(contact.lastResponse.idempotentReplayed, true);
    assert.equal(contact.lastResponse.idempotencyKey, "mine");
    assert.deepEqual(contact.lastResponse.rateLimit, { limit: 60, remaining: 58, reset: 1800000000 });
    assert.deepEqual(contact, { id: "con_1" });
    assert.equal(JSON.stringify(contact), '{"id":"con_1"}');
    const page = await c.contacts.list();
    assert.equal(page.requestId, "req_page");
    assert.equal(page.lastResponse?.status, 200);
  });
});

describe("logging, withOptions, telemetry and headers", () => {
  test("a logger gets one line per attempt with status, request id, retry and latency, never the key", async () => {
    const lines: Array<[string, RequestLogEntry]> = [];
    const logger = { debug: (message: string, entry: RequestLogEntry) => lines.push([message, entry]) };
    const { client: c } = client([failure(500, "INTERNAL_ERROR", { "Retry-After": "0" }), ok({ id: "con_1" })], {
      logger,
    });
    await c.contacts.get("con_1");
    assert.equal(lines.length, 2);
    assert.match(lines[0]![0], /^GET \/v1\/contacts\/con_1 -> 500 retrying \(request req_body, retry 0, \d+ ms\)$/);
    assert.match(lines[1]![0], /^GET \/v1\/contacts\/con_1 -> 200 ok \(request req_header, retry 1, \d+ ms\)$/);
    assert.equal(lines[1]![1].status, 200);
    assert.equal(lines[1]![1].retry, 1);
    assert.ok(lines.every(([message, entry]) => !message.includes("aip_test_x") && !JSON.stringify(entry).includes("aip_test_x")));
  });

  test("withOptions changes a copy and keeps the key, base URL and other headers", async () => {
    const { client: c, calls } = client([failure(500, "INTERNAL_ERROR"), failure(500, "INTERNAL_ERROR")], {
      maxRetries: 5,
      defaultHeaders: { "X-App": "crm" },
    });
    const strict = c.withOptions({ maxRetries: 0, defaultHeaders: { "X-Trace": "t1" } });
    await assert.rejects(strict.calls.list(), InternalServerError);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.headers.get("x-trace"), "t1");
    assert.equal(calls[0]!.headers.get("x-app"), "crm");
    assert.equal(calls[0]!.headers.get("authorization"), "Bearer aip_test_x");
    assert.equal(strict.mode, "test");
    assert.equal(strict.baseUrl, c.baseUrl);
  });

  test("telemetry names the SDK, language, runtime and version", async () => {
    const { client: c, calls } = client([ok({})]);
    await c.config.get();
    assert.equal(calls[0]!.headers.get("user-agent"), `aiphone360-node/${VERSION} (node ${process.versions.node})`);
    const details = JSON.parse(calls[0]!.headers.get("x-aiphone360-client-user-agent")!);
    assert.deepEqual(details, {
      bindings_version: VERSION,
      lang: "typescript",
      runtime: "node",
      runtime_version: process.versions.node,
      httplib: "fetch",
    });
  });

  test("a lowercase idempotency-key header replaces the generated key; every write has one, reads none", async () => {
    const { client: c, calls } = client([ok({ id: "m" }), ok({ id: "c" }), ok({ id: "t", deleted: true }), ok({})]);
    await c.sms.send({ to: "+1", body: "a" }, { headers: { "idempotency-key": "order-7" } });
    await c.contacts.update("con_1", { name: "A" });
    await c.tools.delete("tool_1");
    await c.config.get();
    assert.equal(calls[0]!.headers.get("idempotency-key"), "order-7");
    assert.deepEqual(
      calls.map((call) => call.headers.has("idempotency-key")),
      [true, true, true, false],
    );
  });
});

describe("webhook verification without node:crypto", () => {
  test("the plain-TypeScript SHA-256 and HMAC agree with Node's on random inputs", () => {
    for (const length of [0, 1, 55, 56, 63, 64, 65, 119, 1000, 4096]) {
      const data = randomBytes(length);
      const key = randomBytes(length % 100);
      assert.equal(Buffer.from(sha256(data)).toString("hex"), createHash("sha256").update(data).digest("hex"));
      assert.equal(Buffer.from(hmacSha256(key, data)).toString("hex"), createHmac("sha256", key).update(data).digest("hex"));
    }
  });

  test("verifyWebhookAsync (Web Crypto) accepts what signWebhook and signWebhookAsync make, and refuses tampering", async () => {
    const body = JSON.stringify({
      id: "evt_1",
      type: "contact.created",
      createdAt: "2026-06-28T20:00:00Z",
      businessId: "biz_1",
      data: { id: "con_1", phoneNumber: "+15555550123" },
      livemode: false,
    });
    const t = 1_782_676_800;
    const header = signWebhook(body, ["whsec_old", "whsec_new"], t);
    assert.equal(await signWebhookAsync(body, ["whsec_old", "whsec_new"], t), header);
    const event = await verifyWebhookAsync(body, header, "whsec_new", { now: t + 1 });
    assert.equal(event.type, "contact.created");
    await assert.rejects(verifyWebhookAsync(body.replace("con_1", "con_2"), header, "whsec_new", { now: t }), WebhookVerificationError);
    await assert.rejects(verifyWebhookAsync(body, header, "whsec_other", { now: t }), WebhookVerificationError);
    await assert.rejects(verifyWebhookAsync(body, header, "whsec_new", { now: t + 301 }), WebhookVerificationError);
  });

  test("events are a discriminated union: `type` narrows `data`", () => {
    const describeEvent = (event: WebhookEvent): string => {
      switch (event.type) {
        case "call.completed":
          return `call ${event.data.id} ${event.data.status}`;
        case "contact.created":
          return `contact ${event.data.phoneNumber}`;
        case "sms.received":
          return `text ${event.data.keyword ?? ""}`;
        case "webhook.test":
          return `test ${event.data.endpointId}`;
        default:
          return event.type;
      }
    };
    const event = { id: "e", type: "webhook.test", createdAt: "", businessId: "b", livemode: false, data: { endpointId: "whk_1", message: "hi" } } as const;
    assert.equal(describeEvent(event), "test whk_1");
    assert.ok(WEBHOOK_EVENT_TYPES.includes("call.completed"));
  });
});

describe("keys.get", () => {
  test("reads one masked key by id", async () => {
    const { client: c, calls } = client([ok({ id: "key_1", maskedKey: "aip_test_…abcd" })]);
    const key = await c.keys.get("key_1");
    assert.equal(key.maskedKey, "aip_test_…abcd");
    assert.equal(key.requestId, "req_header");
    assert.equal(calls[0]!.url, "http://api.test/v1/keys/key_1");
    assert.equal(calls[0]!.init.method, "GET");
  });
});
