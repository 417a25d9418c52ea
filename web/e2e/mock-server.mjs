#!/usr/bin/env node
// A stand-in for the Linka dev gateway, for developing and testing the web app without the
// Rust stack. It imitates, per the shared contract:
//   /                      web/dist (static files)
//   /auth/*                the local OpenID issuer: discovery, JWKS, a Czech login form at
//                          /auth/authorize, /auth/token (authorization_code + PKCE S256,
//                          password, client_credentials), /auth/userinfo
//   /api/health            200 when ready
//   /api/me, POST /api/broadcasts (RFC 9457 problems)
//   /api/admin/*           users, queues (+ members), break codes, call categories, transfer
//                          panel, client fields, e-mail templates, ICIS link, chat settings,
//                          audit log, IVR trees, routing settings, the routing plan and PBX
//                          devices: see mock-admin.mjs
//   /api/callbacks*, /api/voicemails*  callbacks and voicemail (in memory), recordings at
//                          /mock-recordings/{id}.wav: see mock-callbacks.mjs
//   /api/desk*, /api/clients*, /api/client-fields, /api/contacts/*  the agent desk (in memory),
//                          pushes desk/presence/contact over /ws: see mock-desk.mjs
//   /ws?token=…            WebSocket: {"action":"ping"} → {"type":"pong"}; broadcasts as
//                          {"type":"broadcast",id,text,severity,sentBy,sentAt}
// Broadcasts are delivered twice on purpose (the real path is at-least-once): the app must
// show each once. Set MOCK_DUPLICATE_BROADCASTS=0 to deliver once.
//
// Usage: node e2e/mock-server.mjs [--port 8080] [--dist dist] [--identities ../localstack/identities.json]
// Prints "mock-server listening on http://127.0.0.1:<port>" once it accepts connections.

import { createHash, generateKeyPairSync, randomBytes, randomUUID, sign, verify } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { createServer } from "node:http";
import { dirname, extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { WebSocketServer } from "ws";
import { createAdminApi } from "./mock-admin.mjs";
import { createCallbacksApi } from "./mock-callbacks.mjs";
import { createDeskApi } from "./mock-desk.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: process.env.PORT ?? "8080" },
    host: { type: "string", default: "127.0.0.1" },
    dist: { type: "string", default: resolve(here, "..", "dist") },
    identities: {
      type: "string",
      default: process.env.LINKA_IDENTITIES ?? resolve(here, "..", "..", "localstack", "identities.json"),
    },
    "token-lifetime": { type: "string", default: "3600" },
  },
});

const DIST = resolve(args.dist);
const TOKEN_LIFETIME_S = Number(args["token-lifetime"]);
const AUDIENCE = "linka-api";
const DUPLICATE_BROADCASTS = process.env.MOCK_DUPLICATE_BROADCASTS !== "0";
const MAX_NOTICE_LENGTH = 500;
const SEVERITIES = ["info", "warning", "critical"];

// ---- identities --------------------------------------------------------------------------

