import type { Core, RequestOptions } from "../core.js";
import type { AiConfig, AiConfigUpdateParams } from "../types.js";

export class Config {
  constructor(private readonly core: Core) {}

  /** The curated AI configuration. Scope `read:usage`. */
  async get(options?: RequestOptions): Promise<AiConfig> {
    return (await this.core.request<AiConfig>("GET", "/config", options)).data;
  }

  /** Update the safe subset; sensitive or unknown fields are refused with VALIDATION_ERROR. Scope `manage:config`. */
  async update(params: AiConfigUpdateParams, options?: RequestOptions): Promise<AiConfig> {
    return (await this.core.request<AiConfig>("PATCH", "/config", { ...options, body: params })).data;
  }
}
