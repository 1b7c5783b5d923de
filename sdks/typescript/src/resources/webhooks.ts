import type { Core, RequestOptions, WithResponse } from "../core.js";
import type { PagePromise } from "../pagination.js";
import type {
  DeletedObject,
  DeliveryListParams,
  ListParams,
  SecretOverlap,
  WebhookCreateParams,
  WebhookDelivery,
  WebhookDeliveryDetail,
  WebhookEndpoint,
  WebhookEndpointWithSecret,
  WebhookRecoverResult,
  WebhookTestResult,
  WebhookUpdateParams,
} from "../types.js";

const id = encodeURIComponent;

export class WebhookDeliveries {
  constructor(private readonly core: Core) {}

  /** Delivery history of one endpoint, newest first; filter by status, eventType, from/to. */
  list(
    webhookId: string,
    params: DeliveryListParams = {},
    options?: RequestOptions,
  ): PagePromise<WebhookDelivery, DeliveryListParams> {
    return this.core.list<WebhookDelivery, DeliveryListParams>(`/webhooks/${id(webhookId)}/deliveries`, params, options);
  }

  /** One delivery with its event and every attempt (request and response). */
  async get(webhookId: string, deliveryId: string, options?: RequestOptions): Promise<WithResponse<WebhookDeliveryDetail>> {
    const path = `/webhooks/${id(webhookId)}/deliveries/${id(deliveryId)}`;
    return this.core.call<WebhookDeliveryDetail>("GET", path, options);
  }

  /** Send the same event (same `evt_` id) again as a new delivery. */
  async replay(webhookId: string, deliveryId: string, options?: RequestOptions): Promise<WithResponse<WebhookDelivery>> {
    const path = `/webhooks/${id(webhookId)}/deliveries/${id(deliveryId)}/replay`;
    return this.core.call<WebhookDelivery>("POST", path, options);
  }
}

/** Webhook endpoints. Scope `manage:webhooks` for all of these. */
export class Webhooks {
  readonly deliveries: WebhookDeliveries;

  constructor(private readonly core: Core) {
    this.deliveries = new WebhookDeliveries(core);
  }

  list(params: ListParams = {}, options?: RequestOptions): PagePromise<WebhookEndpoint, ListParams> {
    return this.core.list<WebhookEndpoint, ListParams>("/webhooks", params, options);
  }

  async get(webhookId: string, options?: RequestOptions): Promise<WithResponse<WebhookEndpoint>> {
    return this.core.call<WebhookEndpoint>("GET", `/webhooks/${id(webhookId)}`, options);
  }

  /** Register an endpoint. The result carries the `whsec_…` signing secret: store it, it is shown once. */
  async create(params: WebhookCreateParams, options?: RequestOptions): Promise<WithResponse<WebhookEndpointWithSecret>> {
    return this.core.call<WebhookEndpointWithSecret>("POST", "/webhooks", { ...options, body: params });
  }

  async update(webhookId: string, params: WebhookUpdateParams, options?: RequestOptions): Promise<WithResponse<WebhookEndpoint>> {
    const path = `/webhooks/${id(webhookId)}`;
    return this.core.call<WebhookEndpoint>("PATCH", path, { ...options, body: params });
  }

  async delete(webhookId: string, options?: RequestOptions): Promise<WithResponse<DeletedObject>> {
    return this.core.call<DeletedObject>("DELETE", `/webhooks/${id(webhookId)}`, options);
  }

  /** Send a `webhook.test` event now and return the attempt's outcome. */
  async test(webhookId: string, options?: RequestOptions): Promise<WithResponse<WebhookTestResult>> {
    return this.core.call<WebhookTestResult>("POST", `/webhooks/${id(webhookId)}/test`, options);
  }

  /**
   * Issue a new signing secret. During the overlap (default 24h) each delivery carries two v1
   * signatures, old and new, so receivers can switch without dropping events.
   */
  async rotateSecret(
    webhookId: string,
    params: { overlap?: SecretOverlap } = {},
    options?: RequestOptions,
  ): Promise<WithResponse<WebhookEndpointWithSecret>> {
    const path = `/webhooks/${id(webhookId)}/rotate-secret`;
    return this.core.call<WebhookEndpointWithSecret>("POST", path, { ...options, body: params });
  }

  /** Re-send every failed delivery since `since` (ISO 8601 date-time or a Date). */
  async recover(
    webhookId: string,
    params: { since: string | Date },
    options?: RequestOptions,
  ): Promise<WithResponse<WebhookRecoverResult>> {
    const since = params.since instanceof Date ? params.since.toISOString() : params.since;
    const path = `/webhooks/${id(webhookId)}/recover`;
    return this.core.call<WebhookRecoverResult>("POST", path, { ...options, body: { since } });
  }
}