// Used when localstack/identities.json is not beside web/ (e.g. web/ copied alone).
const FALLBACK_IDENTITIES = {
  users: [
    {"username": "admin", "name": "Alena Správcová", "roles": ["admin"], "groups": ["KKC", "AS"], "email": "admin@linka.local"},
    {"username": "supervisor", "name": "Pavel Dohledal", "roles": ["supervisor", "recording-listen", "recording-download", "queues", "callbacks"], "groups": ["KKC", "AS"], "email": "supervisor@linka.local"},
    {"username": "agent01", "name": "Jana Nováková", "roles": ["agent"], "groups": ["KKC"], "email": "agent01@linka.local", "agentNumber": "2001", "mobile": {"device": "2901", "number": "+420601000001"}},
    {"username": "agent02", "name": "Petr Svoboda", "roles": ["agent"], "groups": ["KKC"], "email": "agent02@linka.local", "agentNumber": "2002", "mobile": {"device": "2902", "number": "+420601000002"}},
    {"username": "agent03", "name": "Lucie Dvořáková", "roles": ["agent"], "groups": ["KKC"], "email": "agent03@linka.local", "agentNumber": "2003", "mobile": {"device": "2903", "number": "+420601000003"}},
    {"username": "agent04", "name": "Tomáš Černý", "roles": ["agent"], "groups": ["KKC"], "email": "agent04@linka.local", "agentNumber": "2004", "mobile": {"device": "2904", "number": "+420601000004"}},
    {"username": "agent05", "name": "Eva Procházková", "roles": ["agent"], "groups": ["KKC"], "email": "agent05@linka.local", "agentNumber": "2005", "mobile": {"device": "2905", "number": "+420601000005"}},
    {"username": "agent06", "name": "Martin Kučera", "roles": ["agent"], "groups": ["AS"], "email": "agent06@linka.local", "agentNumber": "2006", "mobile": {"device": "2906", "number": "+420601000006"}},
    {"username": "agent07", "name": "Kateřina Veselá", "roles": ["agent"], "groups": ["AS"], "email": "agent07@linka.local", "agentNumber": "2007", "mobile": {"device": "2907", "number": "+420601000007"}},
    {"username": "agent08", "name": "Jiří Horák", "roles": ["agent"], "groups": ["AS"], "email": "agent08@linka.local", "agentNumber": "2008", "mobile": {"device": "2908", "number": "+420601000008"}},
    {"username": "agent09", "name": "Tereza Němcová", "roles": ["agent"], "groups": ["EXT"], "email": "agent09@linka.local", "agentNumber": "2009", "mobile": {"device": "2909", "number": "+420601000009"}},
    {"username": "agent10", "name": "Lukáš Marek", "roles": ["agent"], "groups": ["EXT"], "email": "agent10@linka.local", "agentNumber": "2010", "mobile": {"device": "2910", "number": "+420601000010"}},
    {"username": "wallboard", "name": "Nástěnka", "roles": ["wallboard"], "groups": [], "email": null},
  ],
  clients: [
    { clientId: "linka-web", public: true, redirectUris: ["http://127.0.0.1:8080/", "http://localhost:8080/", "http://127.0.0.1:5173/", "http://localhost:5173/"] },
    { clientId: "icis", public: false, roles: ["icis"] },
    { clientId: "chatbot", public: false, roles: ["chatbot"] },
  ],
};

const identities = existsSync(args.identities)
  ? JSON.parse(readFileSync(args.identities, "utf8"))
  : FALLBACK_IDENTITIES;
const users = new Map(identities.users.map((user) => [user.username, user]));
const clients = new Map(identities.clients.map((client) => [client.clientId, client]));

// ---- keys and tokens ---------------------------------------------------------------------

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const KID = `mock-${randomBytes(4).toString("hex")}`;
const jwk = { ...publicKey.export({ format: "jwk" }), kid: KID, alg: "RS256", use: "sig" };

const b64url = (buffer) => Buffer.from(buffer).toString("base64url");

function signJwt(claims) {
  const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: KID }));
  const payload = b64url(JSON.stringify(claims));
  const signature = sign("sha256", Buffer.from(`${header}.${payload}`), privateKey);
  return `${header}.${payload}.${b64url(signature)}`;
}

/** Returns the claims of a valid access token, or null. */
function verifyAccessToken(token) {
  const parts = String(token ?? "").split(".");
  if (parts.length !== 3) return null;
  const [header, payload, signature] = parts;
  try {
    const head = JSON.parse(Buffer.from(header, "base64url").toString("utf8"));
    if (head.alg !== "RS256" || head.kid !== KID) return null;
    if (!verify("sha256", Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, "base64url"))) {
      return null;
    }
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    const now = Math.floor(Date.now() / 1000);
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (claims.iss !== issuer() || !audiences.includes(AUDIENCE)) return null;
    if (typeof claims.exp !== "number" || claims.exp + 30 < now) return null;
    if (typeof claims.nbf === "number" && claims.nbf - 30 > now) return null;
    return claims;
  } catch {
    return null;
  }
}

