// Benchmark of the agent desk on the real stack (issue 6, docs/benchmarks.md), not a test:
//   node e2e/bench-desk.mjs            (BASE_URL, LINKA_PBX_SIM_URL, BENCH_CALLS=30)
// - time to interactive: from navigation to #/desk until the desk shows the agent's state;
// - event → screen: from the PBX simulator creating a call at agent01's phone until the
//   ringing call is on the desk (PBX event → relay → SQS → cti-ingest → WebSocket push →
//   render), split at the arrival in the browser of the first desk push that carries the ringing
//   call (event → push is the back end: relay, SQS, cti-ingest; push → screen the desk), and from
//   the desk's Zavěsit until the call has left the screen.
// Prints the percentiles as JSON.

import { BASE_URL, launchBrowser, login, newPage, waitForStack } from "./helpers.mjs";

const PBX_SIM_URL = (process.env.LINKA_PBX_SIM_URL ?? "http://127.0.0.1:7080").replace(/\/+$/, "");
const CALLS = Number(process.env.BENCH_CALLS ?? 30);

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
  // When each desk push reached the browser (performance.now() of this process).
  const deskPushes = [];
  page.on("websocket", (socket) => {
    socket.on("framereceived", (frame) => {
      if (typeof frame.payload === "string" && frame.payload.includes('"type":"desk"')) deskPushes.push({ at: performance.now(), ringing: frame.payload.includes('"state":"ringing"') });
    });
  });
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
  await page.getByTestId("desk-ready").click();
  await page.locator('[data-testid="desk-state"][data-state="ready"]').waitFor();
  const ring = [];
  const toPush = [];
  const pushToScreen = [];
  const clear = [];
  for (let i = 0; i < CALLS; i++) {
    const from = `+42060${String(1000000 + i).slice(-7)}`;
    const started = performance.now();
    const response = await fetch(`${PBX_SIM_URL}/calls`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ from, to: "2001" }) });
    if (!response.ok) throw new Error(`pbx-sim answered ${response.status}`);
    await page.locator('[data-testid="desk-call"][data-state="ringing"]').waitFor();
    const shown = performance.now();
    ring.push(Math.round(shown - started));
    // The first desk push that carried the ringing call (cti-ingest's pushes carry the calls).
    const push = deskPushes.find((p) => p.at >= started && p.ringing);
    if (push !== undefined) {
      toPush.push(Math.round(push.at - started));
      pushToScreen.push(Math.round(shown - push.at));
    }
    const hangup = performance.now();
    await page.getByTestId("desk-call-hangup").click();
    await page.getByTestId("desk-no-call").waitFor();
    clear.push(Math.round(performance.now() - hangup));
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
