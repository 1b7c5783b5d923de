/**
 * The SDK against a real AI Phone 360 server (no mocks): AIP_BASE_URL and a full-scope aip_test_ key
 * in AIP_KEY, on an organisation that has an SMS-capable number and quiet hours off (the pytest
 * harness in tests/sdks/ starts such a server; `make run`'s demo organisation works too).
 */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { AiPhone360, AiPhone360Error, Page, WebhookVerificationError, type Contact } from "../src/index.js";
import {
  eventOf,
  fictionalNumber,
  recordingFetch,
  serverFromEnv,
  SKIP_REASON,
  startReceiver,
  uniqueSuffix,
} from "./helpers.js";

const server = serverFromEnv();

describe("the spec's quickstart, verbatim", { skip: server ? false : SKIP_REASON }, () => {
  test("lists calls, sends a text and creates a contact with a test key", async (t) => {
    const existing = await new AiPhone360({ apiKey: process.env.AIP_KEY }).contacts.list({ search: "+15555550123" });
    if (existing.data.length > 0) {
      return t.skip("+15555550123 is already a contact of this organisation; the snippet needs a fresh one");
    }
    // ---- verbatim from the spec's "Official SDK" section ----
    const client = new AiPhone360({ apiKey: process.env.AIP_KEY });
    // mode is auto-detected from the key prefix (aip_test_ / aip_live_)
    const { data } = await client.calls.list({ limit: 25 });
    await client.sms.send({ to: "+15555550123", body: "Hi from our app" });
    const contact = await client.contacts.create({ phoneNumber: "+15555550123", name: "Jordan" });
    // ---- end of the snippet ----

    assert.equal(client.mode, "test");
    assert.ok(Array.isArray(data));
    assert.ok(data.length <= 25);
    for (const call of data) assert.match(call.id, /^call_/);
    assert.match(contact.id, /^con_/);
    assert.equal(contact.phoneNumber, "+15555550123");
    assert.equal(contact.name, "Jordan");
  });

  test("the spec's pagination loop walks every page", async () => {
    const client = new AiPhone360({ apiKey: process.env.AIP_KEY });
    const seen: string[] = [];
    // ---- verbatim from the spec's "Pagination" section (limit 2 to force several pages) ----
    let cursor;
    do {
      const page = await client.calls.list({ cursor, limit: 2 });
      for (const call of page.data) { seen.push(call.id); }
      cursor = page.pagination.nextCursor;
    } while (cursor);
    // ----
    const all: string[] = [];
    for await (const call of client.calls.list({ limit: 100 })) all.push(call.id);
    assert.deepEqual(seen, all);
    assert.equal(new Set(all).size, all.length);
  });
});

