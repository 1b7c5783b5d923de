/**
 * Cursor pagination.
 *
 * `list()` returns a `PagePromise`: `await` it for one `Page` in the API's shape
 * (`{ data, pagination: { nextCursor, hasMore, limit } }`), or `for await` over it to walk every
 * item across all pages — the next page is fetched only when the current one is used up.
 */

import type { ResponseInfo } from "./response.js";
import type { ListParams, Pagination } from "./types.js";

export interface PageBody<T> {
  data: T[];
  pagination: Pagination;
  lastResponse?: ResponseInfo;
}

export type PageFetcher<T, P extends ListParams> = (params: P) => Promise<PageBody<T>>;

export class Page<T, P extends ListParams = ListParams> implements AsyncIterable<T> {
  readonly data: T[];
  readonly pagination: Pagination;
  /** The HTTP answer of this page (headers, rate limit, request id); null for a page built by hand. */
  readonly lastResponse: ResponseInfo | null;

  constructor(
    body: PageBody<T>,
    private readonly params: P,
    private readonly fetchPage: PageFetcher<T, P>,
  ) {
    this.data = body.data;
    this.pagination = body.pagination;
    this.lastResponse = body.lastResponse ?? null;
  }

  /** `X-Request-Id` of this page's answer: quote it to support. */
  get requestId(): string | null {
    return this.lastResponse?.requestId ?? null;
  }

  hasNextPage(): boolean {
    return this.pagination.hasMore && !!this.pagination.nextCursor;
  }

  /** The following page, or `null` on the last one. */
  async getNextPage(): Promise<Page<T, P> | null> {
    if (!this.hasNextPage()) return null;
    const params: P = { ...this.params, cursor: this.pagination.nextCursor! };
    return new Page(await this.fetchPage(params), params, this.fetchPage);
  }

  /** Every page from this one on. */
  async *iterPages(): AsyncGenerator<Page<T, P>, void, undefined> {
    let page: Page<T, P> | null = this;
    while (page) {
      yield page;
      page = await page.getNextPage();
    }
  }

  /** Every item from this page on, fetching later pages as needed. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for await (const page of this.iterPages()) {
      yield* page.data;
    }
  }

  toJSON(): { data: T[]; pagination: Pagination } {
    return { data: this.data, pagination: this.pagination };
  }
}

/** A lazily started request for the first page that is both awaitable and async-iterable. */
export class PagePromise<T, P extends ListParams = ListParams> implements PromiseLike<Page<T, P>>, AsyncIterable<T> {
  private promise: Promise<Page<T, P>> | null = null;

  constructor(
    private readonly params: P,
    private readonly fetchPage: PageFetcher<T, P>,
  ) {}

  private load(): Promise<Page<T, P>> {
    this.promise ??= this.fetchPage(this.params).then((body) => new Page(body, this.params, this.fetchPage));
    return this.promise;
  }

  then<R1 = Page<T, P>, R2 = never>(
    onfulfilled?: ((value: Page<T, P>) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.load().then(onfulfilled, onrejected);
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<Page<T, P> | R> {
    return this.load().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<Page<T, P>> {
    return this.load().finally(onfinally);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    const first = await this.load();
    yield* first;
  }

  get [Symbol.toStringTag](): string {
    return "PagePromise";
  }
}