function issueTokens({ user, clientId, nonce, machine }) {
  const now = Math.floor(Date.now() / 1000);
  const subject = user ? user.username : clientId;
  const access = {
    iss: issuer(),
    aud: AUDIENCE,
    sub: subject,
    exp: now + TOKEN_LIFETIME_S,
    nbf: now,
    iat: now,
    jti: randomUUID(),
    preferred_username: subject,
    name: user ? user.name : machine?.name ?? clientId,
    roles: user ? user.roles : machine?.roles ?? [],
    azp: clientId,
  };
  const response = { access_token: signJwt(access), token_type: "Bearer", expires_in: TOKEN_LIFETIME_S };
  if (user) {
    response.id_token = signJwt({
      iss: issuer(),
      aud: clientId,
      sub: subject,
      exp: now + TOKEN_LIFETIME_S,
      iat: now,
      auth_time: now,
      preferred_username: subject,
      name: user.name,
      ...(nonce ? { nonce } : {}),
    });
  }
  return response;
}

// ---- HTTP helpers ------------------------------------------------------------------------

let port = 0;
const issuer = () => `http://127.0.0.1:${port}/auth`;

function send(res, status, body, headers = {}) {
  const isText = typeof body === "string";
  res.writeHead(status, {
    "Content-Type": isText ? "text/html; charset=utf-8" : "application/json",
    "Cache-Control": "no-store",
    ...headers,
  });
  res.end(isText ? body : JSON.stringify(body));
}

const PROBLEM_TITLES = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
};

function problem(res, status, code, detail, extra = {}) {
  const headers = { "Content-Type": "application/problem+json" };
  if (status === 401) headers["WWW-Authenticate"] = 'Bearer error="invalid_token"';
  res.writeHead(status, { "Cache-Control": "no-store", ...headers });
  res.end(
    JSON.stringify({
      type: `https://linka.example/problems/${code}`,
      title: PROBLEM_TITLES[status] ?? "Error",
      status,
      detail,
      code,
      ...extra,
    }),
  );
}

function oauthError(res, status, error, description) {
  send(res, status, { error, error_description: description });
}

