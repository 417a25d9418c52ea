#!/usr/bin/env node
// Starts the mock server on a free port, runs the browser tests against it, stops it.
// Needs web/dist (npm run build). Usage: npm run test:e2e:mock [-- word…]

import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const web = resolve(here, "..");
if (!existsSync(join(web, "dist", "index.html"))) {
  console.error("web/dist is missing: run `npm run build` first");
  process.exit(1);
}

const mock = spawn(process.execPath, [join(here, "mock-server.mjs"), "--port", "0"], {
  cwd: web,
  stdio: ["ignore", "pipe", "inherit"],
});
const baseUrl = await new Promise((resolveUrl, reject) => {
  let output = "";
  const timer = setTimeout(() => reject(new Error("mock server did not start within 10 s")), 10_000);
  mock.stdout.on("data", (chunk) => {
    output += chunk;
    const match = /listening on (http:\/\/\S+)/.exec(output);
    if (match) {
      clearTimeout(timer);
      resolveUrl(match[1]);
    }
  });
  mock.on("exit", (code) => reject(new Error(`mock server exited with ${code}`)));
});

// `npm run test:e2e:mock -- chat` runs only the files whose names contain one of the words.
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((name) => name.endsWith(".test.mjs"))
  .filter((name) => only.length === 0 || only.some((word) => name.includes(word)))
  .map((name) => join(here, name));
const tests = spawn(process.execPath, ["--test", "--test-concurrency=1", ...files], {
  cwd: web,
  stdio: "inherit",
  env: { ...process.env, BASE_URL: baseUrl },
});
const code = await new Promise((resolveCode) => tests.on("exit", (exitCode, signal) => resolveCode(exitCode ?? (signal ? 1 : 0))));
mock.kill("SIGTERM");
process.exit(code);
