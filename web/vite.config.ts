import { defineConfig, loadEnv } from "vite";

// `npm run dev` serves the app on :5173 and forwards the API, the WebSocket and the local
// OpenID issuer to the running stack (the dev gateway on :8080 unless LINKA_API_URL says
// otherwise), so the app always talks to one origin, as it does behind the gateway.
export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, ".", "LINKA_");
  const target = env.LINKA_API_URL ?? "http://127.0.0.1:8080";
  return {
    build: {
      outDir: "dist",
      emptyOutDir: true,
      sourcemap: true,
    },
    server: {
      host: "127.0.0.1",
      port: 5173,
      strictPort: true,
      proxy: {
        "/auth": { target, changeOrigin: false },
        "/api": { target, changeOrigin: false },
        "/ws": { target, ws: true, changeOrigin: false },
      },
    },
    preview: {
      host: "127.0.0.1",
      port: 4173,
    },
  };
});