async function readBody(req, limit = 64 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new Error("body too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

const escapeHtml = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

// ---- issuer ------------------------------------------------------------------------------

const codes = new Map(); // code → { clientId, redirectUri, codeChallenge, nonce, username, expiresAt }

function redirectUriAllowed(client, redirectUri) {
  const own = `http://127.0.0.1:${port}/`;
  return [...(client.redirectUris ?? []), own].some((allowed) => redirectUri.startsWith(allowed));
}

function loginPage(params, errorText) {
  const hidden = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
  ]
    .filter((name) => params.get(name) !== null)
    .map((name) => `<input type="hidden" name="${name}" value="${escapeHtml(params.get(name))}">`)
    .join("\n      ");
  return `<!doctype html>
<html lang="cs">
  <head><meta charset="utf-8"><title>Přihlášení — Linka</title>
  <style>body{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto}label,input,button{display:block;width:100%;margin:.3rem 0}.error{color:#b42318}</style></head>
  <body>
    <h1>Přihlášení do Linky</h1>
    ${errorText ? `<p class="error" role="alert">${escapeHtml(errorText)}</p>` : ""}
    <form method="post" action="/auth/authorize">
      ${hidden}
      <label for="username">Uživatelské jméno</label>
      <input id="username" name="username" autocomplete="username" required autofocus>
      <label for="password">Heslo</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required>
      <button type="submit">Přihlásit se</button>
    </form>
  </body>
</html>`;
}

/** Validates an authorization request; returns an error text to show, or null. */
function checkAuthorizeParams(params) {
  const client = clients.get(params.get("client_id") ?? "");
  if (!client || !client.public) return "Neznámá aplikace (client_id).";
  const redirectUri = params.get("redirect_uri") ?? "";
  if (!redirectUriAllowed(client, redirectUri)) return "Nepovolená adresa pro návrat (redirect_uri).";
  if (params.get("response_type") !== "code") return "Podporován je jen response_type=code.";
  if (params.get("code_challenge_method") !== "S256" || !params.get("code_challenge")) {
    return "Chybí PKCE (code_challenge, S256).";
  }
  return null;
}

async function handleAuth(req, res, url) {
  const path = url.pathname;
  if (path === "/auth/.well-known/openid-configuration" && req.method === "GET") {
    return send(res, 200, {
      issuer: issuer(),
      authorization_endpoint: `${issuer()}/authorize`,
      token_endpoint: `${issuer()}/token`,
      userinfo_endpoint: `${issuer()}/userinfo`,
      jwks_uri: `${issuer()}/jwks.json`,
      response_types_supported: ["code"],
      grant_types_supported: ["authorization_code", "client_credentials", "password"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
      code_challenge_methods_supported: ["S256"],
      token_endpoint_auth_methods_supported: ["none", "client_secret_post", "client_secret_basic"],
      scopes_supported: ["openid", "profile"],
    });
  }
  if (path === "/auth/jwks.json" && req.method === "GET") {
    return send(res, 200, { keys: [jwk] });
  }
  if (path === "/auth/authorize" && req.method === "GET") {
    const error = checkAuthorizeParams(url.searchParams);
    return send(res, error ? 400 : 200, loginPage(url.searchParams, error));
  }
  if (path === "/auth/authorize" && req.method === "POST") {
    const form = new URLSearchParams(await readBody(req));
    const error = checkAuthorizeParams(form);
    if (error) return send(res, 400, loginPage(form, error));
    const user = users.get(form.get("username") ?? "");
    if (!user || form.get("password") !== user.username) {
      return send(res, 401, loginPage(form, "Neplatné uživatelské jméno nebo heslo."));
    }
    const code = b64url(randomBytes(24));
    codes.set(code, {
      clientId: form.get("client_id"),
      redirectUri: form.get("redirect_uri"),
      codeChallenge: form.get("code_challenge"),
      nonce: form.get("nonce"),
      username: user.username,
      expiresAt: Date.now() + 60_000,
    });
    const target = new URL(form.get("redirect_uri"));
    target.searchParams.set("code", code);
    if (form.get("state") !== null) target.searchParams.set("state", form.get("state"));
    res.writeHead(302, { Location: target.toString(), "Cache-Control": "no-store" });
    return res.end();
  }
  if (path === "/auth/token" && req.method === "POST") {
    const form = new URLSearchParams(await readBody(req));
    const grant = form.get("grant_type");
    if (grant === "authorization_code") {
      const entry = codes.get(form.get("code") ?? "");
      codes.delete(form.get("code") ?? "");
      if (!entry || entry.expiresAt < Date.now()) return oauthError(res, 400, "invalid_grant", "unknown or expired code");
      if (form.get("client_id") !== entry.clientId) return oauthError(res, 400, "invalid_grant", "client_id mismatch");
      if (form.get("redirect_uri") !== entry.redirectUri) return oauthError(res, 400, "invalid_grant", "redirect_uri mismatch");
      const verifier = form.get("code_verifier") ?? "";
      if (createHash("sha256").update(verifier, "ascii").digest("base64url") !== entry.codeChallenge) {
        return oauthError(res, 400, "invalid_grant", "PKCE verification failed");
      }
      return send(res, 200, issueTokens({ user: users.get(entry.username), clientId: entry.clientId, nonce: entry.nonce }));
    }
    if (grant === "password") {
      const user = users.get(form.get("username") ?? "");
      if (!user || form.get("password") !== user.username) return oauthError(res, 400, "invalid_grant", "bad credentials");
      return send(res, 200, issueTokens({ user, clientId: form.get("client_id") ?? "linka-web" }));
    }
    if (grant === "client_credentials") {
      let id = form.get("client_id");
      let secret = form.get("client_secret");
      const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? "");
      if (basic) [id, secret] = Buffer.from(basic[1], "base64").toString("utf8").split(":");
      const client = clients.get(id ?? "");
      if (!client || client.public || secret !== `${client.clientId}-secret`) {
        return oauthError(res, 401, "invalid_client", "unknown client or bad secret");
      }
      return send(res, 200, issueTokens({ clientId: client.clientId, machine: client }));
    }
    return oauthError(res, 400, "unsupported_grant_type", String(grant));
  }
  if (path === "/auth/userinfo" && req.method === "GET") {
    const claims = verifyAccessToken(bearer(req));
    if (!claims) return send(res, 401, { error: "invalid_token" }, { "WWW-Authenticate": 'Bearer error="invalid_token"' });
    return send(res, 200, { sub: claims.sub, preferred_username: claims.preferred_username, name: claims.name, roles: claims.roles });
  }
  return send(res, 404, { message: "Not Found" });
}

// ---- API ---------------------------------------------------------------------------------

function bearer(req) {
  const match = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "");
  return match ? match[1] : null;
}

