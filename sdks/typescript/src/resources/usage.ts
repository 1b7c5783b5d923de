import type { Core, RequestOptions, WithResponse } from "../core.js";
import type { Usage, UsageParams } from "../types.js";

export class UsageResource {
  constructor(private readonly core: Core) {}

  /** Totals and charges by key, metric and day, and this month's free quota. Scope `read:usage`. */
  async get(params: UsageParams = {}, options?: RequestOptions): Promise<WithResponse<Usage>> {
    return this.core.call<Usage>("GET", "/usage", { ...options, query: { ...params } });
  }
}
