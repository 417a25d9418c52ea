import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The unit tests cover pure modules (PKCE, i18n, dates, problems, the live connection
    // with a fake socket); node 20 has Web Crypto, TextEncoder and Intl with full ICU.
    environment: "node",
    include: ["src/**/*.test.ts"],
    exclude: ["e2e/**", "node_modules/**", "dist/**"],
  },
});