describe("against the real server", { skip: server ? false : SKIP_REASON }, () => {
  const { baseUrl, key } = server ?? { baseUrl: "", key: "" };
  const client = new AiPhone360({ apiKey: key, baseUrl });

  describe("pagination", () => {
    const created: string[] = [];

    before(async () => {
      for (let i = 0; i < 7; i++) {
        const k = await client.keys.create({ name: `sdk-page-${i}-${uniqueSuffix()}`, mode: "test", scopes: ["read:calls"] });
        created.push(k.id);
      }
    });

    after(async () => {
      for (const id of created) await client.keys.revoke(id);
    });

    test("a page has the spec's shape", async () => {
      const page = await client.keys.list({ limit: 2 });
      assert.ok(page instanceof Page);
      assert.equal(page.data.length, 2);
      assert.equal(page.pagination.hasMore, true);
      assert.equal(typeof page.pagination.nextCursor, "string");
      assert.equal(page.pagination.limit, 2);
      assert.deepEqual(Object.keys(page.toJSON()).sort(), ["data", "pagination"]);
      assert.match(page.data[0]!.maskedKey, /^aip_test_/);
    });

    test("for await walks every key across pages of 2, newest first, without duplicates", async () => {
      const ids: string[] = [];
      for await (const k of client.keys.list({ limit: 2 })) ids.push(k.id);
      assert.ok(ids.length >= 8, `expected the 7 new keys and the caller's, got ${ids.length}`);
      assert.equal(new Set(ids).size, ids.length);
      // Newest first: the seven keys made in before() come first, in reverse order of creation.
      assert.deepEqual(ids.slice(0, 7), [...created].reverse());
      // The same walk page by page.
      const pages: number[] = [];
      const first = await client.keys.list({ limit: 2 });
      for await (const page of first.iterPages()) pages.push(page.data.length);
      assert.equal(pages.reduce((a, b) => a + b, 0), ids.length);
      assert.ok(pages.length >= 4);
      assert.equal(await (await client.keys.list({ limit: 100 })).getNextPage(), null);
    });
  });

  describe("calls and contacts", () => {
    test("a call's detail, transcript and recording", async (t) => {
      const page = await client.calls.list({ limit: 100 });
      const call = page.data.find((c) => c.hasTranscript && c.hasRecording);
      if (!call) return t.skip("no call with a transcript and a recording on this organisation");
      const detail = await client.calls.get(call.id);
      assert.equal(detail.id, call.id);
      assert.ok(Array.isArray(detail.appointments));
      const transcript = await client.calls.transcript(call.id);
      assert.equal(transcript.callId, call.id);
      assert.ok(transcript.turns.length > 0);
      assert.ok(["agent", "caller", "staff"].includes(transcript.turns[0]!.speaker));
      const recording = await client.calls.recording(call.id);
      assert.equal(recording.callId, call.id);
      const audio = await fetch(recording.url);
      assert.equal(audio.status, 200);
      assert.equal((await audio.arrayBuffer()).byteLength, recording.sizeBytes);
    });

    test("calls filter by direction", async () => {
      for await (const call of client.calls.list({ direction: "outbound", limit: 50 })) {
        assert.equal(call.direction, "outbound");
      }
    });

    test("create, get, update and search a contact", async () => {
      const number = fictionalNumber();
      const created = await client.contacts.create({ phoneNumber: number, name: "Sam SDK", company: "Acme" });
      assert.equal((await client.contacts.get(created.id)).phoneNumber, number);
      const updated: Contact = await client.contacts.update(created.id, { email: "sam@example.com" });
      assert.equal(updated.email, "sam@example.com");
      assert.equal(updated.company, "Acme");
      const found = await client.contacts.list({ search: "Sam SDK" });
      assert.ok(found.data.some((c) => c.id === created.id));
    });
  });

  describe("sms.send", () => {
    test("a test-mode send is a synthetic success", async () => {
      const message = await client.sms.send({ to: "+15555550123", body: "Hello 👋" });
      assert.match(message.id, /^msg_/);
      assert.equal(message.test, true);
      assert.equal(message.encoding, "UCS-2");
      assert.equal(message.status, "sent");
    });

    test("a send whose response was lost is retried with the same Idempotency-Key and replayed, not re-sent", async () => {
      const net = recordingFetch();
      const flaky = new AiPhone360({ apiKey: key, baseUrl, fetch: net.fetch });
      net.drop(1, (method, url) => method === "POST" && url.endsWith("/messages"));
      const message = await flaky.sms.send({ to: "+15555550123", body: `Order ${uniqueSuffix()} is ready` });
      const sends = net.log.filter((e) => e.url.endsWith("/messages"));
      assert.equal(sends.length, 2);
      assert.equal(sends[0]!.status, null); // reached the server, response lost
      assert.equal(sends[1]!.status, 201);
      const keys = sends.map((e) => e.requestHeaders["idempotency-key"]);
      assert.ok(keys[0]);
      assert.equal(keys[1], keys[0]);
      assert.equal(sends[1]!.responseHeaders["idempotent-replayed"], "true");
      assert.match(message.id, /^msg_/);
    });
  });

  describe("config and usage", () => {
    test("config round-trips an update", async () => {
      const before = await client.config.get();
      const greeting = `Hello from the SDK test ${uniqueSuffix()}`;
      const updated = await client.config.update({ greeting });
      assert.equal(updated.greeting, greeting);
      assert.equal((await client.config.get()).greeting, greeting);
      await client.config.update({ greeting: before.greeting });
    });

    test("usage has live and test totals and the month's free quota", async () => {
      const usage = await client.usage.get();
      assert.equal(usage.currency, "USD");
      assert.ok(Array.isArray(usage.test.byMetric));
      assert.ok(usage.freeQuota.metrics.some((m) => m.metric === "api_requests"));
      await assert.rejects(client.usage.get({ from: "yesterday" }), { code: "VALIDATION_ERROR", status: 400 });
    });
  });

  describe("errors", () => {
    test("a missing call is RESOURCE_NOT_FOUND with the request id of the response", async () => {
      const net = recordingFetch();
      const c = new AiPhone360({ apiKey: key, baseUrl, fetch: net.fetch });
      try {
        await c.calls.get("call_doesnotexist");
        assert.fail("should have thrown");
      } catch (error) {
        assert.ok(error instanceof AiPhone360Error);
        assert.equal(error.code, "RESOURCE_NOT_FOUND");
        assert.equal(error.status, 404);
        assert.match(error.requestId ?? "", /^req_/);
        assert.equal(error.requestId, net.log[0]!.responseHeaders["x-request-id"]);
        assert.match(error.message, /call_doesnotexist/);
      }
      assert.equal(net.log.length, 1, "a 404 is not retried");
    });

    test("a validation error names the field", async () => {
      await assert.rejects(client.contacts.create({ phoneNumber: "not a number" }), (e: unknown) => {
        assert.ok(e instanceof AiPhone360Error);
        assert.equal(e.code, "VALIDATION_ERROR");
        assert.equal(e.status, 400);
        assert.ok(e.fields?.phoneNumber?.length);
        return true;
      });
    });

    test("a key without the scope gets INSUFFICIENT_SCOPE; an unknown key INVALID_API_KEY", async () => {
      const narrow = await client.keys.create({ name: `sdk-narrow-${uniqueSuffix()}`, mode: "test", scopes: ["read:calls"] });
      try {
        const limited = new AiPhone360({ apiKey: narrow.secret, baseUrl });
        await limited.calls.list({ limit: 1 });
        await assert.rejects(limited.contacts.list(), { code: "INSUFFICIENT_SCOPE", status: 403 });
      } finally {
        await client.keys.revoke(narrow.id);
      }
      const bogus = new AiPhone360({ apiKey: "aip_test_thisisnotarealkey", baseUrl });
      await assert.rejects(bogus.calls.list(), { code: "INVALID_API_KEY", status: 401 });
    });
  });

  describe("rate limiting", () => {
    test("429 responses are retried after Retry-After until they succeed", async () => {
      // A fresh key has a full bucket of its own: empty it, then make five calls at once.
      const burst = await client.keys.create({ name: `sdk-burst-${uniqueSuffix()}`, mode: "test", scopes: ["read:calls"] });
      try {
        const url = `${baseUrl}/calls?limit=1`;
        const headers = { Authorization: `Bearer ${burst.secret}` };
        const probe = await fetch(url, { headers });
        const limit = Number(probe.headers.get("x-ratelimit-limit"));
        assert.ok(limit > 0);
        let limited = false;
        for (let sent = 1; sent < limit * 2 && !limited; sent += 10) {
          const statuses = await Promise.all(
            Array.from({ length: 10 }, () => fetch(url, { headers }).then(async (r) => (await r.arrayBuffer(), r.status))),
          );
          limited = statuses.includes(429);
        }
        assert.ok(limited, "the burst never hit the limit");

        const net = recordingFetch();
        const sdk = new AiPhone360({ apiKey: burst.secret, baseUrl, fetch: net.fetch, maxRetries: 10 });
        const callIds = ["0", "1", "2", "3", "4"];
        const pages = await Promise.all(
          callIds.map((i) => sdk.calls.list({ limit: 1 }, { headers: { "X-Test-Call": i } })),
        );
        assert.equal(pages.length, callIds.length);
        let retried429 = 0;
        for (const i of callIds) {
          const tries = net.log.filter((e) => e.requestHeaders["x-test-call"] === i);
          assert.equal(tries.at(-1)!.status, 200);
          for (let n = 0; n < tries.length - 1; n++) {
            assert.equal(tries[n]!.status, 429);
            const waitMs = Number(tries[n]!.responseHeaders["retry-after"]) * 1000;
            assert.ok(tries[n + 1]!.sentAt - tries[n]!.receivedAt >= waitMs - 5, "Retry-After was not honoured");
            retried429 += 1;
          }
        }
        assert.ok(retried429 >= 1, "no 429 was retried");

        // With retries off, the 429 surfaces as a typed error.
        const impatient = new AiPhone360({ apiKey: burst.secret, baseUrl, maxRetries: 0 });
        let surfaced: unknown;
        for (let i = 0; i < limit * 2 && !surfaced; i++) {
          await impatient.calls.list({ limit: 1 }).catch((e: unknown) => (surfaced = e));
        }
        assert.ok(surfaced instanceof AiPhone360Error);
        assert.equal(surfaced.code, "RATE_LIMIT_EXCEEDED");
        assert.equal(surfaced.status, 429);
        assert.match(surfaced.requestId ?? "", /^req_/);
        assert.ok(Number(surfaced.headers?.get("retry-after")) >= 1);
      } finally {
        await client.keys.revoke(burst.id);
      }
    });
  });

  describe("keys", () => {
    test("create, rotate with a grace period, and revoke", async () => {
      const created = await client.keys.create({ name: `sdk-rotate-${uniqueSuffix()}`, mode: "test", scopes: ["read:calls"] });
      assert.match(created.secret, /^aip_test_/);
      assert.equal(new AiPhone360({ apiKey: created.secret, baseUrl }).mode, "test");
      const rotated = await client.keys.rotate(created.id, { gracePeriod: "1h" });
      assert.equal(rotated.rotatedFrom.id, created.id);
      assert.ok(rotated.rotatedFrom.expiresAt);
      // Both keys work during the grace period.
      await new AiPhone360({ apiKey: created.secret, baseUrl }).calls.list({ limit: 1 });
      await new AiPhone360({ apiKey: rotated.secret, baseUrl }).calls.list({ limit: 1 });
      const revoked = await client.keys.revoke(rotated.id);
      assert.equal(revoked.status, "revoked");
      await client.keys.revoke(created.id);
      await assert.rejects(new AiPhone360({ apiKey: created.secret, baseUrl }).calls.list(), { code: "INVALID_API_KEY" });
    });
  });

  describe("every write whose first answer is lost", () => {
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    before(async () => {
      receiver = await startReceiver();
    });
    after(async () => {
      await receiver.close();
    });

    test("is retried once with its Idempotency-Key, gets the lost answer replayed and acts once", async () => {
      // The request reaches the server; its answer is lost on the way back (a connection reset).
      const lost = new Map<string, { status: number; data: unknown }>();
      const dropping: typeof fetch = async (input, init) => {
        const response = await fetch(input, init);
        const key = new Headers(init?.headers).get("idempotency-key");
        if (key && !lost.has(key)) {
          lost.set(key, { status: response.status, data: JSON.parse(await response.text()).data });
          throw new TypeError("fetch failed (simulated: the answer was lost)");
        }
        return response;
      };
      const lossy = new AiPhone360({ apiKey: key, baseUrl, fetch: dropping });
      const checked: unknown[] = [];
      const write = <T extends { lastResponse: { retries: number; idempotentReplayed: boolean; idempotencyKey: string | null; status: number } }>(
        result: T,
      ): T => {
        assert.equal(result.lastResponse.retries, 1);
        assert.equal(result.lastResponse.idempotentReplayed, true);
        const first = lost.get(result.lastResponse.idempotencyKey!);
        assert.deepEqual([first?.status, first?.data], [result.lastResponse.status, JSON.parse(JSON.stringify(result))]);
        checked.push(result);
        return result;
      };

      const number = fictionalNumber();
      const keysBefore: string[] = [];
      for await (const k of client.keys.list({ limit: 100 })) keysBefore.push(k.id);
      const contact = write(await lossy.contacts.create({ phoneNumber: number, name: "Lost Answer" }));
      write(await lossy.contacts.update(contact.id, { company: "Retry & Co" }));
      write(await lossy.sms.send({ to: number, body: `Lost answers ${uniqueSuffix()}` }));
      const endpoint = write(await lossy.webhooks.create({ url: receiver.url, events: ["contact.created"] }));
      write(await lossy.webhooks.update(endpoint.id, { description: "retried" }));
      const tested = write(await lossy.webhooks.test(endpoint.id));
      write(await lossy.webhooks.deliveries.replay(endpoint.id, tested.delivery.id));
      const rotated = write(await lossy.webhooks.rotateSecret(endpoint.id, { overlap: "1h" }));
      const made = write(await lossy.keys.create({ name: `lost-${uniqueSuffix()}`, mode: "test", scopes: ["read:calls"] }));
      const renewed = write(await lossy.keys.rotate(made.id, { gracePeriod: "now" }));
      const tool = write(
        await lossy.tools.create({
          name: `lost_${uniqueSuffix().toLowerCase().replace(/[^a-z0-9]/g, "")}`,
          description: "Retried once.",
          endpointUrl: receiver.url,
          inputSchema: { type: "object", properties: {} },
        }),
      );
      const agent = write(
        await lossy.agents.create({ agentKey: `lost${Date.now() % 100000}`, displayName: "Lost", instructions: "You retry." }),
      );
      write(await lossy.agents.delete(agent.id));
      write(await lossy.tools.delete(tool.id));
      const testDeliveries = await client.webhooks.deliveries.list(endpoint.id, { eventType: "webhook.test" });
      assert.equal(testDeliveries.data.length, 2); // the test and its one replay
      write(await lossy.webhooks.delete(endpoint.id));
      assert.equal(checked.length, lost.size);

      // One effect each.
      assert.equal((await client.contacts.list({ search: number })).data.length, 1);
      assert.equal((await client.contacts.get(contact.id)).company, "Retry & Co");
      const keysAfter: string[] = [];
      for await (const k of client.keys.list({ limit: 100 })) keysAfter.push(k.id);
      assert.deepEqual(keysAfter.filter((id) => !keysBefore.includes(id)).sort(), [made.id, renewed.id].sort());
      await new AiPhone360({ apiKey: renewed.secret, baseUrl }).calls.list({ limit: 1 }); // the secret shown works
      assert.match(rotated.secret, /^whsec_/);
      await assert.rejects(client.tools.get(tool.id), { code: "RESOURCE_NOT_FOUND" });
      await assert.rejects(client.webhooks.get(endpoint.id), { code: "RESOURCE_NOT_FOUND" });
    });
  });

  describe("webhooks delivered by the platform", () => {
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    before(async () => {
      receiver = await startReceiver();
    });
    after(async () => {
      await receiver.close();
    });

    test("register, test, receive real events, verify them, inspect and replay deliveries", async () => {
      const endpoint = await client.webhooks.create({
        url: receiver.url,
        events: ["contact.created", "contact.updated"],
        description: "SDK test receiver",
      });
      try {
        assert.match(endpoint.id, /^whk_/);
        assert.match(endpoint.secret, /^whsec_/);

        // 1. A test delivery, sent now.
        const result = await client.webhooks.test(endpoint.id);
        assert.equal(result.succeeded, true);
        const testDelivery = await receiver.waitFor((d) => eventOf(d).type === "webhook.test");
        const testEvent = AiPhone360.verifyWebhook(
          testDelivery.rawBody.toString("utf8"),
          testDelivery.headers["x-aip-signature"],
          endpoint.secret,
        );
        assert.equal(testEvent.type, "webhook.test");
        assert.equal(testEvent.id, result.delivery.eventId);

        // 2. A real event: creating a contact announces contact.created.
        const number = fictionalNumber();
        const contact = await client.contacts.create({ phoneNumber: number, name: "Webhook Wendy" });
        const delivery = await receiver.waitFor(
          (d) => eventOf(d).type === "contact.created" && (eventOf(d).data as { id?: string }).id === contact.id,
        );
        const event = AiPhone360.verifyWebhook(
          delivery.rawBody, // bytes, as express.raw() gives them
          delivery.headers["x-aip-signature"],
          endpoint.secret,
        );
        assert.match(event.id, /^evt_/);
        // The event union narrows on `type`: `data` is then the contact.
        assert.equal(event.type, "contact.created");
        if (event.type !== "contact.created") return;
        const created: Contact = event.data;
        assert.equal(created.phoneNumber, number);
        const viaWebCrypto = await AiPhone360.verifyWebhookAsync(
          delivery.rawBody,
          delivery.headers["x-aip-signature"],
          endpoint.secret,
        );
        assert.deepEqual(viaWebCrypto, event);
        assert.equal(event.livemode, false);
        // Tampering or the wrong secret is refused.
        const tampered = delivery.rawBody.toString("utf8").replace("Webhook Wendy", "Webhook Walter");
        assert.throws(
          () => AiPhone360.verifyWebhook(tampered, delivery.headers["x-aip-signature"], endpoint.secret),
          WebhookVerificationError,
        );
        assert.throws(
          () => AiPhone360.verifyWebhook(delivery.rawBody, delivery.headers["x-aip-signature"], "whsec_wrong"),
          WebhookVerificationError,
        );

        // 3. Delivery log, detail and replay (same event id, new delivery).
        const log = await client.webhooks.deliveries.list(endpoint.id, { eventType: "contact.created" });
        const logged = log.data.find((d) => d.eventId === event.id);
        assert.ok(logged, "the delivery is in the log");
        assert.equal(logged.status, "succeeded");
        const detail = await client.webhooks.deliveries.get(endpoint.id, logged.id);
        assert.equal(detail.event.id, event.id);
        assert.ok(detail.attempts.length >= 1);
        assert.equal(detail.attempts[0]!.response.status, 200);
        const replay = await client.webhooks.deliveries.replay(endpoint.id, logged.id);
        assert.equal(replay.eventId, event.id);
        assert.equal(replay.replayOf, logged.id);
        // Wait for the replay itself (its X-AIP-Delivery-Id is the new delivery's id): it may arrive
        // before or after `replay()` resolves, and only its own delivery id tells it apart.
        await receiver.waitFor((d) => d.headers["x-aip-delivery-id"] === replay.id);
        const replays = receiver.received.filter((d) => eventOf(d).id === event.id);
        assert.equal(replays.length, 2);
        assert.equal(AiPhone360.verifyWebhook(replays[1]!.rawBody, replays[1]!.headers["x-aip-signature"], endpoint.secret).id, event.id);

        // 4. Rotation: during the overlap each delivery carries two v1 signatures; both secrets verify.
        const rotated = await client.webhooks.rotateSecret(endpoint.id, { overlap: "1h" });
        assert.notEqual(rotated.secret, endpoint.secret);
        assert.ok(rotated.previousSecretExpiresAt);
        const before = receiver.received.length;
        await client.webhooks.test(endpoint.id);
        const overlapDelivery = await receiver.waitFor(
          (d) => receiver.received.indexOf(d) >= before && eventOf(d).type === "webhook.test",
        );
        const header = overlapDelivery.headers["x-aip-signature"] as string;
        assert.equal(header.split(",").filter((p) => p.startsWith("v1=")).length, 2);
        AiPhone360.verifyWebhook(overlapDelivery.rawBody, header, endpoint.secret);
        AiPhone360.verifyWebhook(overlapDelivery.rawBody, header, rotated.secret);

        // 5. Manage: list, get, update, recover.
        const listed: string[] = [];
        for await (const w of client.webhooks.list({ limit: 1 })) listed.push(w.id);
        assert.ok(listed.includes(endpoint.id));
        const fetched = await client.webhooks.get(endpoint.id);
        assert.deepEqual(fetched.events, ["contact.created", "contact.updated"]);
        const recovered = await client.webhooks.recover(endpoint.id, { since: new Date(Date.now() - 3600_000) });
        assert.equal(recovered.count, 0); // nothing failed
        const disabled = await client.webhooks.update(endpoint.id, { enabled: false, description: "paused" });
        assert.equal(disabled.enabled, false);
        assert.equal(disabled.description, "paused");
      } finally {
        const deleted = await client.webhooks.delete(endpoint.id);
        assert.equal(deleted.deleted, true);
      }
      await assert.rejects(client.webhooks.get(endpoint.id), { code: "RESOURCE_NOT_FOUND", status: 404 });
    });
  });

  describe("tools, agents and data fields", () => {
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    before(async () => {
      receiver = await startReceiver();
    });
    after(async () => {
      await receiver.close();
    });

    /** Skip (with a reason) only when the server has no such route at all. */
    async function routeExists(path: string): Promise<boolean> {
      const response = await fetch(`${baseUrl}${path}`, { headers: { Authorization: `Bearer ${key}` } });
      const body = (await response.json()) as { error?: { message?: string } };
      return !(response.status === 404 && /No API route matches/.test(body.error?.message ?? ""));
    }

    test("custom tools: create, get, list, update, delete", async (t) => {
      if (!(await routeExists("/tools"))) return t.skip("this server has no /tools route");
      const name = `lookup_order_${uniqueSuffix()}`.toLowerCase();
      const endpointUrl = `${receiver.url.replace("/hooks", "/tools/lookup-order")}`;
      const tool = await client.tools.create({
        name,
        description: "Look up an order by its number.",
        inputSchema: { type: "object", properties: { orderNumber: { type: "string" } }, required: ["orderNumber"] },
        endpointUrl,
        auth: { type: "bearer", token: "s3cret-token" },
        timeoutSeconds: 5,
      });
      try {
        assert.match(tool.id, /^tool_/);
        assert.equal(tool.name, name);
        assert.ok(!JSON.stringify(tool).includes("s3cret-token"), "the tool's secret is never returned");
        assert.equal(tool.auth.type, "bearer");
        assert.equal(tool.lastInvokedAt, null);
        assert.equal((await client.tools.get(tool.id)).timeoutSeconds, 5);
        const rekeyed = await client.tools.update(tool.id, { auth: { type: "header", headerName: "X-Api-Key", value: "hdr-s3cret" } });
        assert.equal(rekeyed.auth.type, "header");
        assert.ok(rekeyed.auth.type === "header" && rekeyed.auth.headerName === "X-Api-Key");
        assert.ok(!JSON.stringify(rekeyed).includes("hdr-s3cret"));
        const ids: string[] = [];
        for await (const x of client.tools.list({ limit: 1 })) ids.push(x.id);
        assert.ok(ids.includes(tool.id));
        assert.equal((await client.tools.update(tool.id, { enabled: false })).enabled, false);
        await assert.rejects(client.tools.create({ name: "Bad Name!", description: "x", inputSchema: { type: "string" }, endpointUrl }), {
          code: "VALIDATION_ERROR",
        });
      } finally {
        await client.tools.delete(tool.id);
      }
      await assert.rejects(client.tools.get(tool.id), { code: "RESOURCE_NOT_FOUND" });
    });

    test("agents and their data fields: the spec's billing agent", async (t) => {
      if (!(await routeExists("/agents"))) return t.skip("this server has no /agents route");
      const agentKey = `billing${uniqueSuffix()}`.toLowerCase().replace(/[^a-z0-9]/g, "");
      const agent = await client.agents.create({
        agentKey,
        displayName: "Billing",
        instructions: "You handle billing. Collect the invoice number and offer a secure payment link.",
        matchHints: ["bill", "invoice", "refund"],
        tools: { allowPayments: true },
      });
      try {
        assert.match(agent.id, /^agt_/);
        assert.equal(agent.agentKey, agentKey);
        assert.equal(agent.tools?.allowPayments, true);
        assert.deepEqual(agent.tools?.useCustomToolIds, []);
        assert.equal((await client.agents.get(agent.id)).displayName, "Billing");
        const updated = await client.agents.update(agent.id, { matchHints: ["bill", "invoice", "refund", "payment"] });
        assert.deepEqual(updated.matchHints, ["bill", "invoice", "refund", "payment"]);
        assert.ok((await client.agents.list()).data.some((a) => a.id === agent.id));

        if (!(await routeExists("/data-fields"))) return t.skip("this server has no /data-fields route");
        const field = await client.dataFields.create({
          key: `invoice_number_${uniqueSuffix()}`.toLowerCase(),
          label: "Invoice number",
          type: "text",
          required: true,
          agentId: agent.id,
        });
        try {
          assert.equal(field.agentId, agent.id);
          assert.equal((await client.dataFields.get(field.id)).label, "Invoice number");
          assert.equal((await client.dataFields.update(field.id, { required: false })).required, false);
          assert.ok((await client.dataFields.list()).data.some((f) => f.id === field.id));
          const own = await client.dataFields.list({ agentId: agent.id });
          assert.deepEqual(own.data.map((f) => f.id), [field.id]);
        } finally {
          await client.dataFields.delete(field.id);
        }
      } finally {
        await client.agents.delete(agent.id);
      }
      await assert.rejects(client.agents.get(agent.id), { code: "RESOURCE_NOT_FOUND" });
    });
  });
});

