/**
 * Webhook signature verification.
 *
 * Every delivery carries `X-AIP-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]` where each v1 is
 * HMAC-SHA256(secret, "<t>.<rawBody>") in hex. While a secret is being rotated the header carries
 * one v1 per live secret, so a receiver holding either secret accepts the delivery.
 */

import { createHmac, timingSafeEqual } from "node:crypto";

import { WebhookVerificationError } from "./errors.js";
import type { WebhookEvent } from "./types.js";

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

function toBuffer(rawBody: string | Uint8Array): Buffer {
  if (typeof rawBody === "string") return Buffer.from(rawBody, "utf8");
  if (rawBody instanceof Uint8Array) return Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  throw new WebhookVerificationError(
    "The raw request body must be a string or bytes (not a parsed object): the signature covers the exact bytes.",
  );
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
 * Check a delivery's signature over its raw body and return the parsed event.
 *
 * @throws WebhookVerificationError when the header is missing or malformed, the timestamp is older
 *   (or further in the future) than the tolerance, or no v1 signature matches.
 */
export function verifyWebhook<TData = Record<string, unknown>>(
  rawBody: string | Uint8Array,
  signatureHeader: string | string[] | null | undefined,
  secret: string | null | undefined,
  options: VerifyWebhookOptions = {},
): WebhookEvent<TData> {
  if (!secret) throw new WebhookVerificationError("No webhook signing secret (whsec_…) was given.");
  const header = Array.isArray(signatureHeader) ? signatureHeader.join(",") : signatureHeader;
  if (!header || !header.trim()) throw new WebhookVerificationError("The X-AIP-Signature header is missing.");
  const body = toBuffer(rawBody);
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

  const expected = createHmac("sha256", secret).update(`${timestamp}.`, "utf8").update(body).digest();
  // Compare against every candidate, without stopping at the first match, in constant time each.
  let matched = false;
  for (const candidate of signatures) {
    if (!HEX_SHA256.test(candidate)) continue;
    const given = Buffer.from(candidate, "hex");
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  if (!matched) throw new WebhookVerificationError("No v1 signature matches the body and secret.");

  try {
    return JSON.parse(body.toString("utf8")) as WebhookEvent<TData>;
  } catch {
    throw new WebhookVerificationError("The signature is valid but the body is not JSON.");
  }
}

/** Build a signature header (for your own tests of a webhook receiver). */
export function signWebhook(rawBody: string | Uint8Array, secrets: string | string[], timestamp?: number): string {
  const t = timestamp ?? Math.floor(Date.now() / 1000);
  const body = toBuffer(rawBody);
  const list = Array.isArray(secrets) ? secrets : [secrets];
  const parts = [`t=${t}`];
  for (const secret of list) {
    parts.push(`v1=${createHmac("sha256", secret).update(`${t}.`, "utf8").update(body).digest("hex")}`);
  }
  return parts.join(",");
}
