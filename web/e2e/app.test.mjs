// Browser tests of the web app against a running stack: BASE_URL (default
// http://127.0.0.1:8080, the dev gateway), or the mock server (npm run test:e2e:mock).
// Run: npm run test:e2e

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BASE_URL, login, navLabels, useBrowser, waitForLive } from "./helpers.mjs";

const TEST_TIMEOUT_MS = 90_000;

describe(`Linka web app at ${BASE_URL}`, () => {
  const open = useBrowser();

  test("agent logs in and sees own name and no admin menu", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await open();
    await login(page, "agent01");

    assert.equal(await page.getByTestId("user-name").textContent(), "Jana Nováková");
    assert.equal(await page.getByTestId("user-roles").textContent(), "operátor");
    assert.equal(await page.locator("html").getAttribute("lang"), "cs");
    const nav = await navLabels(page);
    assert.deepEqual(nav, ["Přehled", "Pracoviště", "Zpětná volání", "Hlasová schránka"]);
    assert.ok(!nav.includes("Administrace"));
    assert.equal(await page.getByTestId("overview-username").textContent(), "agent01");
    // The session is in sessionStorage, never in localStorage.
    const stored = await page.evaluate(() => ({
      session: sessionStorage.getItem("linka.auth.session"),
      local: JSON.stringify(localStorage),
    }));
    assert.ok(stored.session && JSON.parse(stored.session).accessToken, "access token in sessionStorage");
    assert.ok(!stored.local.includes("accessToken"), "no token in localStorage");
    // Typing the admin page's address shows a refusal, not the page.
    await page.goto(`${BASE_URL}/#/admin`);
    await page.getByTestId("page-forbidden").waitFor();
    assert.equal(await page.getByTestId("users-table").count(), 0);
    assert.deepEqual(errors, []);
  });

  test("admin logs in and sees the user list in Czech", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await open();
    await login(page, "admin");

    assert.equal(await page.getByTestId("user-name").textContent(), "Alena Správcová");
    assert.deepEqual(await navLabels(page), ["Přehled", "Zpětná volání", "Hlasová schránka", "Oznámení", "Administrace"]);
    await page.getByTestId("main-nav").getByRole("link", { name: "Administrace" }).click();
    const table = page.getByTestId("users-table");
    await table.locator('tr[data-username="agent01"]').waitFor();

    assert.deepEqual(await table.locator("thead th").allTextContents(), ["Uživatel", "Jméno", "Role", "Skupiny"]);
    assert.deepEqual(await table.locator('tr[data-username="agent01"] td').allTextContents(), [
      "agent01",
      "Jana Nováková",
      "operátor",
      "KKC",
    ]);
    const supervisorRoles = await table.locator('tr[data-username="supervisor"] td').nth(2).textContent();
    assert.match(supervisorRoles, /supervizor/);
    assert.match(await page.title(), /^Administrace/);
    assert.deepEqual(errors, []);
  });

  test("language switch changes the page to English and sets lang=en", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await open();
    await login(page, "supervisor");
    assert.equal(await page.locator("html").getAttribute("lang"), "cs");

    await page.getByTestId("lang-switch").click();

    assert.equal(await page.locator("html").getAttribute("lang"), "en");
    assert.deepEqual(await navLabels(page), ["Overview", "Desk", "Callbacks", "Voicemail", "Notices"]);
    assert.equal(await page.getByTestId("logout").textContent(), "Sign out");
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Overview");
    // The choice is kept (localStorage) across a reload, and the session too (sessionStorage).
    await page.reload();
    await page.getByTestId("user-name").waitFor();
    assert.equal(await page.locator("html").getAttribute("lang"), "en");
    assert.equal(await page.getByTestId("logout").textContent(), "Sign out");
    // And back.
    await page.getByTestId("lang-switch").click();
    assert.equal(await page.locator("html").getAttribute("lang"), "cs");
    assert.equal(await page.getByTestId("logout").textContent(), "Odhlásit se");
    assert.deepEqual(errors, []);
  });

  test(
    "supervisor sends a notice and a connected agent page receives it over WebSocket",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const agent = await open();
      const supervisor = await open();
      await login(agent.page, "agent02");
      await waitForLive(agent.page);
      assert.equal(await agent.page.getByTestId("live-state").textContent(), "Připojeno");

      await login(supervisor.page, "supervisor");
      await supervisor.page.getByTestId("main-nav").getByRole("link", { name: "Oznámení" }).click();
      const text = `Výpadek linky ${Date.now()}: volejte náhradní číslo.`;
      await supervisor.page.getByLabel("Text oznámení").fill(text);
      await supervisor.page.getByLabel("Závažnost").selectOption("warning");
      await supervisor.page.getByRole("button", { name: "Odeslat oznámení" }).click();
      await supervisor.page.getByTestId("notice-sent").waitFor();

      const received = agent.page.getByTestId("live-broadcasts").locator("li", { hasText: text });
      await received.waitFor();
      assert.equal(await received.getAttribute("data-severity"), "warning");
      assert.match(await received.locator(".notice-meta").textContent(), /\d{1,2}\. \d{1,2}\. \d{4} \d{1,2}:\d{2}/);
      // At-least-once delivery must not show the notice twice.
      await agent.page.waitForTimeout(500);
      assert.equal(await agent.page.getByTestId("live-broadcasts").locator("li", { hasText: text }).count(), 1);

      // The live channel answers a ping with a pong.
      await agent.page.getByTestId("live-ping").click();
      await agent.page.getByTestId("live-pong").filter({ hasText: /Pong za \d+ ms/ }).waitFor();

      assert.deepEqual(agent.errors, []);
      assert.deepEqual(supervisor.errors, []);
    },
  );

  test("an agent cannot send a notice: the API answers 403 forbidden", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page } = await open();
    await login(page, "agent03");
    const answer = await page.evaluate(async () => {
      const session = JSON.parse(sessionStorage.getItem("linka.auth.session") ?? "{}");
      const response = await fetch("/api/broadcasts", {
        method: "POST",
        headers: { Authorization: `Bearer ${session.accessToken}`, "Content-Type": "application/json" },
        body: JSON.stringify({ text: "nesmí projít", severity: "info" }),
      });
      return { status: response.status, type: response.headers.get("content-type"), body: await response.json() };
    });
    assert.equal(answer.status, 403);
    assert.match(answer.type ?? "", /application\/problem\+json/);
    assert.equal(answer.body.code, "forbidden");
  });

  test("logout clears the tokens and shows the login page", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page } = await open();
    await login(page, "agent04");
    await page.getByTestId("logout").click();
    await page.getByTestId("login").waitFor();
    const left = await page.evaluate(() => Object.keys(sessionStorage).filter((key) => key.startsWith("linka.auth")));
    assert.deepEqual(left, []);
    await page.reload();
    await page.getByTestId("login").waitFor();
    assert.equal(await page.getByTestId("user-name").count(), 0);
  });
});
