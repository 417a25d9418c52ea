import { randomUrlSafeString } from "../auth/pkce";
import { toProblem, type Problem } from "./problem";
import {
  readMe,
  readUserPage,
  type BroadcastRequest,
  type Me,
  type Page,
  type UserSummary,
} from "./types";

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.code ?? problem.title ?? `HTTP ${problem.status ?? "?"}`);
    this.name = "ApiError";
  }
}

export interface ApiClientOptions {
  baseUrl: string;
  accessToken: () => string | null;
  /** Called on 401 so the app can end the session and ask for a new login. */
  onUnauthorized: (problem: Problem) => void;
  fetchFn?: typeof fetch;
}

export class ApiClient {
  readonly #options: ApiClientOptions;
  readonly #fetch: typeof fetch;

  constructor(options: ApiClientOptions) {
    this.#options = options;
    this.#fetch = options.fetchFn ?? ((input, init) => fetch(input, init));
  }

  async me(): Promise<Me> {
    return readMe(await this.#request("GET", "/api/me"));
  }

  async users(cursor?: string | null): Promise<Page<UserSummary>> {
    const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
    return readUserPage(await this.#request("GET", `/api/admin/users${query}`));
  }

  /** Sends a notice; the idempotency key lets a retried request be recognised as the same. */
  async broadcast(request: BroadcastRequest, idempotencyKey = randomUrlSafeString(16)): Promise<unknown> {
    return this.#request("POST", "/api/broadcasts", request, { "Idempotency-Key": idempotencyKey });
  }

  /** A JSON call of the admin API (`items` pages, 201/200/204 answers); errors as ApiError. */
  async call(method: "GET" | "POST" | "PUT" | "DELETE", path: string, body?: unknown): Promise<unknown> {
    return this.#request(method, path, body);
  }

  async #request(
    method: string,
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<unknown> {
    const headers: Record<string, string> = {
      Accept: "application/json, application/problem+json",
      ...extraHeaders,
    };
    const token = this.#options.accessToken();
    if (token) {
      headers["Authorization"] = `Bearer ${token}`;
    }
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
    }
    let response: Response;
    try {
      response = await this.#fetch(`${this.#options.baseUrl}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch {
      throw new ApiError({ code: "network", status: 0 });
    }
    const text = await response.text();
    let parsed: unknown = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
    }
    if (!response.ok) {
      const problem = toProblem(response.status, parsed);
      if (response.status === 401) {
        problem.code ??= "unauthorized";
        this.#options.onUnauthorized(problem);
      }
      throw new ApiError(problem);
    }
    return parsed;
  }
}
