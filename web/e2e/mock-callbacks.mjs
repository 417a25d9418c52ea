// The callback and voicemail APIs for the mock server (in memory), per docs/api/openapi.yaml:
//   GET  /api/callbacks?view=open|closed[&queueId]     {items}
//   POST /api/callbacks                                NewCallback → 201 (200 for a repeated requestId)
//   GET  /api/callbacks/slots?queueId=                 {queueId, slots}
//   GET  /api/callbacks/{id}
//   POST /api/callbacks/{id}/claim|release|attempts|reschedule|notes|done|cancel
//   GET  /api/voicemails?view=open|closed[&queueId]    {items}
//   GET  /api/voicemails/{id}                          + playbackUrl (/mock-recordings/{id}.wav), playbackExpiresAt
//   POST /api/voicemails/{id}/assign|release|done|notes
//   POST /api/mock/voicemails                          (mock only) leaves a new message, for tests
//   GET  /api/mock/voicemails                          (mock only) 200: tells the mock from the stack
// Roles agent, supervisor, admin, callbacks; every queue is everyone's here (no membership).
// Retries of unanswered attempts are due at once (no retry spacing), at most 3 attempts.
// 409 codes as the real API: callback-claimed, callback-closed, callback-not-due,
// callback-not-claimed, agent-has-claim; voicemail-assigned, voicemail-done,
// voicemail-not-assigned; 403 assign-not-allowed.

const ROLES = ["agent", "supervisor", "admin", "callbacks"];
const SUPERVISING = ["supervisor", "admin", "callbacks"];
const OPEN = new Set(["pending", "scheduled", "inProgress"]);
const OUTCOMES = ["noAnswer", "busy", "answered", "wrongNumber", "cancelled"];
const MAX_ATTEMPTS = 3;
const CLAIM_MS = 5 * 60_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const QUEUE_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;
const ID = /^[A-Za-z0-9_-]{1,64}$/;

const iso = (ms) => new Date(ms).toISOString();
const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);

/** A Czech number in E.164, or null. */
function normalizeNumber(text) {
  const compact = String(text ?? "").replace(/[\s().-]+/g, "");
  if (/^\+420\d{9}$/.test(compact)) return compact;
  if (/^00420\d{9}$/.test(compact)) return `+${compact.slice(2)}`;
  if (/^\d{9}$/.test(compact)) return `+420${compact}`;
  return null;
}

function validSlot(slot) {
  if (!isObject(slot)) return false;
  const start = Date.parse(slot.start);
  const end = Date.parse(slot.end);
  return Number.isFinite(start) && Number.isFinite(end) && end > start;
}

/** A WAV of `seconds` of silence (8 kHz, 8-bit mono). */
function silentWav(seconds) {
  const samples = 8000 * seconds;
  const buffer = Buffer.alloc(44 + samples, 0x80);
  buffer.write("RIFF", 0);
  buffer.writeUInt32LE(36 + samples, 4);
  buffer.write("WAVEfmt ", 8);
  buffer.writeUInt32LE(16, 16);
  buffer.writeUInt16LE(1, 20);
  buffer.writeUInt16LE(1, 22);
  buffer.writeUInt32LE(8000, 24);
  buffer.writeUInt32LE(8000, 28);
  buffer.writeUInt16LE(1, 32);
  buffer.writeUInt16LE(8, 34);
  buffer.write("data", 36);
  buffer.writeUInt32LE(samples, 40);
  return buffer;
}

