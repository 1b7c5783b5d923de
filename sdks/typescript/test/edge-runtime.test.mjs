// The built ESM package in a runtime without Node: a fresh V8 context (node:vm) that has only the
// web platform's globals (fetch, Headers, Response, URL, crypto.subtle, TextEncoder, timers) and no
// `process`, `Buffer` or `require`, loading dist/esm module by module with a linker that refuses
// every `node:` or bare import. This is what Deno, Bun, Cloudflare Workers and Vercel Edge offer.
//
//   node --experimental-vm-modules test/edge-runtime.test.mjs     (after npm run build)

import assert from "node:assert/strict";
import { createHmac, webcrypto } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

const ESM = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "esm");

async function loadInEdgeContext(fetchImpl) {
  const context = vm.createContext({
    crypto: webcrypto,
    TextEncoder,
    TextDecoder,
    URL,
    URLSearchParams,
    Headers,
    Request,
    Response,
    AbortController,
    AbortSignal,
    setTimeout,
    clearTimeout,
    console,
    fetch: fetchImpl,
    navigator: { userAgent: "EdgeTest/1.0" },
  });
  const refused = [];
  const modules = new Map();
  const load = (path) => {
    if (!modules.has(path)) {
      modules.set(path, new vm.SourceTextModule(readFileSync(path, "utf8"), { identifier: path, context }));
    }
    return modules.get(path);
  };
  const link = async (specifier, referencing) => {
    if (!specifier.startsWith(".")) {
      refused.push(specifier);
      throw new Error(`no such module in this runtime: ${specifier}`);
    }
    return load(resolve(dirname(referencing.identifier), specifier));
  };
  const entry = load(join(ESM, "index.js"));
  await entry.link(link);
  await entry.evaluate();
  return { sdk: entry.namespace, context, refused };
}

const BODY =
  '{"id":"evt_9","type":"contact.created","createdAt":"2026-06-28T20:00:00Z","businessId":"biz_1",' +
  '"data":{"id":"con_1","phoneNumber":"+15555550123","name":"Jördan 📞"},"livemode":false}';
const T = 1_782_676_800;
// Signed outside the sandbox, with Node's own HMAC.
const HEADER = `t=${T},v1=${createHmac("sha256", "whsec_edge").update(`${T}.${BODY}`).digest("hex")}`;

test("the ESM build loads with no node: module, process, Buffer or require", async () => {
  const { sdk, context, refused } = await loadInEdgeContext(async () => new Response("{}"));
  assert.deepEqual(refused, []);
  assert.equal(vm.runInContext("typeof process + typeof Buffer + typeof require", context), "undefinedundefinedundefined");
  assert.equal(typeof sdk.AiPhone360, "function");
  assert.equal(typeof sdk.verifyWebhookAsync, "function");
});

test("verifyWebhookAsync (Web Crypto) and verifyWebhook (plain HMAC) verify a Node-signed delivery", async () => {
  const { sdk } = await loadInEdgeContext(async () => new Response("{}"));
  const viaWebCrypto = await sdk.verifyWebhookAsync(BODY, HEADER, "whsec_edge", { now: T + 5 });
  assert.equal(viaWebCrypto.id, "evt_9");
  assert.equal(viaWebCrypto.data.name, "Jördan 📞");
  const bytes = new TextEncoder().encode(BODY);
  assert.equal(sdk.verifyWebhook(bytes, HEADER, "whsec_edge", { now: T + 5 }).id, "evt_9");
  await assert.rejects(sdk.verifyWebhookAsync(BODY, HEADER, "whsec_other", { now: T }), (error) => {
    return error.code === "WEBHOOK_SIGNATURE_INVALID";
  });
  assert.throws(() => sdk.verifyWebhook(BODY.replace("con_1", "con_2"), HEADER, "whsec_edge", { now: T }));
  assert.equal(await sdk.signWebhookAsync(BODY, "whsec_edge", T), HEADER);
});

test("the client calls the API through the runtime's fetch, telling it is an edge runtime", async () => {
  const seen = [];
  const { sdk } = await loadInEdgeContext(async (url, init) => {
    seen.push({ url: String(url), headers: new Headers(init.headers), body: init.body });
    return new Response(JSON.stringify({ success: true, data: { id: "con_1" }, message: "OK" }), {
      status: 201,
      headers: { "X-Request-Id": "req_edge" },
    });
  });
  const client = new sdk.AiPhone360({ apiKey: "aip_test_edge", baseUrl: "https://api.example/v1" });
  const contact = await client.contacts.create({ phoneNumber: "+15555550123" });
  assert.equal(contact.id, "con_1");
  assert.equal(contact.requestId, "req_edge");
  assert.equal(seen.length, 1);
  assert.match(seen[0].headers.get("idempotency-key"), /^[0-9a-f-]{36}$/);
  assert.match(seen[0].headers.get("user-agent"), /^aiphone360-node\/\S+ \(edge EdgeTest\/1\.0\)$/);
  assert.equal(JSON.parse(seen[0].headers.get("x-aiphone360-client-user-agent")).runtime, "edge");
});
