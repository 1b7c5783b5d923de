/**
 * Webhook signature verification.
 *
 * Every delivery carries `X-AIP-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]` where each v1 is
 * HMAC-SHA256(secret, "<t>.<rawBody>") in hex. While a secret is being rotated the header carries
 * one v1 per live secret, so a receiver holding either secret accepts the delivery.
 *
 * No `node:` module is used: `verifyWebhook` computes HMAC-SHA256 in plain TypeScript (synchronous,
 * anywhere), and `verifyWebhookAsync` uses Web Crypto (`crypto.subtle`), present in Node ≥ 20,
 * Deno, Bun, Cloudflare Workers and other edge runtimes.
 */

import { WebhookVerificationError } from "./errors.js";
import type { WebhookEvent } from "./generated/openapi.js";
import { hmacSha256 } from "./sha256.js";

export const SIGNATURE_HEADER = "x-aip-signature";
export const DEFAULT_TOLERANCE_SECONDS = 300;

export interface VerifyWebhookOptions {
  /** Maximum age (and clock skew into the future) of the timestamp, in seconds. Default 300. */
  toleranceSeconds?: number;
  /** The current unix time in seconds (for tests); default: the system clock. */
  now?: number;
}

const TIMESTAMP = /^[0-9]{1,12}$/;
const HEX_SHA256 = /^[0-9a-f]{64}$/i;

const encoder = new TextEncoder();

