export { AiPhone360, type ClientOptions, type ClientOverrides } from "./client.js";
export {
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
  ValidationError,
  WebhookVerificationError,
  type AiPhone360ErrorInit,
} from "./errors.js";
export { Page, PagePromise } from "./pagination.js";
export {
  verifyWebhook,
  verifyWebhookAsync,
  signWebhook,
  signWebhookAsync,
  SIGNATURE_HEADER,
  type VerifyWebhookOptions,
} from "./webhooks.js";
export {
  DEFAULT_BASE_URL,
  VERSION,
  type Logger,
  type RequestLogEntry,
  type RequestOptions,
  type WithResponse,
} from "./core.js";
export { ResponseInfo, type RateLimitInfo } from "./response.js";
export { WEBHOOK_EVENT_TYPES, type components } from "./generated/openapi.js";
export type * from "./types.js";
