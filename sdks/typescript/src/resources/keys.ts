import type { Core, RequestOptions, WithResponse } from "../core.js";
import type { PagePromise } from "../pagination.js";
import type { ApiKey, ApiKeyCreateParams, ApiKeyRotated, ApiKeyWithSecret, GracePeriod, ListParams } from "../types.js";

const id = encodeURIComponent;

export class Keys {
  constructor(private readonly core: Core) {}

  /** Your keys, masked. Scope `read:usage`. */
  list(params: ListParams = {}, options?: RequestOptions): PagePromise<ApiKey, ListParams> {
    return this.core.list<ApiKey, ListParams>("/keys", params, options);
  }

  /** One key, masked as in the list (`GET /keys/{id}`): the secret is never shown again. Scope `read:usage`. */
  async get(keyId: string, options?: RequestOptions): Promise<WithResponse<ApiKey>> {
    return this.core.call<ApiKey>("GET", `/keys/${id(keyId)}`, options);
  }

  /** Create a key; the result's `secret` is shown only once. Scope `manage:config`. */
  async create(params: ApiKeyCreateParams, options?: RequestOptions): Promise<WithResponse<ApiKeyWithSecret>> {
    return this.core.call<ApiKeyWithSecret>("POST", "/keys", { ...options, body: params });
  }

  /** Scope `manage:config`. */
  async revoke(keyId: string, options?: RequestOptions): Promise<WithResponse<ApiKey>> {
    return this.core.call<ApiKey>("POST", `/keys/${id(keyId)}/revoke`, options);
  }

  /**
   * Issue a replacement with the same name, mode and scopes; the old key keeps working for the
   * grace period so the new one can be rolled out with zero downtime. Scope `manage:config`.
   */
  async rotate(keyId: string, params: { gracePeriod: GracePeriod }, options?: RequestOptions): Promise<WithResponse<ApiKeyRotated>> {
    const path = `/keys/${id(keyId)}/rotate`;
    return this.core.call<ApiKeyRotated>("POST", path, { ...options, body: params });
  }
}
