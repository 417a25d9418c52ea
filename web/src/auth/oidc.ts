// OpenID Connect login as a public client: authorization code flow with PKCE S256,
// state and nonce (RFC 6749, RFC 7636, OpenID Connect Core 1.0).

import { decodeJwtClaims } from "./jwt";
import { codeChallengeS256, createCodeVerifier, randomUrlSafeString } from "./pkce";
import type { PendingLogin, Session, SessionStore } from "./session";

export interface OidcSettings {
  /** Issuer URL, e.g. `https://linka.example/auth`; discovery is at `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  scope: string;
  redirectUri: string;
}

export interface ProviderMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  end_session_endpoint?: string;
}

export type LoginFailureReason = "state" | "nonce" | "token" | "discovery" | "crypto" | "denied";

export class LoginError extends Error {
  constructor(
    readonly reason: LoginFailureReason,
    readonly detail?: string,
  ) {
    super(detail ? `${reason}: ${detail}` : reason);
    this.name = "LoginError";
  }
}

interface TokenResponse {
  access_token?: unknown;
  token_type?: unknown;
  expires_in?: unknown;
  id_token?: unknown;
}

/** A pending login older than this is not accepted any more. */
const PENDING_MAX_AGE_MS = 10 * 60 * 1000;
/** Clock skew allowed when checking the ID token and margin before the access token ends. */
const SKEW_MS = 30 * 1000;

export class OidcClient {
  #metadata: Promise<ProviderMetadata> | null = null;

  constructor(
    private readonly settings: OidcSettings,
    private readonly store: SessionStore,
    private readonly origin: string,
    private readonly fetchFn: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  /** Loads (once) the provider's discovery document. */
  discover(): Promise<ProviderMetadata> {
    if (!this.#metadata) {
      this.#metadata = this.#loadMetadata().catch((error: unknown) => {
        this.#metadata = null;
        throw error;
      });
    }
    return this.#metadata;
  }

