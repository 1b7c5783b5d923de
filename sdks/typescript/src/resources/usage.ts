import type { Core, RequestOptions } from "../core.js";
import type { Usage, UsageParams } from "../types.js";

export class UsageResource {
  constructor(private readonly core: Core) {}

  /** Totals and charges by key, metric and day, and this month's free quota. Scope `read:usage`. */
  async get(params: UsageParams = {}, options?: RequestOptions): Promise<Usage> {
    return (await this.core.request<Usage>("GET", "/usage", { ...options, query: { ...params } })).data;
  }
}
