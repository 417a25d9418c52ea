// The routing documents of issue 5 for the mock server: the checks of an IVR tree (a port of
// shared/src/ivr/validate.rs: ids, prompts, ranges, keys, dangling and unreachable nodes, loops
// without exit, loops of branches only), of a queue's routing settings, of the inbound routing
// plan and of the PBX devices. Every check returns errors [{field, message}] worded like the
// Rust API's; mock-admin.mjs answers them as 422 `validation-failed`.

const ID = /^[a-z0-9][a-z0-9-]{0,39}$/;
const E164 = /^\+[1-9]\d{7,14}$/;
const ATTRIBUTE = /^[a-z][a-zA-Z0-9]{0,39}$/;
const STATUS = /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/;
const DTMF = /^[0-9*#]$/;
const DEVICE = /^[0-9*#+]{1,20}$/;
const DEVICE_MESSAGE = "must be a PBX device: 1 to 20 digits, '*', '#' or '+'";
const TARGET_FIELDS = { queue: "queueId", extension: "extension", external: "number", agent: "username", mobile: "number", ivr: "ivrId" };

const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
const isUint = (value) => Number.isInteger(value) && value >= 0;

function unknownFields(path, body, allowed, errors) {
  for (const key of Object.keys(body)) if (!allowed.includes(key)) errors.push({ field: path ? `${path}.${key}` : key, message: "is not a known field" });
}

function range(errors, field, value, [min, max]) {
  if (!isUint(value) || value < min || value > max) errors.push({ field, message: `must be between ${min} and ${max}` });
}

function text(errors, field, value, max) {
  if (typeof value !== "string" || !value.trim()) errors.push({ field, message: "is required" });
  else if ([...value].length > max) errors.push({ field, message: `must be at most ${max} characters` });
  else if (value.trim() !== value) errors.push({ field, message: "must not contain control characters or leading/trailing spaces" });
}

// ---- IVR trees --------------------------------------------------------------------------------

const KINDS = {
  prompt: ["prompt", "next"],
  menu: ["prompt", "options", "timeoutSeconds", "maxAttempts", "onTimeout", "onInvalid", "onExhausted"],
  collectDigits: ["prompt", "minDigits", "maxDigits", "terminator", "timeoutSeconds", "validation", "attribute", "next", "onInvalid", "maxAttempts", "onExhausted"],
  branchHours: ["queueId", "schedule", "open", "closed"],
  branchStatistic: ["queueId", "stat", "op", "value", "then", "else"],
  branchClientStatus: ["statuses", "default"],
  setAttribute: ["name", "value", "next"],
  transferToQueue: ["queueId", "priority"],
  transferToNumber: ["number"],
  voicemail: ["queueId", "greeting", "maxSeconds"],
  callbackOffer: ["queueId", "prompt", "acceptDigit", "allowChosenTime", "timePrompt", "timeoutSeconds", "maxAttempts", "accepted", "declined"],
  announcePosition: ["queueId", "next"],
  hangup: ["prompt"],
};

/** model.rs `edges()`: [field below the node, target]. */
export function edges(node) {
  const out = [];
  const one = (field) => {
    if (node[field] !== undefined && node[field] !== null) out.push([field, node[field]]);
  };
  switch (node.kind) {
    case "prompt":
    case "setAttribute":
    case "announcePosition":
      one("next");
      break;
    case "menu":
      for (const [key, target] of Object.entries(isObject(node.options) ? node.options : {})) out.push([`options.${key}`, target]);
      one("onTimeout");
      one("onInvalid");
      one("onExhausted");
      break;
    case "collectDigits":
      one("next");
      one("onInvalid");
      one("onExhausted");
      break;
    case "branchHours":
      one("open");
      one("closed");
      break;
    case "branchStatistic":
      one("then");
      one("else");
      break;
    case "branchClientStatus":
      for (const [status, target] of Object.entries(isObject(node.statuses) ? node.statuses : {})) out.push([`statuses.${status}`, target]);
      one("default");
      break;
    case "callbackOffer":
      one("accepted");
      one("declined");
      break;
  }
  return out;
}

const isExit = (node) => ["transferToQueue", "transferToNumber", "voicemail", "hangup"].includes(node.kind) || (node.kind === "callbackOffer" && node.accepted == null);
const isInstant = (node) => ["branchHours", "branchStatistic", "branchClientStatus", "setAttribute"].includes(node.kind);

function checkPrompt(errors, path, prompt) {
  if (!isObject(prompt) || !["audio", "tts"].includes(prompt.kind)) return errors.push({ field: `${path}.kind`, message: "must be one of audio, tts" });
  if (prompt.kind === "audio") {
    const key = prompt.key;
    const ok = typeof key === "string" && key.length >= 1 && key.length <= 200 && /^[A-Za-z0-9._/-]+$/.test(key) && !key.startsWith("/") && !key.split("/").some((p) => p === "" || p === "..");
    if (!ok) errors.push({ field: `${path}.key`, message: "must be a storage key of at most 200 letters, digits, '.', '_', '-' and '/'" });
  } else {
    if (typeof prompt.text !== "string" || !prompt.text.trim()) errors.push({ field: `${path}.text`, message: "is required" });
    else if ([...prompt.text].length > 1000) errors.push({ field: `${path}.text`, message: "must be at most 1000 characters" });
    if (prompt.voice !== undefined && (typeof prompt.voice !== "string" || !/^[A-Za-z0-9-]{1,50}$/.test(prompt.voice))) {
      errors.push({ field: `${path}.voice`, message: "must be a voice name such as cs-CZ-Standard-A" });
    }
  }
}

function checkNode(errors, path, id, node, queueExists) {
  const field = (name) => `${path}.${name}`;
  const queue = () => {
    if (typeof node.queueId !== "string" || !ID.test(node.queueId)) errors.push({ field: field("queueId"), message: "must be a queue id" });
    else if (!queueExists(node.queueId)) errors.push({ field: field("queueId"), message: "does not exist" });
  };
  const notSelf = (name) => {
    if (node[name] === id) errors.push({ field: field(name), message: "must lead out of this node, not back to it" });
  };
  const required = (...names) => {
    for (const name of names) if (node[name] === undefined || node[name] === null) errors.push({ field: field(name), message: `missing field \`${name}\`` });
  };
  unknownFields(path, node, ["kind", ...KINDS[node.kind]], errors);
  switch (node.kind) {
    case "prompt":
      required("next");
      checkPrompt(errors, field("prompt"), node.prompt);
      break;
    case "menu":
      required("onExhausted");
      checkPrompt(errors, field("prompt"), node.prompt);
      if (!isObject(node.options) || Object.keys(node.options).length === 0) errors.push({ field: field("options"), message: "must offer at least one key" });
      for (const key of Object.keys(isObject(node.options) ? node.options : {})) {
        if (!DTMF.test(key)) errors.push({ field: field(`options.${key}`), message: "must be one key: 0 to 9, * or #" });
      }
      range(errors, field("timeoutSeconds"), node.timeoutSeconds ?? 5, [1, 60]);
      range(errors, field("maxAttempts"), node.maxAttempts ?? 3, [1, 9]);
      notSelf("onExhausted");
      break;
    case "collectDigits": {
      required("next", "onExhausted", "validation", "attribute");
      checkPrompt(errors, field("prompt"), node.prompt);
      range(errors, field("minDigits"), node.minDigits, [1, 32]);
      if (!isUint(node.maxDigits) || node.maxDigits < (node.minDigits ?? 1) || node.maxDigits > 32) {
        errors.push({ field: field("maxDigits"), message: "must be between minDigits and 32" });
      }
      const [longestShort, shortestLong] = { insuranceNumber: [9, 10], birthNumber: [9, 10], phone: [9, 9] }[node.validation] ?? [32, 1];
      if (isUint(node.minDigits) && node.minDigits > longestShort) errors.push({ field: field("minDigits"), message: `must be at most ${longestShort} for this validation` });
      if (isUint(node.maxDigits) && node.maxDigits < shortestLong) errors.push({ field: field("maxDigits"), message: `must be at least ${shortestLong} for this validation` });
      if (node.terminator !== undefined && !["#", "*"].includes(node.terminator)) errors.push({ field: field("terminator"), message: "must be # or *" });
      if (!["none", "digits", "insuranceNumber", "birthNumber", "phone"].includes(node.validation)) {
        errors.push({ field: field("validation"), message: "must be one of none, digits, insuranceNumber, birthNumber, phone" });
      }
      range(errors, field("timeoutSeconds"), node.timeoutSeconds ?? 10, [1, 60]);
      range(errors, field("maxAttempts"), node.maxAttempts ?? 3, [1, 9]);
      if (typeof node.attribute !== "string" || !ATTRIBUTE.test(node.attribute)) errors.push({ field: field("attribute"), message: "must be an attribute name such as insuranceNumber" });
      notSelf("onExhausted");
      break;
    }
    case "branchHours":
      required("open", "closed");
      if ((node.queueId === undefined) === (node.schedule === undefined)) errors.push({ field: field("queueId"), message: "exactly one of queueId and schedule is required" });
      else if (node.queueId !== undefined) queue();
      break;
    case "branchStatistic":
      required("then", "else");
      queue();
      if (!["agentsLoggedOn", "agentsReady", "waitingCalls", "longestWaitSeconds"].includes(node.stat)) errors.push({ field: field("stat"), message: "is not a known statistic" });
      if (!["lt", "le", "eq", "ne", "ge", "gt"].includes(node.op)) errors.push({ field: field("op"), message: "is not a known comparison" });
      if (!isUint(node.value)) errors.push({ field: field("value"), message: "must be a whole number" });
      break;
    case "branchClientStatus": {
      required("default");
      const statuses = isObject(node.statuses) ? Object.keys(node.statuses) : [];
      if (statuses.length === 0) errors.push({ field: field("statuses"), message: "must list at least one status" });
      const seen = new Set();
      for (const status of statuses) {
        if (!STATUS.test(status)) errors.push({ field: field(`statuses.${status}`), message: "must be a status code such as VIP: letters, digits, '-' or '_'" });
        else if (seen.has(status.toLowerCase())) errors.push({ field: field(`statuses.${status}`), message: "repeats another status (statuses match ignoring case)" });
        seen.add(status.toLowerCase());
      }
      break;
    }
    case "setAttribute":
      required("next");
      if (typeof node.name !== "string" || !ATTRIBUTE.test(node.name)) errors.push({ field: field("name"), message: "must be an attribute name such as problem or campaign" });
      text(errors, field("value"), node.value, 200);
      break;
    case "transferToQueue":
      queue();
      if (node.priority !== undefined) range(errors, field("priority"), node.priority, [1, 10]);
      break;
    case "transferToNumber":
      if (typeof node.number !== "string" || !(/^\d{1,8}$/.test(node.number) || E164.test(node.number))) {
        errors.push({ field: field("number"), message: "must be an extension (1 to 8 digits) or an E.164 number such as +420601123456" });
      }
      break;
    case "voicemail":
      queue();
      checkPrompt(errors, field("greeting"), node.greeting);
      range(errors, field("maxSeconds"), node.maxSeconds ?? 120, [10, 600]);
      break;
    case "callbackOffer":
      required("declined");
      queue();
      checkPrompt(errors, field("prompt"), node.prompt);
      if (!DTMF.test(node.acceptDigit ?? "1")) errors.push({ field: field("acceptDigit"), message: "must be one key: 0 to 9, * or #" });
      if (node.allowChosenTime === true && node.timePrompt === undefined) errors.push({ field: field("timePrompt"), message: "is required when allowChosenTime is true" });
      else if (node.timePrompt !== undefined) checkPrompt(errors, field("timePrompt"), node.timePrompt);
      range(errors, field("timeoutSeconds"), node.timeoutSeconds ?? 5, [1, 60]);
      range(errors, field("maxAttempts"), node.maxAttempts ?? 3, [1, 9]);
      if (node.accepted != null) notSelf("accepted");
      notSelf("declined");
      break;
    case "announcePosition":
      required("next");
      queue();
      break;
    case "hangup":
      if (node.prompt !== undefined) checkPrompt(errors, field("prompt"), node.prompt);
      break;
  }
}

function closure(successors, start) {
  const seen = new Set(start);
  const queue = [...seen];
  while (queue.length) {
    for (const next of successors.get(queue.shift()) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

/** validate_tree: every problem of the tree; `pathId` for PUT (the id in the path). */
export function validateTree(tree, { pathId = null, queueExists = () => true } = {}) {
  const errors = [];
  if (!isObject(tree)) return [{ field: "", message: "must be an object" }];
  unknownFields("", tree, ["ivrId", "name", "active", "entryNode", "generalAnnouncement", "lostCallsQueueId", "nodes"], errors);
  const ivrId = pathId ?? tree.ivrId;
  if (pathId !== null && tree.ivrId !== undefined && tree.ivrId !== pathId) errors.push({ field: "ivrId", message: "must equal the id in the path" });
  if (typeof ivrId !== "string" || !ID.test(ivrId)) errors.push({ field: "ivrId", message: "must be 1 to 40 lowercase letters, digits or '-', starting with a letter or digit" });
  text(errors, "name", tree.name, 100);
  if (tree.active !== undefined && typeof tree.active !== "boolean") errors.push({ field: "active", message: "must be true or false" });
  if (tree.lostCallsQueueId !== undefined) {
    if (typeof tree.lostCallsQueueId !== "string" || !ID.test(tree.lostCallsQueueId)) errors.push({ field: "lostCallsQueueId", message: "must be a queue id" });
    else if (!queueExists(tree.lostCallsQueueId)) errors.push({ field: "lostCallsQueueId", message: "does not exist" });
  }
  if (tree.generalAnnouncement !== undefined) {
    if (!isObject(tree.generalAnnouncement)) errors.push({ field: "generalAnnouncement", message: "must be an object" });
    else checkPrompt(errors, "generalAnnouncement.prompt", tree.generalAnnouncement.prompt);
  }
  const nodes = isObject(tree.nodes) ? tree.nodes : {};
  const ids = Object.keys(nodes);
  if (ids.length === 0) return [...errors, { field: "nodes", message: "must hold at least one node" }];
  if (ids.length > 200) return [...errors, { field: "nodes", message: "must hold at most 200 nodes" }];
  if (typeof tree.entryNode !== "string" || !(tree.entryNode in nodes)) {
    errors.push({ field: "entryNode", message: `refers to node \`${tree.entryNode ?? ""}\`, which does not exist` });
  }
  for (const [id, node] of Object.entries(nodes)) {
    const path = `nodes.${id}`;
    if (!ID.test(id)) errors.push({ field: path, message: "node id must be 1 to 40 lowercase letters, digits or '-', starting with a letter or digit" });
    if (!isObject(node) || !(node.kind in KINDS)) {
      errors.push({ field: `${path}.kind`, message: `must be one of ${Object.keys(KINDS).join(", ")}` });
      continue;
    }
    checkNode(errors, path, id, node, queueExists);
    for (const [field, target] of edges(node)) {
      if (typeof target !== "string" || !(target in nodes)) errors.push({ field: `${path}.${field}`, message: `refers to node \`${target}\`, which does not exist` });
    }
  }
  if (errors.some((error) => error.field.endsWith(".kind"))) return errors;
  // The graph: reachability, a way out, no loop of instant nodes.
  const successors = new Map(Object.entries(nodes).map(([id, node]) => [id, edges(node).map(([, target]) => target).filter((target) => target in nodes)]));
  if (tree.entryNode in nodes) {
    const reachable = closure(successors, [tree.entryNode]);
    for (const id of ids) if (!reachable.has(id)) errors.push({ field: `nodes.${id}`, message: "is not reachable from entryNode" });
    const predecessors = new Map();
    for (const [from, targets] of successors) for (const to of targets) predecessors.set(to, [...(predecessors.get(to) ?? []), from]);
    const canExit = closure(
      predecessors,
      ids.filter((id) => isExit(nodes[id])),
    );
    for (const id of ids) {
      if (reachable.has(id) && !canExit.has(id)) {
        errors.push({ field: `nodes.${id}`, message: "is in (or leads only into) a loop without exit: no path reaches a transfer, voicemail, callback or hangup" });
      }
    }
  }
  const instant = new Map(ids.filter((id) => isInstant(nodes[id])).map((id) => [id, successors.get(id).filter((t) => isInstant(nodes[t]))]));
  for (const [id, targets] of instant) {
    if (closure(instant, targets).has(id)) errors.push({ field: `nodes.${id}`, message: "loops through branches and attributes only: the call would never play or wait for anything" });
  }
  return errors;
}

/** The queues a tree points at. */
export function treeQueues(tree) {
  return Object.values(isObject(tree?.nodes) ? tree.nodes : {})
    .map((node) => node?.queueId)
    .filter((id) => typeof id === "string");
}

// ---- queue routing ----------------------------------------------------------------------------

export const defaultQueueRouting = (queueId) => ({
  queueId,
  wrapUpSeconds: 0,
  whenNobodyLoggedIn: { action: "announce", announcementId: "no-agents", then: "overflow" },
});

export function validateQueueRouting(body) {
  const errors = [];
  unknownFields("", body, ["queueId", "wrapUpSeconds", "maxWrapUpSeconds", "maxWaitSeconds", "maxWaitingCalls", "whenNobodyLoggedIn", "closedAnnouncement", "lastAgent"], errors);
  if (body.wrapUpSeconds !== undefined) range(errors, "wrapUpSeconds", body.wrapUpSeconds, [0, 3600]);
  if (body.maxWrapUpSeconds !== undefined && body.maxWrapUpSeconds !== null) range(errors, "maxWrapUpSeconds", body.maxWrapUpSeconds, [body.wrapUpSeconds ?? 0, 3600]);
  if (body.maxWaitSeconds !== undefined) range(errors, "maxWaitSeconds", body.maxWaitSeconds, [1, 86400]);
  if (body.maxWaitingCalls !== undefined) range(errors, "maxWaitingCalls", body.maxWaitingCalls, [1, 10000]);
  const nobody = body.whenNobodyLoggedIn;
  if (nobody !== undefined) {
    if (!isObject(nobody) || !["wait", "overflow", "announce"].includes(nobody.action)) {
      errors.push({ field: "whenNobodyLoggedIn.action", message: "must be one of wait, overflow, announce" });
    } else if (nobody.action === "announce") {
      if (typeof nobody.announcementId !== "string" || !ID.test(nobody.announcementId)) {
        errors.push({ field: "whenNobodyLoggedIn.announcementId", message: "must be 1 to 40 lowercase letters, digits or '-', starting with a letter or digit" });
      }
      if (!["hangUp", "overflow"].includes(nobody.then)) errors.push({ field: "whenNobodyLoggedIn.then", message: "must be one of hangUp, overflow" });
    }
  }
  if (body.closedAnnouncement !== undefined && (typeof body.closedAnnouncement !== "string" || !ID.test(body.closedAnnouncement))) {
    errors.push({ field: "closedAnnouncement", message: "must be 1 to 40 lowercase letters, digits or '-', starting with a letter or digit" });
  }
  if (body.lastAgent !== undefined) {
    if (!isObject(body.lastAgent)) errors.push({ field: "lastAgent", message: "must be an object" });
    else {
      range(errors, "lastAgent.holdSeconds", body.lastAgent.holdSeconds, [0, 600]);
      range(errors, "lastAgent.maxAgeHours", body.lastAgent.maxAgeHours, [1, 720]);
    }
  }
  return errors;
}

export function normalizeQueueRouting(queueId, body) {
  const out = { queueId, wrapUpSeconds: body.wrapUpSeconds ?? 0 };
  if (body.maxWrapUpSeconds !== undefined && body.maxWrapUpSeconds !== null) out.maxWrapUpSeconds = body.maxWrapUpSeconds;
  if (body.maxWaitSeconds !== undefined) out.maxWaitSeconds = body.maxWaitSeconds;
  if (body.maxWaitingCalls !== undefined) out.maxWaitingCalls = body.maxWaitingCalls;
  const nobody = body.whenNobodyLoggedIn ?? defaultQueueRouting(queueId).whenNobodyLoggedIn;
  out.whenNobodyLoggedIn = nobody.action === "announce" ? { action: "announce", announcementId: nobody.announcementId, then: nobody.then } : { action: nobody.action };
  if (body.closedAnnouncement !== undefined) out.closedAnnouncement = body.closedAnnouncement;
  if (body.lastAgent !== undefined) out.lastAgent = { holdSeconds: body.lastAgent.holdSeconds, maxAgeHours: body.lastAgent.maxAgeHours };
  return out;
}

// ---- the inbound plan ---------------------------------------------------------------------------

export const defaultPlan = () => ({ rules: [], clientPriority: [], recording: { record: true, ownNumbers: [], recordOwnNumbers: false } });

function checkEntry(errors, path, entry, { queueExists, ivrExists }) {
  if (!isObject(entry) || !["ivr", "queue", "destination"].includes(entry.kind)) return errors.push({ field: `${path}.kind`, message: "must be one of ivr, queue, destination" });
  if (entry.kind === "ivr") {
    if (typeof entry.ivrId !== "string" || !ID.test(entry.ivrId)) errors.push({ field: `${path}.ivrId`, message: ID_MESSAGE });
    else if (!ivrExists(entry.ivrId)) errors.push({ field: `${path}.ivrId`, message: "does not exist" });
    if (entry.node !== undefined && (typeof entry.node !== "string" || !ID.test(entry.node))) errors.push({ field: `${path}.node`, message: ID_MESSAGE });
  } else if (entry.kind === "queue") {
    if (typeof entry.queueId !== "string" || !ID.test(entry.queueId)) errors.push({ field: `${path}.queueId`, message: ID_MESSAGE });
    else if (!queueExists(entry.queueId)) errors.push({ field: `${path}.queueId`, message: "does not exist" });
  } else {
    const target = entry.target;
    if (!isObject(target) || !(target.kind in TARGET_FIELDS)) return errors.push({ field: `${path}.target.kind`, message: "must be a target kind" });
    const field = TARGET_FIELDS[target.kind];
    const value = target[field];
    const ok =
      typeof value === "string" &&
      (target.kind === "extension" ? /^\d{1,8}$/.test(value) : target.kind === "external" || target.kind === "mobile" ? E164.test(value) : value.trim() !== "");
    if (!ok) {
      const message =
        target.kind === "extension" ? "must be 1 to 8 digits" : target.kind === "external" || target.kind === "mobile" ? "must be an E.164 number such as +420601123456" : "required";
      errors.push({ field: `${path}.target.${field}`, message });
    }
  }
}

const strings = (value) => Array.isArray(value) && value.every((item) => typeof item === "string");
const ID_MESSAGE = "must be 1 to 40 lowercase letters, digits or '-', starting with a letter or digit";
const PATTERN_MESSAGE = "must be a number of 1 to 20 digits, optionally starting with '+' and ending in '*' (a prefix)";
const isPattern = (text) => /^\+?\d{1,20}\*?$/.test(text);

/** shared/src/routing_settings.rs validate_plan (+ references that must exist). */
export function validatePlan(body, refs) {
  const errors = [];
  unknownFields("", body, ["rules", "defaultEntry", "clientPriority", "recording"], errors);
  const rules = body.rules ?? [];
  const each = (field, list, ok, message) => {
    if (list === undefined) return;
    if (!strings(list)) return errors.push({ field, message: "must be a list of strings" });
    list.forEach((item, i) => {
      if (!ok(item)) errors.push({ field: `${field}[${i}]`, message });
    });
  };
  if (!Array.isArray(rules)) errors.push({ field: "rules", message: "must be an array" });
  else {
    const seen = new Set();
    rules.forEach((rule, i) => {
      const path = `rules[${i}]`;
      if (!isObject(rule)) return errors.push({ field: path, message: "must be an object" });
      if (typeof rule.ruleId !== "string" || !ID.test(rule.ruleId)) errors.push({ field: `${path}.ruleId`, message: ID_MESSAGE });
      else if (seen.has(rule.ruleId)) errors.push({ field: `${path}.ruleId`, message: "must be unique within the plan" });
      seen.add(rule.ruleId);
      const when = rule.when ?? {};
      each(`${path}.when.dialled`, when.dialled, (n) => /^[0-9+]{1,20}$/.test(n), "must be 1 to 20 digits or '+'");
      each(`${path}.when.callers`, when.callers, isPattern, PATTERN_MESSAGE);
      each(`${path}.when.clientStatuses`, when.clientStatuses, (s) => STATUS.test(s), "must be a client status code such as VIP");
      each(`${path}.when.ivrChoices`, when.ivrChoices, (c) => /^[0-9*#]{1,32}$/.test(c), "must be 1 to 32 keypad keys (0-9, * or #)");
      for (const name of Object.keys(isObject(when.attributes) ? when.attributes : {})) {
        if (!/^[a-z][a-zA-Z0-9]{0,39}$/.test(name)) {
          errors.push({ field: `${path}.when.attributes.${name}`, message: "attribute name must be a letter followed by up to 39 letters or digits" });
        }
      }
      if (rule.priorityBoost !== undefined) range(errors, `${path}.priorityBoost`, rule.priorityBoost, [0, 100]);
      checkEntry(errors, `${path}.entry`, rule.entry, refs);
    });
  }
  if (body.defaultEntry !== undefined) checkEntry(errors, "defaultEntry", body.defaultEntry, refs);
  const statuses = new Set();
  (Array.isArray(body.clientPriority) ? body.clientPriority : []).forEach((entry, i) => {
    const field = `clientPriority[${i}].status`;
    if (typeof entry?.status !== "string" || !STATUS.test(entry.status)) errors.push({ field, message: "must be a client status code such as VIP" });
    else if (statuses.has(entry.status)) errors.push({ field, message: "must be unique within the plan" });
    statuses.add(entry?.status);
    range(errors, `clientPriority[${i}].boost`, entry?.boost, [0, 100]);
  });
  each("recording.ownNumbers", body.recording?.ownNumbers, isPattern, PATTERN_MESSAGE);
  return errors;
}

export function normalizePlan(body) {
  const plan = defaultPlan();
  plan.rules = (body.rules ?? []).map((rule) => {
    const when = rule.when ?? {};
    return {
      ruleId: rule.ruleId,
      when: {
        dialled: when.dialled ?? [],
        callers: when.callers ?? [],
        clientStatuses: when.clientStatuses ?? [],
        ...(when.ivrChoices !== undefined ? { ivrChoices: when.ivrChoices } : {}),
        attributes: when.attributes ?? {},
        ...(when.during !== undefined ? { during: when.during } : {}),
      },
      entry: rule.entry,
      priorityBoost: rule.priorityBoost ?? 0,
    };
  });
  if (body.defaultEntry !== undefined) plan.defaultEntry = body.defaultEntry;
  plan.clientPriority = body.clientPriority ?? [];
  plan.recording = { ...plan.recording, ...(body.recording ?? {}) };
  // serde order: rules, defaultEntry, clientPriority, recording
  return { rules: plan.rules, ...(plan.defaultEntry ? { defaultEntry: plan.defaultEntry } : {}), clientPriority: plan.clientPriority, recording: plan.recording };
}

// ---- PBX devices --------------------------------------------------------------------------------

export const defaultDevices = () => ({ queues: {}, ivrs: {}, announcements: {} });

export function validateDevices(body, { queueExists, ivrExists }) {
  const errors = [];
  unknownFields("", body, ["queues", "ivrs", "announcements", "defaultAnnouncement"], errors);
  for (const group of ["queues", "ivrs", "announcements"]) {
    const map = body[group] ?? {};
    if (!isObject(map)) {
      errors.push({ field: group, message: "must be an object" });
      continue;
    }
    for (const [id, device] of Object.entries(map)) {
      if (!ID.test(id)) errors.push({ field: `${group}.${id}`, message: "must be 1 to 40 lowercase letters, digits or '-', starting with a letter or digit" });
      else if (typeof device !== "string" || !DEVICE.test(device)) errors.push({ field: `${group}.${id}`, message: DEVICE_MESSAGE });
      else if (group === "queues" && !queueExists(id)) errors.push({ field: `${group}.${id}`, message: "does not exist" });
      else if (group === "ivrs" && !ivrExists(id)) errors.push({ field: `${group}.${id}`, message: "does not exist" });
    }
  }
  if (body.defaultAnnouncement !== undefined && (typeof body.defaultAnnouncement !== "string" || !DEVICE.test(body.defaultAnnouncement))) {
    errors.push({ field: "defaultAnnouncement", message: DEVICE_MESSAGE });
  }
  return errors;
}

export function normalizeDevices(body) {
  return {
    queues: body.queues ?? {},
    ivrs: body.ivrs ?? {},
    announcements: body.announcements ?? {},
    ...(body.defaultAnnouncement !== undefined ? { defaultAnnouncement: body.defaultAnnouncement } : {}),
  };
}