function toBytes(rawBody: string | Uint8Array): Uint8Array {
  if (typeof rawBody === "string") return encoder.encode(rawBody);
  // ArrayBuffer.isView, not instanceof: bytes made in another realm (a vm context, an iframe) count too.
  if (ArrayBuffer.isView(rawBody)) return new Uint8Array(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  throw new WebhookVerificationError(
    "The raw request body must be a string or bytes (not a parsed object): the signature covers the exact bytes.",
  );
}

function signedPayload(timestamp: number, body: Uint8Array): Uint8Array {
  const prefix = encoder.encode(`${timestamp}.`);
  const payload = new Uint8Array(prefix.length + body.length);
  payload.set(prefix);
  payload.set(body, prefix.length);
  return payload;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Constant time in the length of `expected`: every byte is compared whatever the earlier ones were. */
function equalBytes(given: Uint8Array, expected: Uint8Array): boolean {
  if (given.length !== expected.length) return false;
  let difference = 0;
  for (let i = 0; i < expected.length; i++) difference |= given[i]! ^ expected[i]!;
  return difference === 0;
}

interface Checked {
  body: Uint8Array;
  timestamp: number;
  signatures: string[];
  secret: string;
}

function check(
  rawBody: string | Uint8Array,
  signatureHeader: string | string[] | null | undefined,
  secret: string | null | undefined,
  options: VerifyWebhookOptions,
): Checked {
  if (!secret) throw new WebhookVerificationError("No webhook signing secret (whsec_…) was given.");
  const header = Array.isArray(signatureHeader) ? signatureHeader.join(",") : signatureHeader;
  if (!header || !header.trim()) throw new WebhookVerificationError("The X-AIP-Signature header is missing.");
  const body = toBytes(rawBody);
  const { timestamp, signatures } = parseHeader(header);

  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = Math.floor(options.now ?? Date.now() / 1000);
  const age = now - timestamp;
  if (age > tolerance) {
    throw new WebhookVerificationError(`The signature timestamp is ${age} seconds old; the limit is ${tolerance}.`);
  }
  if (-age > tolerance) {
    throw new WebhookVerificationError(
      `The signature timestamp is ${-age} seconds in the future; the limit is ${tolerance}.`,
    );
  }
  return { body, timestamp, signatures, secret };
}

function matchAndParse<TEvent>(checked: Checked, expected: Uint8Array): TEvent {
  // Compare against every candidate, without stopping at the first match, in constant time each.
  let matched = false;
  for (const candidate of checked.signatures) {
    if (!HEX_SHA256.test(candidate)) continue;
    if (equalBytes(fromHex(candidate), expected)) matched = true;
  }
  if (!matched) throw new WebhookVerificationError("No v1 signature matches the body and secret.");
  try {
    return JSON.parse(new TextDecoder().decode(checked.body)) as TEvent;
  } catch {
    throw new WebhookVerificationError("The signature is valid but the body is not JSON.");
  }
}

function webCrypto(): SubtleCrypto {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) throw new WebhookVerificationError("Web Crypto (crypto.subtle) is not available in this runtime.");
  return subtle;
}

async function hmacWebCrypto(secret: string, payload: Uint8Array): Promise<Uint8Array> {
  const subtle = webCrypto();
  const key = await subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  // A copy on a plain ArrayBuffer: Web Crypto's types refuse views that might be on a SharedArrayBuffer.
  return new Uint8Array(await subtle.sign("HMAC", key, new Uint8Array(payload)));
}

function parseHeader(header: string): { timestamp: number; signatures: string[] } {
  const timestamps: string[] = [];
  const signatures: string[] = [];
  for (const item of header.split(",")) {
    const part = item.trim();
    const eq = part.indexOf("=");
    if (eq <= 0 || eq === part.length - 1) {
      throw new WebhookVerificationError(`Malformed signature header: expected key=value, got "${part}".`);
    }
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (key === "t") timestamps.push(value);
    else if (key === "v1") signatures.push(value);
    // Other schemes (v0=…) are ignored so a future scheme can ride alongside v1.
  }
  if (timestamps.length !== 1 || !TIMESTAMP.test(timestamps[0]!)) {
    throw new WebhookVerificationError("The signature header must carry exactly one t=<unix seconds> timestamp.");
  }
  if (signatures.length === 0) {
    throw new WebhookVerificationError("The signature header carries no v1 signature.");
  }
  return { timestamp: Number(timestamps[0]), signatures };
}

/**
 * Check a delivery's signature over its raw body and return the parsed, typed event (narrow it on
 * `event.type`). Synchronous, and runs in any JavaScript runtime.
 *
 * @throws WebhookVerificationError when the header is missing or malformed, the timestamp is older
 *   (or further in the future) than the tolerance, or no v1 signature matches.
 */
export function verifyWebhook<TEvent = WebhookEvent>(
  rawBody: string | Uint8Array,
  signatureHeader: string | string[] | null | undefined,
  secret: string | null | undefined,
  options: VerifyWebhookOptions = {},
): TEvent {
  const checked = check(rawBody, signatureHeader, secret, options);
  const expected = hmacSha256(encoder.encode(checked.secret), signedPayload(checked.timestamp, checked.body));
  return matchAndParse<TEvent>(checked, expected);
}

/**
 * `verifyWebhook` on Web Crypto (`crypto.subtle`): the same checks, for Node, Deno, Bun and edge
 * runtimes (Cloudflare Workers, Vercel Edge), where it is the platform's native HMAC.
 */
export async function verifyWebhookAsync<TEvent = WebhookEvent>(
  rawBody: string | Uint8Array,
  signatureHeader: string | string[] | null | undefined,
  secret: string | null | undefined,
  options: VerifyWebhookOptions = {},
): Promise<TEvent> {
  const checked = check(rawBody, signatureHeader, secret, options);
  const expected = await hmacWebCrypto(checked.secret, signedPayload(checked.timestamp, checked.body));
  return matchAndParse<TEvent>(checked, expected);
}

/** Build a signature header (for your own tests of a webhook receiver). */
export function signWebhook(rawBody: string | Uint8Array, secrets: string | string[], timestamp?: number): string {
  const t = timestamp ?? Math.floor(Date.now() / 1000);
  const payload = signedPayload(t, toBytes(rawBody));
  const list = Array.isArray(secrets) ? secrets : [secrets];
  return [`t=${t}`, ...list.map((secret) => `v1=${toHex(hmacSha256(encoder.encode(secret), payload))}`)].join(",");
}

/** `signWebhook` on Web Crypto. */
export async function signWebhookAsync(
  rawBody: string | Uint8Array,
  secrets: string | string[],
  timestamp?: number,
): Promise<string> {
  const t = timestamp ?? Math.floor(Date.now() / 1000);
  const payload = signedPayload(t, toBytes(rawBody));
  const list = Array.isArray(secrets) ? secrets : [secrets];
  const signatures = await Promise.all(list.map(async (secret) => `v1=${toHex(await hmacWebCrypto(secret, payload))}`));
  return [`t=${t}`, ...signatures].join(",");
}