function userView(user) {
  return {
    username: user.username,
    name: user.name,
    roles: user.roles,
    groups: user.groups ?? [],
    ...(user.email ? { email: user.email } : {}),
    ...(user.agentNumber ? { agentNumber: user.agentNumber } : {}),
    active: true,
  };
}

const sentByKey = new Map(); // idempotency key → broadcast
const admin = createAdminApi({ users, send, problem, readBody });
// /api/callbacks*, /api/voicemails* and the recordings behind their playback URLs: mock-callbacks.mjs
const callbackApi = createCallbacksApi({ send, problem, readBody });
// The agent desk: mock-desk.mjs (pushes to one user's sockets, or to all with username null).
const deskApi = createDeskApi({
  send,
  problem,
  readBody,
  users,
  mailTemplates: () => admin.mailTemplates(),
  push: (username, message) => {
    const text = JSON.stringify(message);
    for (const client of wss.clients) {
      if (client.readyState === 1 && (username === null || client.username === username)) client.send(text);
    }
  },
  dropSockets: () => {
    for (const client of wss.clients) client.terminate();
  },
});

async function handleApi(req, res, url) {
  const path = url.pathname;
  if (path === "/api/health") return send(res, 200, { status: "ok" });
  const isAdmin = path.startsWith("/api/admin/");
  const isCallbacks = callbackApi.owns(path);
  const isDesk = deskApi.owns(path);
  const known = (req.method === "GET" && path === "/api/me") || (req.method === "POST" && path === "/api/broadcasts") || isAdmin || isCallbacks || isDesk;
  if (!known) return send(res, 404, { message: "Not Found" });

  const claims = verifyAccessToken(bearer(req));
  if (!claims) return problem(res, 401, "unauthorized", "A valid bearer token is required.");
  const roles = new Set(claims.roles ?? []);

  if (path === "/api/me") {
    const user = users.get(claims.preferred_username);
    send(
      res,
      200,
      user ? userView(user) : { username: claims.preferred_username, name: claims.name, roles: claims.roles ?? [], groups: [] },
    );
    return admin.record(claims, "me.read", undefined, 200);
  }
  if (isAdmin) {
    if (!roles.has("admin")) {
      problem(res, 403, "forbidden", "The role admin is required.");
      return admin.record(claims, `${req.method} ${path}`, undefined, 403);
    }
    if (await admin.handle(req, res, url, claims)) return;
    if (!res.headersSent) return send(res, 404, { message: "Not Found" });
    return;
  }
  if (isCallbacks) return callbackApi.handle(req, res, url, claims);
  if (isDesk) return deskApi.handle(req, res, url, claims);
  if (path === "/api/broadcasts") {
    if (!roles.has("supervisor") && !roles.has("admin")) {
      return problem(res, 403, "forbidden", "The role supervisor or admin is required.");
    }
    if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) {
      return problem(res, 415, "unsupported-media-type", "Send application/json.");
    }
    let body;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return problem(res, 400, "bad-request", "The body is not JSON.");
    }
    const errors = [];
    const text = typeof body?.text === "string" ? body.text.trim() : "";
    if (!text) errors.push({ field: "text", message: "must not be empty" });
    if (text.length > MAX_NOTICE_LENGTH) errors.push({ field: "text", message: `at most ${MAX_NOTICE_LENGTH} characters` });
    if (!SEVERITIES.includes(body?.severity)) errors.push({ field: "severity", message: `one of ${SEVERITIES.join(", ")}` });
    if (errors.length) return problem(res, 422, "validation-failed", "The notice is not valid.", { errors });

    const key = req.headers["idempotency-key"];
    if (key && sentByKey.has(`${claims.sub}:${key}`)) return send(res, 202, sentByKey.get(`${claims.sub}:${key}`));
    const broadcast = {
      id: randomUUID(),
      text,
      severity: body.severity,
      sentBy: claims.name ?? claims.preferred_username,
      sentAt: new Date().toISOString(),
    };
    if (key) sentByKey.set(`${claims.sub}:${key}`, broadcast);
    fanOut(broadcast);
    send(res, 202, broadcast);
    return admin.record(claims, "broadcast.send", broadcast.id, 202);
  }
  return send(res, 404, { message: "Not Found" });
}

