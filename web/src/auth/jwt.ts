import { base64UrlDecode } from "./pkce";

export type JwtClaims = Readonly<Record<string, unknown>>;

/**
 * Reads a JWT's claims without checking its signature. The browser only uses this on an
 * ID token it received straight from the token endpoint over TLS (OpenID Connect Core
 * §3.1.3.7, item 6), to check nonce, issuer and audience; the APIs verify access tokens.
 */
export function decodeJwtClaims(token: string): JwtClaims {
  const parts = token.split(".");
  const payload = parts[1];
  if (parts.length !== 3 || !payload) {
    throw new Error("not a compact JWS");
  }
  const json = new TextDecoder().decode(base64UrlDecode(payload));
  const claims: unknown = JSON.parse(json);
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
    throw new Error("JWT claims are not an object");
  }
  return claims as JwtClaims;
}
