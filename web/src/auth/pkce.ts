// PKCE (RFC 7636) with the S256 method, on the browser's Web Crypto.

/** base64url without padding (RFC 4648 §5), as PKCE, JWTs and OAuth use. */
export function base64UrlEncode(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) {
    binary += String.fromCharCode(byte);
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function base64UrlDecode(text: string): Uint8Array {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) {
    bytes[i] = binary.charCodeAt(i);
  }
  return bytes;
}

/** A random, URL-safe string from `byteLength` random bytes (32 bytes → 43 characters). */
export function randomUrlSafeString(byteLength = 32): string {
  const bytes = new Uint8Array(byteLength);
  crypto.getRandomValues(bytes);
  return base64UrlEncode(bytes);
}

/** A code verifier: 43–128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1). */
export function createCodeVerifier(): string {
  return randomUrlSafeString(32);
}

/** code_challenge = BASE64URL(SHA256(ASCII(code_verifier))) (RFC 7636 §4.2). */
export async function codeChallengeS256(codeVerifier: string): Promise<string> {
  if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(codeVerifier)) {
    throw new RangeError("A PKCE code verifier has 43 to 128 unreserved characters");
  }
  if (!globalThis.crypto?.subtle) {
    throw new Error("Web Crypto is not available (a secure context is required)");
  }
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(codeVerifier));
  return base64UrlEncode(new Uint8Array(digest));
}
