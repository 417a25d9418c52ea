import { describe, expect, it } from "vitest";
import { base64UrlEncode, codeChallengeS256 } from "./pkce";
import { LoginError, OidcClient } from "./oidc";
import { PENDING_KEY, SESSION_KEY, SessionStore } from "./session";

const ORIGIN = "http://127.0.0.1:5173";
const ISSUER = "http://127.0.0.1:8080/auth";

function memoryStorage() {
  const map = new Map<string, string>();
  return {
    getItem: (key: string) => map.get(key) ?? null,
    setItem: (key: string, value: string) => void map.set(key, value),
    removeItem: (key: string) => void map.delete(key),
    map,
  };
}

function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => base64UrlEncode(new TextEncoder().encode(JSON.stringify(value)));
  return `${part({ alg: "RS256", kid: "k" })}.${part(claims)}.c2ln`;
}

interface Call {
  url: string;
  init: RequestInit | undefined;
}

function setup(tokenAnswer: (body: URLSearchParams) => Response) {
  const storage = memoryStorage();
  const calls: Call[] = [];
  const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    calls.push({ url, init });
    if (url.endsWith("/.well-known/openid-configuration")) {
      return Response.json({
        issuer: ISSUER,
        authorization_endpoint: `${ISSUER}/authorize`,
        token_endpoint: `${ISSUER}/token`,
      });
    }
    return tokenAnswer(new URLSearchParams(String(init?.body)));
  }) as typeof fetch;
  const client = new OidcClient(
    { issuer: `${ORIGIN}/auth`, clientId: "linka-web", scope: "openid profile", redirectUri: `${ORIGIN}/` },
    new SessionStore(storage),
    ORIGIN,
    fetchFn,
  );
  return { client, storage, calls };
}

async function startLogin(client: OidcClient) {
  const url = new URL(await client.authorizationUrl("#/admin"));
  return { url, params: url.searchParams };
}

describe("OidcClient", () => {
  it("sends the browser to the authorize endpoint with PKCE S256, state and nonce, on the app's origin", async () => {
    const { client, storage } = setup(() => new Response(null, { status: 500 }));
    const { url, params } = await startLogin(client);
    const pending = JSON.parse(storage.map.get(PENDING_KEY)!);

    expect(`${url.origin}${url.pathname}`).toBe(`${ORIGIN}/auth/authorize`);
    expect(params.get("response_type")).toBe("code");
    expect(params.get("client_id")).toBe("linka-web");
    expect(params.get("redirect_uri")).toBe(`${ORIGIN}/`);
    expect(params.get("code_challenge_method")).toBe("S256");
    expect(params.get("code_challenge")).toBe(await codeChallengeS256(pending.codeVerifier));
    expect(params.get("state")).toBe(pending.state);
    expect(params.get("nonce")).toBe(pending.nonce);
  });

  it("redeems the code with the verifier and stores the session in the given storage", async () => {
    let sentBody: URLSearchParams | null = null;
    let nonce = "";
    const { client, storage, calls } = setup((body) => {
      sentBody = body;
      return Response.json({
        access_token: "access",
        token_type: "Bearer",
        expires_in: 3600,
        id_token: jwt({ iss: ISSUER, aud: "linka-web", nonce, exp: Math.floor(Date.now() / 1000) + 3600 }),
      });
    });
    const { params } = await startLogin(client);
    nonce = params.get("nonce")!;
    const pending = JSON.parse(storage.map.get(PENDING_KEY)!);

    const callback = new URL(`${ORIGIN}/?code=abc&state=${params.get("state")}`);
    const { session, returnTo } = await client.completeLogin(callback);

    expect(calls.at(-1)?.url).toBe(`${ORIGIN}/auth/token`);
    expect(Object.fromEntries(sentBody!)).toEqual({
      grant_type: "authorization_code",
      code: "abc",
      redirect_uri: `${ORIGIN}/`,
      client_id: "linka-web",
      code_verifier: pending.codeVerifier,
    });
    expect(session.accessToken).toBe("access");
    expect(returnTo).toBe("#/admin");
    expect(JSON.parse(storage.map.get(SESSION_KEY)!).accessToken).toBe("access");
    expect(storage.map.has(PENDING_KEY)).toBe(false);
  });

  it("rejects a callback whose state differs, without calling the token endpoint", async () => {
    const { client, calls } = setup(() => Response.json({}));
    await startLogin(client);
    const before = calls.length;
    const error = await client.completeLogin(new URL(`${ORIGIN}/?code=abc&state=forged`)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoginError);
    expect((error as LoginError).reason).toBe("state");
    expect(calls.length).toBe(before);
  });

  it("rejects an ID token with another nonce and stores nothing", async () => {
    const { client, storage } = setup(() =>
      Response.json({
        access_token: "access",
        token_type: "Bearer",
        expires_in: 3600,
        id_token: jwt({ iss: ISSUER, aud: "linka-web", nonce: "replayed" }),
      }),
    );
    const { params } = await startLogin(client);
    const error = await client
      .completeLogin(new URL(`${ORIGIN}/?code=abc&state=${params.get("state")}`))
      .catch((e: unknown) => e);
    expect((error as LoginError).reason).toBe("nonce");
    expect(storage.map.has(SESSION_KEY)).toBe(false);
  });

  it("reports an error the issuer sent back", async () => {
    const { client } = setup(() => Response.json({}));
    const { params } = await startLogin(client);
    const error = await client
      .completeLogin(new URL(`${ORIGIN}/?error=access_denied&state=${params.get("state")}`))
      .catch((e: unknown) => e);
    expect((error as LoginError).reason).toBe("denied");
    expect((error as LoginError).detail).toBe("access_denied");
  });
});
