import type { Core, RequestOptions, WithResponse } from "../core.js";
import type { PagePromise } from "../pagination.js";
import type { KnowledgeBase, ListParams } from "../types.js";

const id = encodeURIComponent;

/** The business's knowledge bases (issue 18): read-only, shared by both modes. */
export class KnowledgeBases {
  constructor(private readonly core: Core) {}

  /** Newest first; the ids an agent's `knowledgeBaseIds` takes. Scope `manage:agents`. */
  list(params: ListParams = {}, options?: RequestOptions): PagePromise<KnowledgeBase, ListParams> {
    return this.core.list<KnowledgeBase, ListParams>("/knowledge-bases", params, options);
  }

  /** Scope `manage:agents`. */
  async get(knowledgeBaseId: string, options?: RequestOptions): Promise<WithResponse<KnowledgeBase>> {
    return this.core.call<KnowledgeBase>("GET", `/knowledge-bases/${id(knowledgeBaseId)}`, options);
  }
}
