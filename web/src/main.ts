import "./styles.css";
import { App } from "./app";
import { OidcClient } from "./auth/oidc";
import { SessionStore } from "./auth/session";
import { I18n } from "./i18n";

// Build-time settings (Vite env): where the OpenID issuer is and which client id this app
// has there. Locally the gateway mounts the issuer on the same origin at /auth.
const issuer = import.meta.env["VITE_AUTH_ISSUER"] || `${window.location.origin}/auth`;
const clientId = import.meta.env["VITE_AUTH_CLIENT_ID"] || "linka-web";

const root = document.getElementById("app");
if (!root) {
  throw new Error("index.html has no #app element");
}

const i18n = new I18n(window.localStorage, document.documentElement);
const store = new SessionStore(window.sessionStorage);
const oidc = new OidcClient(
  {
    issuer,
    clientId,
    scope: "openid profile",
    redirectUri: `${window.location.origin}/`,
  },
  store,
  window.location.origin,
);

void new App({ root, i18n, store, oidc, window }).start();