// ---- WebSocket ---------------------------------------------------------------------------

const wss = new WebSocketServer({ noServer: true });

function fanOut(broadcast) {
  const message = JSON.stringify({ type: "broadcast", ...broadcast });
  for (const client of wss.clients) {
    if (client.readyState === 1) {
      client.send(message);
      if (DUPLICATE_BROADCASTS) setTimeout(() => client.readyState === 1 && client.send(message), 50);
    }
  }
}

wss.on("connection", (socket) => {
  socket.on("message", (data) => {
    let message;
    try {
      message = JSON.parse(String(data));
    } catch {
      return socket.send(JSON.stringify({ type: "error", code: "bad-request" }));
    }
    if (message?.action === "ping") socket.send(JSON.stringify({ type: "pong" }));
  });
});

// ---- static files ------------------------------------------------------------------------

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".map": "application/json",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
};

async function serveStatic(req, res, url) {
  if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, { message: "Method Not Allowed" });
  const relative = url.pathname === "/" ? "index.html" : decodeURIComponent(url.pathname).replace(/^\/+/, "");
  const file = normalize(join(DIST, relative));
  if (file !== DIST && !file.startsWith(DIST + sep)) return send(res, 404, { message: "Not Found" });
  try {
    if (!(await stat(file)).isFile()) throw new Error("not a file");
    const content = await readFile(file);
    res.writeHead(200, {
      "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
      "Cache-Control": relative.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache",
    });
    return res.end(req.method === "HEAD" ? undefined : content);
  } catch {
    return send(res, 404, { message: "Not Found" });
  }
}

// ---- server ------------------------------------------------------------------------------

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "127.0.0.1"}`);
  try {
    if (url.pathname.startsWith("/auth/")) return await handleAuth(req, res, url);
    if (url.pathname.startsWith("/api/")) return await handleApi(req, res, url);
    if (url.pathname.startsWith("/mock-recordings/")) return callbackApi.serveRecording(req, res, url);
    if (url.pathname.startsWith("/mock-attachments/")) return deskApi.serveAttachment(req, res, url);
    return await serveStatic(req, res, url);
  } catch (error) {
    console.error("mock-server:", error);
    if (!res.headersSent) problem(res, 500, "internal", "Mock server error.");
    else res.end();
  }
});

server.on("upgrade", (req, socket, head) => {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  if (url.pathname !== "/ws") {
    socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
    return;
  }
  const claims = verifyAccessToken(url.searchParams.get("token"));
  if (!claims) {
    socket.end("HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.username = claims.preferred_username; // whose desk pushes this socket gets
    wss.emit("connection", ws, req);
  });
});

server.listen(Number(args.port), args.host, () => {
  port = server.address().port;
  if (!existsSync(join(DIST, "index.html"))) {
    console.error(`mock-server: ${DIST}/index.html is missing; run \`npm run build\` first`);
  }
  console.log(`mock-server listening on http://127.0.0.1:${port}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const client of wss.clients) client.terminate();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
