import { describe, expect, it } from "vitest";
import { base64UrlDecode, base64UrlEncode, codeChallengeS256, createCodeVerifier } from "./pkce";

// RFC 7636, Appendix B: "Example for the S256 code_challenge_method".
const APPENDIX_B_OCTETS = [
  116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191, 240,
  91, 88, 5, 88, 83, 132, 141, 121,
];
const APPENDIX_B_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const APPENDIX_B_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

describe("PKCE S256", () => {
  it("encodes the appendix B octets to the appendix B code verifier", () => {
    expect(base64UrlEncode(new Uint8Array(APPENDIX_B_OCTETS))).toBe(APPENDIX_B_VERIFIER);
    expect(Array.from(base64UrlDecode(APPENDIX_B_VERIFIER))).toEqual(APPENDIX_B_OCTETS);
  });

  it("derives the appendix B code challenge from the appendix B verifier", async () => {
    await expect(codeChallengeS256(APPENDIX_B_VERIFIER)).resolves.toBe(APPENDIX_B_CHALLENGE);
  });

  it("creates verifiers of 43 unreserved characters that differ each time", () => {
    const first = createCodeVerifier();
    const second = createCodeVerifier();
    expect(first).toMatch(/^[A-Za-z0-9\-._~]{43}$/);
    expect(second).not.toBe(first);
  });

  it("refuses a verifier shorter than 43 characters", async () => {
    await expect(codeChallengeS256("too-short")).rejects.toThrow(RangeError);
  });
});
