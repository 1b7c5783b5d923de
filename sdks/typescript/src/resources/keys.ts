import type { Core, RequestOptions } from "../core.js";
import type { PagePromise } from "../pagination.js";
import type { ApiKey, ApiKeyCreateParams, ApiKeyRotated, ApiKeyWithSecret, GracePeriod, ListParams } from "../types.js";

const id = encodeURIComponent;

export class Keys {
  constructor(private readonly core: Core) {}

  /** Your keys, masked. Scope `read:usage`. */
  list(params: ListParams = {}, options?: RequestOptions): PagePromise<ApiKey, ListParams> {
    return this.core.list<ApiKey, ListParams>("/keys", params, options);
  }

  /** Create a key; the result's `secret` is shown only once. Scope `manage:config`. */
  async create(params: ApiKeyCreateParams, options?: RequestOptions): Promise<ApiKeyWithSecret> {
    return (await this.core.request<ApiKeyWithSecret>("POST", "/keys", { ...options, body: params })).data;
  }

  /** Scope `manage:config`. */
  async revoke(keyId: string, options?: RequestOptions): Promise<ApiKey> {
    return (await this.core.request<ApiKey>("POST", `/keys/${id(keyId)}/revoke`, options)).data;
  }

  /**
   * Issue a replacement with the same name, mode and scopes; the old key keeps working for the
   * grace period so the new one can be rolled out with zero downtime. Scope `manage:config`.
   */
  async rotate(keyId: string, params: { gracePeriod: GracePeriod }, options?: RequestOptions): Promise<ApiKeyRotated> {
    const path = `/keys/${id(keyId)}/rotate`;
    return (await this.core.request<ApiKeyRotated>("POST", path, { ...options, body: params })).data;
  }
}
