// The IVR tree editor (strom IVR, IN-10 … IN-13, IN-6) as plain strings ↔ the API's JSON.
// Pure: no DOM. Each node is one flat form with the fields of every kind, so switching a
// node's kind keeps what was typed; `formToTree` writes only the fields of the chosen kind,
// in the order serde writes them (shared/src/ivr/model.rs), so a stored tree survives the
// round trip unchanged. The node list keeps the document's order.

import type { Json } from "../api/admin";
import type { FieldError } from "../api/problem";
import {
  COMPARISONS,
  DIGIT_VALIDATIONS,
  NODE_KINDS,
  QUEUE_STATISTICS,
  type Comparison,
  type DigitValidation,
  type IvrNode,
  type IvrTree,
  type NodeKind,
  type PromptRef,
  type QueueStatistic,
} from "../api/routing";
import { ID_PATTERN, numberOrText } from "./queue-form";

export interface PromptForm {
  kind: "tts" | "audio";
  text: string;
  voice: string;
  key: string;
}

export interface PairForm {
  /** A DTMF key (menu) or a client status (branchClientStatus). */
  key: string;
  target: string;
}

export interface NodeForm {
  id: string;
  kind: NodeKind;
  prompt: PromptForm;
  /** hangup: whether it plays a prompt first. */
  hasPrompt: boolean;
  next: string;
  // menu
  options: PairForm[];
  timeoutSeconds: string;
  maxAttempts: string;
  onTimeout: string;
  onInvalid: string;
  onExhausted: string;
  // collectDigits
  minDigits: string;
  maxDigits: string;
  terminator: string;
  validation: DigitValidation;
  attribute: string;
  // branchHours: a queue's hours, or the node's own schedule (kept as JSON, not edited here)
  queueId: string;
  schedule: unknown;
  open: string;
  closed: string;
  // branchStatistic
  stat: QueueStatistic;
  op: Comparison;
  value: string;
  then: string;
  otherwise: string;
  // branchClientStatus
  statuses: PairForm[];
  defaultTarget: string;
  // setAttribute
  attrName: string;
  attrValue: string;
  // transferToQueue / transferToNumber
  priority: string;
  number: string;
  // voicemail
  greeting: PromptForm;
  maxSeconds: string;
  // callbackOffer
  acceptDigit: string;
  allowChosenTime: boolean;
  timePrompt: PromptForm;
  hasTimePrompt: boolean;
  accepted: string;
  declined: string;
}

export interface IvrForm {
  ivrId: string;
  name: string;
  active: boolean;
  entryNode: string;
  /** The queue that calls back callers lost in the tree (IN-22); empty = the tree's only queue. */
  lostCallsQueueId: string;
  hasAnnouncement: boolean;
  announcement: PromptForm;
  announcementActive: boolean;
  nodes: NodeForm[];
}

export const emptyPrompt = (): PromptForm => ({ kind: "tts", text: "", voice: "", key: "" });

export function newNodeForm(id: string, kind: NodeKind): NodeForm {
  return {
    id,
    kind,
    prompt: emptyPrompt(),
    hasPrompt: false,
    next: "",
    options: [],
    timeoutSeconds: kind === "collectDigits" ? "10" : "5",
    maxAttempts: "3",
    onTimeout: "",
    onInvalid: "",
    onExhausted: "",
    minDigits: "1",
    maxDigits: "10",
    terminator: "#",
    validation: "digits",
    attribute: "",
    queueId: "",
    schedule: undefined,
    open: "",
    closed: "",
    stat: "agentsLoggedOn",
    op: "gt",
    value: "0",
    then: "",
    otherwise: "",
    statuses: [],
    defaultTarget: "",
    attrName: "",
    attrValue: "",
    priority: "",
    number: "",
    greeting: emptyPrompt(),
    maxSeconds: "120",
    acceptDigit: "1",
    allowChosenTime: false,
    timePrompt: emptyPrompt(),
    hasTimePrompt: false,
    accepted: "",
    declined: "",
  };
}

export function newIvrForm(): IvrForm {
  return {
    ivrId: "",
    name: "",
    active: true,
    entryNode: "uvitani",
    lostCallsQueueId: "",
    hasAnnouncement: false,
    announcement: emptyPrompt(),
    announcementActive: false,
    nodes: [newNodeForm("uvitani", "prompt")],
  };
}

