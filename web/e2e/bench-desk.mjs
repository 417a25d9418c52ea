// Benchmark of the agent desk on the real stack (issue 6, docs/benchmarks.md), not a test:
//   node e2e/bench-desk.mjs            (BASE_URL, LINKA_PBX_SIM_URL, BENCH_CALLS=30)
// - time to interactive: from navigation to #/desk until the desk shows the agent's state;
// - event → screen: from the PBX simulator creating a call at agent01's phone until the
//   ringing call is on the desk (PBX event → relay → SQS → cti-ingest → WebSocket push →
//   render), split at the arrival in the browser of the first desk push that carries the ringing
//   call (event → push is the back end: relay, SQS, cti-ingest; push → screen the desk), and from
//   the desk's Zavěsit until the call has left the screen.
// The times are taken in the page (its clock): the push when the page's WebSocket delivers it,
// the screen when a MutationObserver sees the call in the DOM. Playwright's `waitFor` only
// synchronises: it polls at growing intervals (up to 500 ms), which overstated the tail before.
// Prints the percentiles as JSON.

import { BASE_URL, launchBrowser, login, newPage, waitForStack } from "./helpers.mjs";

const PBX_SIM_URL = (process.env.LINKA_PBX_SIM_URL ?? "http://127.0.0.1:7080").replace(/\/+$/, "");
const CALLS = Number(process.env.BENCH_CALLS ?? 30);
// A pause between one call's end and the next call (ms): 0 places the next call at once, while
// the back end is still processing the last one's end.
const PAUSE_MS = Number(process.env.BENCH_PAUSE_MS ?? 0);

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(values) {
  return { n: values.length, p50: percentile(values, 50), p95: percentile(values, 95), max: Math.max(...values) };
}

await waitForStack();
const browser = await launchBrowser();
try {
  const { page } = await newPage(browser);
  // In the page: when its WebSocket delivered each desk push carrying a ringing call, and when a
  // ringing call / "no call" first appeared in the DOM (performance.now() of the page).
  await page.addInitScript(() => {
    const marks = { pushes: [], ringingAt: null, noCallAt: null };
    window.__bench = marks;
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        this.addEventListener("message", (event) => {
          if (typeof event.data === "string" && event.data.includes('"type":"desk"') && event.data.includes('"state":"ringing"')) marks.pushes.push(performance.now());
        });
      }
    };
  });
  // Installed after the time-to-interactive loads (it would slow them), before the calls.
  const observe = () =>
    page.evaluate(() => {
      const marks = window.__bench;
      new MutationObserver(() => {
        const ringing = document.querySelector('[data-testid="desk-call"][data-state="ringing"]') !== null;
        const none = document.querySelector('[data-testid="desk-no-call"]') !== null;
        if (ringing && marks.ringingAt === null) marks.ringingAt = performance.now();
        if (none && marks.noCallAt === null) marks.noCallAt = performance.now();
      }).observe(document, { subtree: true, childList: true, attributes: true });
    });
  const reset = () => page.evaluate(() => Object.assign(window.__bench, { pushes: [], ringingAt: null, noCallAt: null }) && performance.now());
  await login(page, "agent01");
  const interactive = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    await page.goto(`${BASE_URL}/#/desk`);
    await page.reload();
    await page.getByTestId("desk-state").waitFor();
    await page.locator('[data-testid="live-state"][data-state="open"]').waitFor();
    interactive.push(Math.round(performance.now() - started));
  }
  await observe();
  await page.getByTestId("desk-ready").click();
  await page.locator('[data-testid="desk-state"][data-state="ready"]').waitFor();
  const ring = [];
  const toPush = [];
  const pushToScreen = [];
  const clear = [];
  for (let i = 0; i < CALLS; i++) {
    if (PAUSE_MS > 0) await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    const from = `+42060${String(1000000 + i).slice(-7)}`;
    const started = await reset();
    const response = await fetch(`${PBX_SIM_URL}/calls`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ from, to: "2001" }) });
    if (!response.ok) throw new Error(`pbx-sim answered ${response.status}`);
    await page.locator('[data-testid="desk-call"][data-state="ringing"]').waitFor();
    const marks = await page.evaluate(() => window.__bench);
    const shown = marks.ringingAt;
    ring.push(Math.round(shown - started));
    // The first desk push that carried the ringing call (cti-ingest's pushes carry the calls).
    const push = marks.pushes[0];
    if (push !== undefined) {
      toPush.push(Math.round(push - started));
      pushToScreen.push(Math.round(shown - push));
    }
    const hangup = await page.evaluate(() => {
      window.__bench.noCallAt = null;
      document.querySelector('[data-testid="desk-call-hangup"]').click();
      return performance.now();
    });
    await page.getByTestId("desk-no-call").waitFor();
    clear.push(Math.round((await page.evaluate(() => window.__bench.noCallAt)) - hangup));
  }
  console.log(
    JSON.stringify(
      {
        timeToInteractiveMs: summary(interactive),
        eventToScreenMs: summary(ring),
        eventToDeskPushMs: summary(toPush),
        deskPushToScreenMs: summary(pushToScreen),
        hangupToScreenMs: summary(clear),
      },
      null,
      2,
    ),
  );
} finally {
  await browser.close();
}
