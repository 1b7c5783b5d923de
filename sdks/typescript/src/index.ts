export { AiPhone360, type ClientOptions } from "./client.js";
export { AiPhone360Error, WebhookVerificationError } from "./errors.js";
export { Page, PagePromise } from "./pagination.js";
export { verifyWebhook, signWebhook, SIGNATURE_HEADER, type VerifyWebhookOptions } from "./webhooks.js";
export { DEFAULT_BASE_URL, VERSION, type RequestOptions } from "./core.js";
export type * from "./types.js";
