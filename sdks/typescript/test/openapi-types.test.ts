/**
 * The hand-written types of src/types.ts against the OpenAPI document (src/generated/openapi.ts,
 * regenerated from the live document by the platform's tests). Checked by the compiler: a field
 * that is optional in the SDK but required by the API (as agents' `instructions` once was), a
 * missing or extra field, or a type that differs fails `tsc`, so the build fails.
 *
 * Responses: what the API sends must fit the SDK's type and the other way round, with the same
 * field names. Requests: whatever the SDK lets you send, the API accepts, and every field the API
 * accepts the SDK can send.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import type { components } from "../src/generated/openapi.js";
import type * as T from "../src/types.js";

type S = components["schemas"];
type Assignable<A, B> = [A] extends [B] ? true : false;
type SameKeys<A, B> = [Exclude<keyof A, keyof B> | Exclude<keyof B, keyof A>] extends [never] ? true : false;
/** Compiles only when `Check` is exactly `true`. */
type Expect<Check extends true> = Check;
type SameResponse<Sdk, Api> = Assignable<Api, Sdk> extends true
  ? Assignable<Sdk, Api> extends true
    ? SameKeys<Sdk, Api>
    : false
  : false;
type SameRequest<Sdk, Api> = Assignable<Sdk, Api> extends true
  ? Assignable<Required<Api>, Required<Sdk>> extends true
    ? SameKeys<Sdk, Api>
    : false
  : false;

export type ResponseChecks = [
  Expect<SameResponse<T.Call, S["Call"]>>,
  Expect<SameResponse<T.CallDetail, S["CallDetail"]>>,
  Expect<SameResponse<T.ContactRef, S["ContactRef"]>>,
  Expect<SameResponse<T.Voicemail, S["Voicemail"]>>,
  Expect<SameResponse<T.Appointment, S["Appointment"]>>,
  Expect<SameResponse<T.TranscriptTurn, S["TranscriptTurn"]>>,
  Expect<SameResponse<T.Transcript, S["Transcript"]>>,
  Expect<SameResponse<T.Recording, S["Recording"]>>,
  Expect<SameResponse<T.Contact, S["Contact"]>>,
  Expect<SameResponse<T.Message, S["Message"]>>,
  Expect<SameResponse<T.AiConfig, S["AiConfig"]>>,
  Expect<SameResponse<T.WebhookEndpoint, S["WebhookEndpoint"]>>,
  Expect<SameResponse<T.WebhookEndpointWithSecret, S["WebhookEndpointWithSecret"]>>,
  Expect<SameResponse<T.WebhookDelivery, S["Delivery"]>>,
  Expect<SameResponse<T.WebhookAttempt, S["Attempt"]>>,
  // `event` is the event union here, the generic Event schema there: checked on its own below.
  Expect<SameResponse<Omit<T.WebhookDeliveryDetail, "event">, Omit<S["DeliveryDetail"], "event">>>,
  Expect<SameResponse<T.WebhookEvent["type"], S["Event"]["type"]>>,
  Expect<SameResponse<keyof T.WebhookEvent, keyof S["Event"]>>,
  Expect<SameResponse<T.WebhookTestResult, S["WebhookTestResult"]>>,
  // The event log: the event (generic here as there) with each endpoint's delivery.
  Expect<SameResponse<T.EventWithDeliveries["deliveries"], S["EventWithDeliveries"]["deliveries"]>>,
  Expect<SameResponse<keyof T.EventWithDeliveries, keyof S["EventWithDeliveries"]>>,
  Expect<SameResponse<T.WebhookRecoverResult, S["RecoverResult"]>>,
  Expect<SameResponse<T.DeletedObject, S["Deleted"]>>,
  Expect<SameResponse<T.ApiKey, S["ApiKey"]>>,
  Expect<SameResponse<T.ApiKeyWithSecret, S["ApiKeyWithSecret"]>>,
  Expect<SameResponse<T.ApiKeyRotated, S["RotatedKey"]>>,
  // The document types a tool's `inputSchema` (a JSON Schema object) as any JSON, and `auth` as one
  // object with every credential optional; the SDK says object, and narrows `auth` on its `type`.
  Expect<SameResponse<Omit<T.Tool, "inputSchema" | "auth">, Omit<S["Tool"], "inputSchema" | "auth">>>,
  Expect<Assignable<T.ToolAuth, S["ToolAuth"]>>,
  Expect<SameKeys<T.Tool, S["Tool"]>>,
  Expect<SameResponse<T.AgentTools, S["AgentTools"]>>,
  Expect<SameResponse<T.Agent, S["Agent"]>>,
  Expect<SameResponse<T.DataField, S["DataField"]>>,
  Expect<SameResponse<T.UsageLine, S["UsageLine"]>>,
  Expect<SameResponse<T.ModeUsage, S["ModeUsage"]>>,
  Expect<SameResponse<T.Usage, S["Usage"]>>,
];

export type RequestChecks = [
  Expect<SameRequest<T.ContactCreateParams, S["ContactCreateRequest"]>>,
  Expect<SameRequest<T.ContactUpdateParams, S["PatchedContactUpdateRequest"]>>,
  Expect<SameRequest<T.SmsSendParams, S["SendMessageRequest"]>>,
  Expect<SameRequest<T.AiConfigUpdateParams, S["PatchedAiConfigUpdateRequest"]>>,
  Expect<SameRequest<T.WebhookCreateParams, S["WebhookCreateRequest"]>>,
  Expect<SameRequest<T.WebhookUpdateParams, S["PatchedWebhookUpdateRequest"]>>,
  Expect<SameRequest<T.ApiKeyCreateParams, S["KeyCreateRequest"]>>,
  Expect<SameRequest<Omit<T.ToolCreateParams, "inputSchema" | "auth">, Omit<S["ToolWriteRequest"], "inputSchema" | "auth">>>,
  Expect<
    SameRequest<Omit<T.ToolUpdateParams, "inputSchema" | "auth">, Omit<S["PatchedToolWriteRequest"], "inputSchema" | "auth">>
  >,
  Expect<Assignable<T.ToolAuthParams, S["ToolAuthRequest"]>>,
  Expect<SameRequest<T.AgentCreateParams, S["AgentWriteRequest"]>>,
  Expect<SameRequest<T.AgentUpdateParams, S["PatchedAgentWriteRequest"]>>,
  Expect<SameRequest<T.DataFieldCreateParams, S["DataFieldWriteRequest"]>>,
  Expect<SameRequest<T.DataFieldUpdateParams, S["PatchedDataFieldWriteRequest"]>>,
];

// The checks themselves: drift of the `instructions` kind is caught.
type DriftedAgentParams = Omit<T.AgentCreateParams, "instructions"> & { instructions?: string };
export type SelfChecks = [
  Expect<SameRequest<DriftedAgentParams, S["AgentWriteRequest"]> extends false ? true : false>,
  Expect<SameResponse<Omit<T.Contact, "email">, S["Contact"]> extends false ? true : false>,
  Expect<SameResponse<T.Contact & { nickname: string }, S["Contact"]> extends false ? true : false>,
];

test("the SDK's types agree with the OpenAPI document (checked when this file compiles)", () => {
  assert.ok(true);
});