// ---- JSON → form ----------------------------------------------------------------------------

const str = (value: unknown): string => (typeof value === "string" ? value : typeof value === "number" ? String(value) : "");
const num = (value: unknown, fallback: string): string => (value === undefined || value === null ? fallback : str(value));
const isRecord = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);

export function promptToForm(prompt: unknown): PromptForm {
  const p = isRecord(prompt) ? prompt : {};
  return p["kind"] === "audio"
    ? { kind: "audio", text: "", voice: "", key: str(p["key"]) }
    : { kind: "tts", text: str(p["text"]), voice: str(p["voice"]), key: "" };
}

const pairs = (value: unknown): PairForm[] => (isRecord(value) ? Object.entries(value).map(([key, target]) => ({ key, target: str(target) })) : []);

function oneOf<T extends string>(list: readonly T[], value: unknown, fallback: T): T {
  return (list as readonly unknown[]).includes(value) ? (value as T) : fallback;
}

export function nodeToForm(id: string, node: Json): NodeForm {
  const kind = oneOf(NODE_KINDS, node["kind"], "prompt");
  const form = newNodeForm(id, kind);
  const has = (key: string) => node[key] !== undefined && node[key] !== null;
  form.prompt = promptToForm(node["prompt"]);
  form.hasPrompt = kind !== "hangup" || has("prompt");
  form.next = str(node["next"]);
  form.options = pairs(node["options"]);
  form.timeoutSeconds = num(node["timeoutSeconds"], form.timeoutSeconds);
  form.maxAttempts = num(node["maxAttempts"], form.maxAttempts);
  form.onTimeout = str(node["onTimeout"]);
  form.onInvalid = str(node["onInvalid"]);
  form.onExhausted = str(node["onExhausted"]);
  form.minDigits = num(node["minDigits"], form.minDigits);
  form.maxDigits = num(node["maxDigits"], form.maxDigits);
  form.terminator = kind === "collectDigits" ? str(node["terminator"]) : form.terminator;
  form.validation = oneOf(DIGIT_VALIDATIONS, node["validation"], form.validation);
  form.attribute = str(node["attribute"]);
  form.queueId = str(node["queueId"]);
  form.schedule = has("schedule") ? node["schedule"] : undefined;
  form.open = str(node["open"]);
  form.closed = str(node["closed"]);
  form.stat = oneOf(QUEUE_STATISTICS, node["stat"], form.stat);
  form.op = oneOf(COMPARISONS, node["op"], form.op);
  form.value = num(node["value"], form.value);
  form.then = str(node["then"]);
  form.otherwise = str(node["else"]);
  form.statuses = pairs(node["statuses"]);
  form.defaultTarget = str(node["default"]);
  if (kind === "setAttribute") {
    form.attrName = str(node["name"]);
    form.attrValue = str(node["value"]);
    form.value = "0";
  }
  form.priority = num(node["priority"], "");
  form.number = str(node["number"]);
  form.greeting = promptToForm(node["greeting"]);
  form.maxSeconds = num(node["maxSeconds"], form.maxSeconds);
  form.acceptDigit = num(node["acceptDigit"], form.acceptDigit);
  form.allowChosenTime = node["allowChosenTime"] === true;
  form.hasTimePrompt = has("timePrompt");
  form.timePrompt = promptToForm(node["timePrompt"]);
  form.accepted = str(node["accepted"]);
  form.declined = str(node["declined"]);
  return form;
}

export function treeToForm(tree: IvrTree): IvrForm {
  const announcement = tree.generalAnnouncement;
  return {
    ivrId: tree.ivrId ?? "",
    name: tree.name ?? "",
    active: tree.active !== false,
    entryNode: tree.entryNode ?? "",
    lostCallsQueueId: tree.lostCallsQueueId ?? "",
    hasAnnouncement: announcement !== undefined && announcement !== null,
    announcement: promptToForm(announcement?.prompt),
    announcementActive: announcement?.active === true,
    nodes: Object.entries(isRecord(tree.nodes) ? tree.nodes : {}).map(([id, node]) => nodeToForm(id, isRecord(node) ? node : {})),
  };
}

// ---- form → JSON ----------------------------------------------------------------------------