export function createCallbacksApi({ send, problem, readBody }) {
  const callbacks = new Map();
  const byRequest = new Map(); // requestId → callback id
  const voicemails = new Map();
  const wav = silentWav(1);
  let sequence = 0;

  // ---- seed ------------------------------------------------------------------------------
  const now = Date.now();
  function seedCallback(fields) {
    const id = `cb-${++sequence}`;
    const callback = {
      id,
      queueId: "kkc",
      number: "+420601123456",
      source: { kind: "ivr" },
      enteredAt: iso(now - 20 * 60_000),
      priority: 0,
      dueAt: iso(now - 10 * 60_000),
      status: "pending",
      attempts: [],
      mergedCalls: [],
      notes: [],
      createdBy: "ivr",
      createdAt: iso(now - 20 * 60_000),
      updatedAt: iso(now - 20 * 60_000),
      ...fields,
    };
    callbacks.set(id, callback);
    return callback;
  }
  seedCallback({
    clientName: "Jan Novák",
    mergedCalls: [{ contactId: "call-seed-1", at: iso(now - 25 * 60_000) }],
    notes: [{ at: iso(now - 19 * 60_000), by: "ivr", text: "Dotaz na platbu pojistného." }],
  });
  seedCallback({
    queueId: "as",
    number: "+420777555666",
    clientName: "Marie Svobodová",
    source: { kind: "agent" },
    createdBy: "agent06",
    status: "scheduled",
    requestedSlot: { start: iso(now + 24 * 3_600_000), end: iso(now + 24 * 3_600_000 + 30 * 60_000) },
    dueAt: iso(now + 24 * 3_600_000),
  });
  function seedVoicemail(fields) {
    const id = `vm-${++sequence}`;
    const recordedAt = iso(Date.now() - 30 * 60_000);
    const voicemail = {
      id,
      queueId: "kkc",
      callKey: `call-${id}`,
      caller: "+420777000111",
      recordedAt,
      durationMs: 65_400,
      audioKey: `voicemail/${id}.wav`,
      attributes: { problem: "platby", insuranceNumber: "8001011234" },
      status: "new",
      notes: [],
      createdAt: recordedAt,
      updatedAt: recordedAt,
      ...fields,
    };
    voicemails.set(id, voicemail);
    return voicemail;
  }
  seedVoicemail({});

  // ---- helpers ---------------------------------------------------------------------------

  const isDue = (callback) => (callback.status === "pending" || callback.status === "scheduled") && Date.parse(callback.dueAt) <= Date.now();
  const view = (callback) => {
    // A claim that ran out gives the callback back.
    if (callback.status === "inProgress" && Date.parse(callback.claimExpiresAt) < Date.now()) {
      callback.status = "pending";
      delete callback.agent;
      delete callback.claimedAt;
      delete callback.claimExpiresAt;
    }
    return { ...callback, due: isDue(callback) };
  };

  async function json(req, res, required) {
    const text = await readBody(req);
    if (!text.trim()) {
      if (required) problem(res, 400, "invalid-body", "A JSON body is required.");
      return required ? undefined : {};
    }
    if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) {
      problem(res, 415, "unsupported-media-type", "Send application/json.");
      return undefined;
    }
    try {
      const body = JSON.parse(text);
      if (!isObject(body)) throw new Error("not an object");
      return body;
    } catch {
      problem(res, 400, "invalid-body", "The body is not a JSON object.");
      return undefined;
    }
  }

  function listCallbacks(url) {
    const queueId = url.searchParams.get("queueId");
    const closed = url.searchParams.get("view") === "closed";
    const items = [...callbacks.values()].map(view).filter((callback) => !queueId || callback.queueId === queueId);
    if (closed) {
      const since = Date.now() - 24 * 3_600_000;
      return items
        .filter((callback) => !OPEN.has(callback.status) && Date.parse(callback.closedAt ?? callback.updatedAt) >= since)
        .sort((a, b) => Date.parse(b.closedAt ?? b.updatedAt) - Date.parse(a.closedAt ?? a.updatedAt))
        .slice(0, 200);
    }
    const rank = (callback) => (callback.status === "inProgress" ? 2 : callback.due ? 0 : 1);
    return items
      .filter((callback) => OPEN.has(callback.status))
      .sort(
        (a, b) =>
          rank(a) - rank(b) ||
          (rank(a) === 0 ? b.priority - a.priority || Date.parse(a.enteredAt) - Date.parse(b.enteredAt) : Date.parse(a.dueAt) - Date.parse(b.dueAt)),
      );
  }

  function slots() {
    const hour = 3_600_000;
    const first = Math.ceil((Date.now() + hour) / hour) * hour;
    return [0, 1, 2, 3].map((i) => ({ start: iso(first + i * 30 * 60_000), end: iso(first + (i + 1) * 30 * 60_000) }));
  }

  async function createCallback(req, res, me) {
    const body = await json(req, res, true);
    if (!body) return;
    const errors = [];
    const known = ["requestId", "queueId", "number", "clientId", "clientName", "slot", "note"];
    for (const key of Object.keys(body)) if (!known.includes(key)) return problem(res, 400, "invalid-body", `unknown field ${key}`);
    if (typeof body.requestId !== "string" || !UUID.test(body.requestId)) errors.push({ field: "requestId", message: "must be a UUID" });
    if (typeof body.queueId !== "string" || !QUEUE_ID.test(body.queueId)) errors.push({ field: "queueId", message: "must be a queue id" });
    const number = normalizeNumber(body.number);
    if (!number) errors.push({ field: "number", message: "must be a Czech phone number" });
    if (body.clientName !== undefined && (typeof body.clientName !== "string" || !body.clientName || body.clientName.length > 200)) {
      errors.push({ field: "clientName", message: "must be 1 to 200 characters" });
    }
    if (body.slot !== undefined && !validSlot(body.slot)) errors.push({ field: "slot", message: "must be a window with end after start" });
    if (body.note !== undefined && (typeof body.note !== "string" || !body.note || body.note.length > 2000)) {
      errors.push({ field: "note", message: "must be 1 to 2000 characters" });
    }
    if (errors.length) return problem(res, 422, "validation-failed", "The callback is not valid.", { errors });
    const existing = byRequest.get(body.requestId);
    if (existing) return send(res, 200, view(callbacks.get(existing)));
    const at = Date.now();
    const id = `cb-${++sequence}`;
    const callback = {
      id,
      queueId: body.queueId,
      number,
      ...(body.clientId ? { clientId: body.clientId } : {}),
      ...(body.clientName ? { clientName: body.clientName } : {}),
      source: { kind: "agent" },
      enteredAt: iso(at),
      priority: 0,
      ...(body.slot ? { requestedSlot: { start: iso(Date.parse(body.slot.start)), end: iso(Date.parse(body.slot.end)) } } : {}),
      dueAt: body.slot ? iso(Date.parse(body.slot.start)) : iso(at),
      status: body.slot ? "scheduled" : "pending",
      attempts: [],
      mergedCalls: [],
      notes: body.note ? [{ at: iso(at), by: me, text: body.note }] : [],
      createdBy: me,
      createdAt: iso(at),
      updatedAt: iso(at),
    };
    callbacks.set(id, callback);
    byRequest.set(body.requestId, id);
    res.setHeader("Location", `/api/callbacks/${id}`);
    return send(res, 201, view(callback));
  }

  async function callbackAction(req, res, callback, action, me) {
    const body = await json(req, res, action === "attempts" || action === "reschedule" || action === "notes");
    if (!body) return;
    const at = Date.now();
    const current = view(callback);
    const open = OPEN.has(current.status);
    const othersClaim = current.status === "inProgress" && current.agent !== me;
    const closeAs = (status) => {
      callback.status = status;
      callback.closedAt = iso(at);
      callback.closedBy = me;
      delete callback.claimExpiresAt;
    };
    const unclaim = () => {
      delete callback.agent;
      delete callback.claimedAt;
      delete callback.claimExpiresAt;
    };
    if (action === "notes") {
      if (typeof body.text !== "string" || !body.text.trim() || body.text.length > 2000) {
        return problem(res, 422, "validation-failed", "The note is not valid.", { errors: [{ field: "text", message: "must be 1 to 2000 characters" }] });
      }
      callback.notes.push({ at: iso(at), by: me, text: body.text });
    } else if (!open) {
      return problem(res, 409, "callback-closed", "The callback is closed.");
    } else if (action === "claim") {
      if (othersClaim) return problem(res, 409, "callback-claimed", `Claimed by ${current.agent}.`);
      if (current.status === "inProgress") return problem(res, 409, "agent-has-claim", "You already hold this callback.");
      if (!current.due) return problem(res, 409, "callback-not-due", "The callback is not due yet.");
      const held = [...callbacks.values()].map(view).find((other) => other.status === "inProgress" && other.agent === me);
      if (held) return problem(res, 409, "agent-has-claim", `You hold ${held.id}.`);
      callback.status = "inProgress";
      callback.agent = me;
      callback.claimedAt = iso(at);
      callback.claimExpiresAt = iso(at + CLAIM_MS);
    } else if (action === "release" || action === "attempts") {
      if (current.status !== "inProgress" || othersClaim) {
        return problem(res, 409, othersClaim ? "callback-claimed" : "callback-not-claimed", "You do not hold this callback.");
      }
      if (action === "release") {
        callback.status = "pending";
        unclaim();
      } else {
        if (!OUTCOMES.includes(body.outcome)) {
          return problem(res, 422, "validation-failed", "Unknown outcome.", { errors: [{ field: "outcome", message: `one of ${OUTCOMES.join(", ")}` }] });
        }
        callback.attempts.push({ at: iso(at), agent: me, outcome: body.outcome });
        if (body.outcome === "answered") closeAs("done");
        else if (body.outcome === "wrongNumber") closeAs("failed");
        else if (body.outcome === "cancelled") closeAs("cancelled");
        else {
          const counted = callback.attempts.length - (callback.attemptsBeforeReschedule ?? 0);
          if (counted >= MAX_ATTEMPTS) closeAs("failed");
          else {
            callback.status = "pending";
            callback.dueAt = iso(at);
            unclaim();
          }
        }
        if (callback.status !== "pending") delete callback.claimedAt;
      }
    } else if (othersClaim) {
      return problem(res, 409, "callback-claimed", `Claimed by ${current.agent}.`);
    } else if (action === "done" || action === "cancel") {
      closeAs(action === "done" ? "done" : "cancelled");
    } else if (action === "reschedule") {
      if (!validSlot(body.slot)) {
        return problem(res, 422, "validation-failed", "The slot is not valid.", { errors: [{ field: "slot", message: "must be a window with end after start" }] });
      }
      callback.requestedSlot = { start: iso(Date.parse(body.slot.start)), end: iso(Date.parse(body.slot.end)) };
      callback.dueAt = callback.requestedSlot.start;
      callback.status = "scheduled";
      callback.attemptsBeforeReschedule = callback.attempts.length;
      unclaim();
    } else {
      return send(res, 404, { message: "Not Found" });
    }
    callback.updatedAt = iso(at);
    return send(res, 200, view(callback));
  }

  function listVoicemails(url) {
    const queueId = url.searchParams.get("queueId");
    const items = [...voicemails.values()].filter((voicemail) => !queueId || voicemail.queueId === queueId);
    if (url.searchParams.get("view") === "closed") {
      const since = Date.now() - 7 * 24 * 3_600_000;
      return items
        .filter((voicemail) => voicemail.status === "done" && Date.parse(voicemail.doneAt) >= since)
        .sort((a, b) => Date.parse(b.doneAt) - Date.parse(a.doneAt))
        .slice(0, 200);
    }
    const rank = (voicemail) => (voicemail.status === "new" ? 0 : 1);
    return items.filter((voicemail) => voicemail.status !== "done").sort((a, b) => rank(a) - rank(b) || Date.parse(a.recordedAt) - Date.parse(b.recordedAt));
  }

  async function voicemailAction(req, res, voicemail, action, me, supervising) {
    const body = await json(req, res, action === "notes");
    if (!body) return;
    const at = Date.now();
    const othersAssignment = voicemail.status === "assigned" && voicemail.agent !== me;
    if (action === "notes") {
      if (typeof body.text !== "string" || !body.text.trim() || body.text.length > 2000) {
        return problem(res, 422, "validation-failed", "The note is not valid.", { errors: [{ field: "text", message: "must be 1 to 2000 characters" }] });
      }
      voicemail.notes.push({ at: iso(at), by: me, text: body.text });
    } else if (voicemail.status === "done") {
      return problem(res, 409, "voicemail-done", "The voicemail is done.");
    } else if (action === "assign") {
      const agent = body.agent ?? me;
      if (agent !== me && !supervising) return problem(res, 403, "assign-not-allowed", "Only a supervisor assigns someone else.");
      if (othersAssignment && !supervising) return problem(res, 409, "voicemail-assigned", `Assigned to ${voicemail.agent}.`);
      Object.assign(voicemail, { status: "assigned", agent, assignedAt: iso(at), assignedBy: me });
    } else if (action === "release") {
      if (voicemail.status !== "assigned") return problem(res, 409, "voicemail-not-assigned", "The voicemail is not assigned.");
      if (othersAssignment && !supervising) return problem(res, 409, "voicemail-assigned", `Assigned to ${voicemail.agent}.`);
      voicemail.status = "new";
      delete voicemail.agent;
      delete voicemail.assignedAt;
      delete voicemail.assignedBy;
    } else if (action === "done") {
      if (othersAssignment && !supervising) return problem(res, 409, "voicemail-assigned", `Assigned to ${voicemail.agent}.`);
      Object.assign(voicemail, { status: "done", doneBy: me, doneAt: iso(at) });
    } else {
      return send(res, 404, { message: "Not Found" });
    }
    voicemail.updatedAt = iso(at);
    return send(res, 200, voicemail);
  }

  return {
    /** Whether this module answers the path (checked before the token). */
    owns(path) {
      return path === "/api/callbacks" || path.startsWith("/api/callbacks/") || path === "/api/voicemails" || path.startsWith("/api/voicemails/") || path === "/api/mock/voicemails";
    },

    /** The WAV behind a playback URL (no token: the URL is "presigned"). */
    serveRecording(req, res, url) {
      const match = /^\/mock-recordings\/([A-Za-z0-9_-]+)\.wav$/.exec(url.pathname);
      if (!match || !voicemails.has(match[1]) || url.searchParams.get("X-Amz-Signature") !== "mock") {
        return send(res, 403, { message: "Forbidden" });
      }
      res.writeHead(200, { "Content-Type": "audio/wav", "Content-Length": wav.length, "Cache-Control": "no-store" });
      return res.end(req.method === "HEAD" ? undefined : wav);
    },

    async handle(req, res, url, claims) {
      const roles = claims.roles ?? [];
      if (!roles.some((role) => ROLES.includes(role))) {
        return problem(res, 403, "forbidden", "One of the roles agent, supervisor, admin or callbacks is required.");
      }
      const me = claims.preferred_username ?? claims.sub;
      const supervising = roles.some((role) => SUPERVISING.includes(role));
      const parts = url.pathname.split("/").filter(Boolean).slice(1); // callbacks|voicemails, id, action
      const [resource, id, action, ...rest] = parts;
      if (rest.length) return send(res, 404, { message: "Not Found" });

      // Lets a test tell the mock from the real stack (which answers 404 here).
      if (resource === "mock" && id === "voicemails" && req.method === "GET") return send(res, 200, { mock: true });
      if (resource === "mock" && id === "voicemails" && req.method === "POST") {
        const body = (await json(req, res, false)) ?? {};
        return send(res, 201, seedVoicemail({ recordedAt: iso(Date.now()), ...(isObject(body) ? body : {}) }));
      }
      if (resource === "callbacks") {
        if (!id) {
          if (req.method === "GET") return send(res, 200, { items: listCallbacks(url) });
          if (req.method === "POST") return createCallback(req, res, me);
          return problem(res, 405, "method-not-allowed", "GET or POST.");
        }
        if (id === "slots" && !action && req.method === "GET") {
          const queueId = url.searchParams.get("queueId");
          if (!queueId || !QUEUE_ID.test(queueId)) return problem(res, 400, "bad-request", "queueId is required.");
          return send(res, 200, { queueId, slots: slots() });
        }
        const callback = ID.test(id) ? callbacks.get(id) : undefined;
        if (!callback) return problem(res, 404, "callback-not-found", "No such callback in your queues.");
        if (!action && req.method === "GET") return send(res, 200, view(callback));
        if (action && req.method === "POST") return callbackAction(req, res, callback, action, me);
        return send(res, 404, { message: "Not Found" });
      }
      if (resource === "voicemails") {
        if (!id) {
          if (req.method === "GET") return send(res, 200, { items: listVoicemails(url) });
          return problem(res, 405, "method-not-allowed", "GET.");
        }
        const voicemail = ID.test(id) ? voicemails.get(id) : undefined;
        if (!voicemail) return problem(res, 404, "voicemail-not-found", "No such voicemail in your queues.");
        if (!action && req.method === "GET") {
          const origin = `http://${req.headers.host ?? "127.0.0.1"}`;
          return send(res, 200, {
            ...voicemail,
            playbackUrl: `${origin}/mock-recordings/${voicemail.id}.wav?X-Amz-Signature=mock`,
            playbackExpiresAt: iso(Date.now() + 15 * 60_000),
          });
        }
        if (action && req.method === "POST") return voicemailAction(req, res, voicemail, action, me, supervising);
      }
      return send(res, 404, { message: "Not Found" });
    },
  };
}
