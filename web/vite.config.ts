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
      rollupOptions: {
        // The app, and the embeddable chat widget (issue 7) with its demo page. The widget's
        // script has a stable name: insurers' pages load it as /linka-widget.js.
        input: { main: "index.html", widget: "widget.html" },
        output: {
          entryFileNames: (chunk) => (chunk.name === "widget" ? "linka-widget.js" : "assets/[name]-[hash].js"),
        },
      },
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