export function promptFromForm(form: PromptForm): PromptRef {
  if (form.kind === "audio") return { kind: "audio", key: form.key.trim() };
  const voice = form.voice.trim();
  return voice ? { kind: "tts", text: form.text.trim(), voice } : { kind: "tts", text: form.text.trim() };
}

const fromPairs = (list: readonly PairForm[]): Record<string, string> => Object.fromEntries(list.map((pair) => [pair.key.trim(), pair.target]));

/** Optional node references and values: empty = left out. */
function optional(out: Json, key: string, value: string, asNumber = false): void {
  const text = value.trim();
  if (text !== "") out[key] = asNumber ? numberOrText(text) : text;
}

export function nodeFromForm(form: NodeForm): IvrNode {
  const n = (value: string) => numberOrText(value);
  const out: Json = { kind: form.kind };
  switch (form.kind) {
    case "prompt":
      out["prompt"] = promptFromForm(form.prompt);
      out["next"] = form.next;
      break;
    case "menu":
      out["prompt"] = promptFromForm(form.prompt);
      out["options"] = fromPairs(form.options);
      out["timeoutSeconds"] = n(form.timeoutSeconds);
      out["maxAttempts"] = n(form.maxAttempts);
      optional(out, "onTimeout", form.onTimeout);
      optional(out, "onInvalid", form.onInvalid);
      out["onExhausted"] = form.onExhausted;
      break;
    case "collectDigits":
      out["prompt"] = promptFromForm(form.prompt);
      out["minDigits"] = n(form.minDigits);
      out["maxDigits"] = n(form.maxDigits);
      optional(out, "terminator", form.terminator);
      out["timeoutSeconds"] = n(form.timeoutSeconds);
      out["validation"] = form.validation;
      out["attribute"] = form.attribute.trim();
      out["next"] = form.next;
      optional(out, "onInvalid", form.onInvalid);
      out["maxAttempts"] = n(form.maxAttempts);
      out["onExhausted"] = form.onExhausted;
      break;
    case "branchHours":
      if (form.schedule !== undefined && form.queueId.trim() === "") out["schedule"] = form.schedule;
      else out["queueId"] = form.queueId.trim();
      out["open"] = form.open;
      out["closed"] = form.closed;
      break;
    case "branchStatistic":
      out["queueId"] = form.queueId.trim();
      out["stat"] = form.stat;
      out["op"] = form.op;
      out["value"] = n(form.value);
      out["then"] = form.then;
      out["else"] = form.otherwise;
      break;
    case "branchClientStatus":
      out["statuses"] = fromPairs(form.statuses);
      out["default"] = form.defaultTarget;
      break;
    case "setAttribute":
      out["name"] = form.attrName.trim();
      out["value"] = form.attrValue;
      out["next"] = form.next;
      break;
    case "transferToQueue":
      out["queueId"] = form.queueId.trim();
      optional(out, "priority", form.priority, true);
      break;
    case "transferToNumber":
      out["number"] = form.number.trim();
      break;
    case "voicemail":
      out["queueId"] = form.queueId.trim();
      out["greeting"] = promptFromForm(form.greeting);
      out["maxSeconds"] = n(form.maxSeconds);
      break;
    case "callbackOffer":
      out["queueId"] = form.queueId.trim();
      out["prompt"] = promptFromForm(form.prompt);
      out["acceptDigit"] = form.acceptDigit.trim();
      out["allowChosenTime"] = form.allowChosenTime;
      if (form.allowChosenTime || form.hasTimePrompt) out["timePrompt"] = promptFromForm(form.timePrompt);
      out["timeoutSeconds"] = n(form.timeoutSeconds);
      out["maxAttempts"] = n(form.maxAttempts);
      optional(out, "accepted", form.accepted);
      out["declined"] = form.declined;
      break;
    case "announcePosition":
      out["queueId"] = form.queueId.trim();
      out["next"] = form.next;
      break;
    case "hangup":
      if (form.hasPrompt) out["prompt"] = promptFromForm(form.prompt);
      break;
  }
  return out as IvrNode;
}