// --- issue 18: message history, erasure, knowledge bases -------------------------------------------

describe("message history, erasure and knowledge bases", { skip: server ? false : SKIP_REASON }, () => {
  const { baseUrl, key } = server ?? { baseUrl: "", key: "" };
  const client = new AiPhone360({ apiKey: key, baseUrl });

  test("texts are listed with their status, filtered, paged and read by id", async () => {
    const to = `+1202555${String(Math.floor(Math.random() * 9000) + 1000)}`;
    const sent = [];
    for (const n of [0, 1, 2]) sent.push(await client.sms.send({ to, body: `History ${n} ${uniqueSuffix()}` }));
    const page = await client.messages.list({ phoneNumber: to, direction: "outbound", limit: 2 });
    assert.deepEqual(page.data.map((m) => m.id), [sent[2]!.id, sent[1]!.id]);
    assert.equal(page.pagination.hasMore, true);
    const walked: string[] = [];
    for await (const message of client.messages.list({ phoneNumber: to, limit: 2 })) walked.push(message.id);
    assert.deepEqual(walked, sent.map((m) => m.id).reverse());
    const one = await client.messages.get(sent[0]!.id);
    assert.equal(one.status, "sent");
    assert.equal(one.deliveredAt, null);
    assert.match(one.statusUpdatedAt, /Z$/);
    await assert.rejects(client.messages.list({ status: "bounced" as never }), { code: "VALIDATION_ERROR" });
  });

  test("a contact is erased once; the second delete is not found", async () => {
    const contact = await client.contacts.create({ phoneNumber: "+12025550166", name: `Erase ${uniqueSuffix()}` });
    const deleted = await client.contacts.delete(contact.id);
    assert.deepEqual({ ...deleted }, { id: contact.id, deleted: true });
    await assert.rejects(client.contacts.delete(contact.id), { code: "RESOURCE_NOT_FOUND", status: 404 });
  });

  test("knowledge bases are listed and read by id", async () => {
    const bases = await client.knowledgeBases.list({ limit: 100 });
    for (const base of bases.data) {
      assert.equal(typeof base.documentCount, "number");
      assert.equal((await client.knowledgeBases.get(base.id)).name, base.name);
    }
    await assert.rejects(client.knowledgeBases.get("kb_doesnotexist"), { code: "RESOURCE_NOT_FOUND" });
  });
});