  /** Prepares state, nonce and PKCE verifier and returns the URL to send the browser to. */
  async authorizationUrl(returnTo: string, now = Date.now()): Promise<string> {
    const metadata = await this.discover();
    const codeVerifier = createCodeVerifier();
    let codeChallenge: string;
    try {
      codeChallenge = await codeChallengeS256(codeVerifier);
    } catch (error) {
      throw new LoginError("crypto", String(error));
    }
    const pending: PendingLogin = {
      state: randomUrlSafeString(),
      nonce: randomUrlSafeString(),
      codeVerifier,
      redirectUri: this.settings.redirectUri,
      returnTo,
      createdAt: now,
    };
    this.store.savePending(pending);
    const url = new URL(this.#endpoint(metadata.authorization_endpoint));
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: this.settings.clientId,
      redirect_uri: pending.redirectUri,
      scope: this.settings.scope,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: codeChallenge,
      code_challenge_method: "S256",
    }).toString();
    return url.toString();
  }

  /** True when the URL is the issuer's redirect back to the app. */
  static isCallback(url: URL): boolean {
    return (
      url.searchParams.has("state") &&
      (url.searchParams.has("code") || url.searchParams.has("error"))
    );
  }

  /**
   * Finishes a login from the redirect URL: checks state, redeems the code with the PKCE
   * verifier, checks the ID token's nonce, issuer and audience, and stores the session.
   */
  async completeLogin(
    url: URL,
    now = Date.now(),
  ): Promise<{ session: Session; returnTo: string }> {
    const pending = this.store.takePending();
    const state = url.searchParams.get("state");
    if (!pending || !state || state !== pending.state || now - pending.createdAt > PENDING_MAX_AGE_MS) {
      throw new LoginError("state");
    }
    const error = url.searchParams.get("error");
    if (error) {
      throw new LoginError("denied", error);
    }
    const code = url.searchParams.get("code");
    if (!code) {
      throw new LoginError("token", "no authorization code");
    }

    const metadata = await this.discover();
    const body = new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: pending.redirectUri,
      client_id: this.settings.clientId,
      code_verifier: pending.codeVerifier,
    });
    let tokens: TokenResponse;
    try {
      const response = await this.fetchFn(this.#endpoint(metadata.token_endpoint), {
        method: "POST",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          Accept: "application/json",
        },
        body,
      });
      tokens = (await response.json()) as TokenResponse;
      if (!response.ok) {
        const oauthError = (tokens as { error?: unknown }).error;
        throw new LoginError("token", typeof oauthError === "string" ? oauthError : `HTTP ${response.status}`);
      }
    } catch (caught) {
      throw caught instanceof LoginError ? caught : new LoginError("token", String(caught));
    }

    if (typeof tokens.access_token !== "string" || !tokens.access_token) {
      throw new LoginError("token", "no access_token");
    }
    if (typeof tokens.token_type !== "string" || tokens.token_type.toLowerCase() !== "bearer") {
      throw new LoginError("token", "token_type is not Bearer");
    }
    if (typeof tokens.id_token !== "string") {
      throw new LoginError("nonce", "no id_token");
    }
    this.#checkIdToken(tokens.id_token, metadata, pending.nonce, now);

    const session: Session = {
      accessToken: tokens.access_token,
      idToken: tokens.id_token,
      expiresAt: expiryOf(tokens, now),
    };
    this.store.save(session);
    return { session, returnTo: pending.returnTo };
  }

  #checkIdToken(idToken: string, metadata: ProviderMetadata, nonce: string, now: number): void {
    let claims;
    try {
      claims = decodeJwtClaims(idToken);
    } catch (error) {
      throw new LoginError("nonce", String(error));
    }
    if (claims["nonce"] !== nonce) {
      throw new LoginError("nonce");
    }
    if (claims["iss"] !== metadata.issuer) {
      throw new LoginError("token", "id_token issuer");
    }
    const aud = claims["aud"];
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.includes(this.settings.clientId)) {
      throw new LoginError("token", "id_token audience");
    }
    const exp = claims["exp"];
    if (typeof exp === "number" && exp * 1000 + SKEW_MS < now) {
      throw new LoginError("token", "id_token expired");
    }
  }

  async #loadMetadata(): Promise<ProviderMetadata> {
    const url = `${this.settings.issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
    let document: Partial<ProviderMetadata>;
    try {
      const response = await this.fetchFn(url, { headers: { Accept: "application/json" } });
      if (!response.ok) {
        throw new Error(`HTTP ${response.status}`);
      }
      document = (await response.json()) as Partial<ProviderMetadata>;
    } catch (error) {
      throw new LoginError("discovery", String(error));
    }
    const { issuer, authorization_endpoint, token_endpoint, end_session_endpoint } = document;
    if (
      typeof issuer !== "string" ||
      typeof authorization_endpoint !== "string" ||
      typeof token_endpoint !== "string"
    ) {
      throw new LoginError("discovery", "incomplete discovery document");
    }
    return {
      issuer,
      authorization_endpoint,
      token_endpoint,
      ...(typeof end_session_endpoint === "string" ? { end_session_endpoint } : {}),
    };
  }

  /**
   * When the issuer is mounted on the app's own origin (the gateway serves `/auth/*`), the
   * endpoints are used on that origin too, whatever host name the discovery document was
   * written for (127.0.0.1 vs localhost, the Vite dev server's proxy) — so the token request
   * stays same-origin and needs no CORS.
   */
  #endpoint(endpoint: string): string {
    const issuerUrl = new URL(this.settings.issuer, this.origin);
    if (issuerUrl.origin !== this.origin) {
      return endpoint;
    }
    const url = new URL(endpoint, this.origin);
    return `${this.origin}${url.pathname}${url.search}`;
  }
}

function expiryOf(tokens: TokenResponse, now: number): number {
  if (typeof tokens.expires_in === "number" && tokens.expires_in > 0) {
    return now + tokens.expires_in * 1000 - SKEW_MS;
  }
  try {
    const exp = decodeJwtClaims(String(tokens.access_token))["exp"];
    if (typeof exp === "number") {
      return exp * 1000 - SKEW_MS;
    }
  } catch {
    // An opaque access token: fall back to one hour.
  }
  return now + 60 * 60 * 1000 - SKEW_MS;
}