/** The request body (`withId` = false for PUT: the id is in the path). */
export function formToTree(form: IvrForm, withId = true): Json {
  const out: Json = {};
  if (withId) out["ivrId"] = form.ivrId.trim();
  out["name"] = form.name.trim();
  out["active"] = form.active;
  out["entryNode"] = form.entryNode;
  optional(out, "lostCallsQueueId", form.lostCallsQueueId);
  if (form.hasAnnouncement) {
    out["generalAnnouncement"] = { prompt: promptFromForm(form.announcement), active: form.announcementActive };
  }
  out["nodes"] = Object.fromEntries(form.nodes.map((node) => [node.id.trim(), nodeFromForm(node)]));
  return out;
}

// ---- editing helpers ------------------------------------------------------------------------

/** The node references of a node form (field name → node id), as model.rs `edges()` names them. */
export function nodeEdges(form: NodeForm): [string, string][] {
  switch (form.kind) {
    case "prompt":
    case "setAttribute":
    case "announcePosition":
      return [["next", form.next]];
    case "menu":
      return [
        ...form.options.map((option): [string, string] => [`options.${option.key}`, option.target]),
        ...(form.onTimeout ? [["onTimeout", form.onTimeout] as [string, string]] : []),
        ...(form.onInvalid ? [["onInvalid", form.onInvalid] as [string, string]] : []),
        ["onExhausted", form.onExhausted],
      ];
    case "collectDigits":
      return [["next", form.next], ...(form.onInvalid ? [["onInvalid", form.onInvalid] as [string, string]] : []), ["onExhausted", form.onExhausted]];
    case "branchHours":
      return [
        ["open", form.open],
        ["closed", form.closed],
      ];
    case "branchStatistic":
      return [
        ["then", form.then],
        ["else", form.otherwise],
      ];
    case "branchClientStatus":
      return [...form.statuses.map((status): [string, string] => [`statuses.${status.key}`, status.target]), ["default", form.defaultTarget]];
    case "callbackOffer":
      return [...(form.accepted ? [["accepted", form.accepted] as [string, string]] : []), ["declined", form.declined]];
    default:
      return [];
  }
}

const REFERENCE_FIELDS = ["next", "onTimeout", "onInvalid", "onExhausted", "open", "closed", "then", "otherwise", "defaultTarget", "accepted", "declined"] as const;

/** Renames a node and every reference to it (other nodes and the entry node). */
export function renameNode(form: IvrForm, from: string, to: string): void {
  if (from === to) return;
  for (const node of form.nodes) {
    if (node.id === from) node.id = to;
    for (const field of REFERENCE_FIELDS) if (node[field] === from) node[field] = to;
    for (const pair of [...node.options, ...node.statuses]) if (pair.target === from) pair.target = to;
  }
  if (form.entryNode === from) form.entryNode = to;
}

/** A node id not yet used in the tree: `uzel-1`, `uzel-2` … */
export function freshNodeId(form: IvrForm, base = "uzel"): string {
  const used = new Set(form.nodes.map((node) => node.id));
  for (let i = 1; ; i++) {
    if (!used.has(`${base}-${i}`)) return `${base}-${i}`;
  }
}

/** Whether a node of this kind ends the call's way through the tree (no next node). */
export function isExitKind(kind: NodeKind): boolean {
  return kind === "transferToQueue" || kind === "transferToNumber" || kind === "voicemail" || kind === "hangup";
}

/**
 * What the browser can tell before sending: the tree id, the name, node ids (form, duplicates)
 * and the entry node. Graph checks and everything else are the server's (validate / save).
 */
export function checkIvrForm(form: IvrForm, isNew: boolean): FieldError[] {
  const errors: FieldError[] = [];
  if (isNew && !ID_PATTERN.test(form.ivrId.trim())) {
    errors.push({ field: "ivrId", message: form.ivrId.trim() ? "must match ^[a-z0-9][a-z0-9-]{0,39}$" : "is required" });
  }
  if (!form.name.trim()) errors.push({ field: "name", message: "is required" });
  const seen = new Set<string>();
  for (const node of form.nodes) {
    const id = node.id.trim();
    if (!ID_PATTERN.test(id)) errors.push({ field: `nodes.${id}`, message: "node id must be 1 to 40 lowercase letters, digits or '-'" });
    else if (seen.has(id)) errors.push({ field: `nodes.${id}`, message: "duplicate node id" });
    seen.add(id);
  }
  if (form.nodes.length === 0) errors.push({ field: "nodes", message: "must hold at least one node" });
  else if (!seen.has(form.entryNode)) errors.push({ field: "entryNode", message: "is required" });
  return errors;
}
