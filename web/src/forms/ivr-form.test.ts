import { describe, expect, it } from "vitest";
// The sample tree of the local stack, the same file the Rust tests store.
import sampleText from "../../../localstack/ivr/hlavni-linka.json?raw";
import { NODE_KINDS, type IvrTree } from "../api/routing";
import { checkIvrForm, formToTree, freshNodeId, newIvrForm, newNodeForm, nodeEdges, nodeFromForm, nodeToForm, renameNode, treeToForm } from "./ivr-form";

const sample = JSON.parse(sampleText) as IvrTree;

describe("IVR tree form ↔ JSON", () => {
  it("gives back the sample tree hlavni-linka.json unchanged, even in key order", () => {
    const form = treeToForm(sample);
    const back = formToTree(form, true);
    expect(back).toEqual(sample);
    expect(JSON.stringify(back)).toBe(JSON.stringify(sample));
  });

  it("reads every node of the sample into its own form", () => {
    const form = treeToForm(sample);
    expect(form.nodes.map((node) => node.id)).toEqual(Object.keys(sample.nodes));
    expect(form.entryNode).toBe("uvitani");
    expect(form.hasAnnouncement).toBe(true);
    expect(form.announcementActive).toBe(false);
    const menu = form.nodes.find((node) => node.id === "hlavni-menu");
    expect(menu?.options).toEqual([
      { key: "1", target: "tema-platby" },
      { key: "2", target: "tema-registrace" },
      { key: "3", target: "tema-asistence" },
      { key: "9", target: "tema-operator" },
    ]);
    expect(menu?.onTimeout).toBe("nezadano");
    const digits = form.nodes.find((node) => node.id === "cislo-pojistence");
    expect(digits).toMatchObject({ validation: "insuranceNumber", attribute: "insuranceNumber", minDigits: "9", maxDigits: "10", terminator: "#" });
    const vip = form.nodes.find((node) => node.id === "status-klienta");
    expect(vip?.statuses).toEqual([{ key: "VIP", target: "prepojit-obecne-prednostne" }]);
    expect(form.nodes.find((node) => node.id === "vzkaz")?.greeting).toEqual({ kind: "audio", key: "prompts/ton.wav", text: "", voice: "" });
    expect(form.nodes.find((node) => node.id === "tema-platby")).toMatchObject({ attrName: "problem", attrValue: "platby" });
  });

  it("leaves the id out for PUT", () => {
    const body = formToTree(treeToForm(sample), false);
    expect(body).not.toHaveProperty("ivrId");
    expect(body["entryNode"]).toBe("uvitani");
  });

  it("writes only the fields of each kind, optional ones only when set", () => {
    for (const kind of NODE_KINDS) {
      const node = nodeFromForm(newNodeForm("x", kind));
      expect(node.kind).toBe(kind);
    }
    expect(nodeFromForm(newNodeForm("x", "hangup"))).toEqual({ kind: "hangup" });
    expect(nodeFromForm({ ...newNodeForm("x", "transferToQueue"), queueId: " kkc ", number: "123" })).toEqual({ kind: "transferToQueue", queueId: "kkc" });
    expect(nodeFromForm({ ...newNodeForm("x", "transferToQueue"), queueId: "kkc", priority: "7" })).toEqual({ kind: "transferToQueue", queueId: "kkc", priority: 7 });
    const menu = { ...newNodeForm("m", "menu"), options: [{ key: "1", target: "a" }], onExhausted: "b" };
    menu.prompt.text = "Zvolte";
    expect(nodeFromForm(menu)).toEqual({
      kind: "menu",
      prompt: { kind: "tts", text: "Zvolte" },
      options: { "1": "a" },
      timeoutSeconds: 5,
      maxAttempts: 3,
      onExhausted: "b",
    });
  });

  it("keeps what was typed when a node changes kind and back", () => {
    const node = nodeToForm("n", { kind: "setAttribute", name: "problem", value: "platby", next: "dal" });
    node.kind = "prompt";
    node.kind = "setAttribute";
    expect(nodeFromForm(node)).toEqual({ kind: "setAttribute", name: "problem", value: "platby", next: "dal" });
  });

  it("sends numbers typed wrong as text, so that the server names the field", () => {
    const node = { ...newNodeForm("m", "menu"), timeoutSeconds: "pět" };
    expect(nodeFromForm(node)["timeoutSeconds"]).toBe("pět");
  });

  it("keeps a branchHours node's own schedule it cannot edit", () => {
    const schedule = { timezone: "Europe/Prague", weekly: {}, exceptions: [], closedOnPublicHolidays: true };
    const node = { kind: "branchHours", schedule, open: "a", closed: "b" };
    expect(nodeFromForm(nodeToForm("h", node))).toEqual(node);
  });

  it("lists a node's edges with the server's field names", () => {
    const form = treeToForm(sample);
    const menu = form.nodes.find((node) => node.id === "hlavni-menu")!;
    expect(nodeEdges(menu).map(([field]) => field)).toEqual(["options.1", "options.2", "options.3", "options.9", "onTimeout", "onInvalid", "onExhausted"]);
    const statistic = form.nodes.find((node) => node.id === "platby-obsazenost")!;
    expect(nodeEdges(statistic)).toEqual([
      ["then", "platby-poradi"],
      ["else", "platby-zpetne-volani"],
    ]);
  });

  it("renames a node and every reference to it", () => {
    const form = treeToForm(sample);
    renameNode(form, "hlavni-menu", "menu");
    expect(form.nodes.some((node) => node.id === "menu")).toBe(true);
    const tree = formToTree(form) as unknown as IvrTree;
    expect(tree.nodes["cislo-pojistence"]).toMatchObject({ next: "menu", onExhausted: "menu" });
    expect(tree.nodes["nezadano"]?.["next"]).toBe("menu");
    renameNode(form, "uvitani", "start");
    expect(form.entryNode).toBe("start");
    renameNode(form, "prepojit-obecne", "obecne");
    expect((formToTree(form) as unknown as IvrTree).nodes["status-klienta"]).toEqual({
      kind: "branchClientStatus",
      statuses: { VIP: "prepojit-obecne-prednostne" },
      default: "obecne",
    });
  });

  it("checks ids and the entry node before sending; the rest is the server's", () => {
    const form = newIvrForm();
    expect(checkIvrForm(form, true).map((e) => e.field)).toEqual(["ivrId", "name"]);
    form.ivrId = "linka";
    form.name = "Linka";
    expect(checkIvrForm(form, true)).toEqual([]);
    form.nodes.push(newNodeForm("uvitani", "hangup"));
    form.nodes.push(newNodeForm("Špatně", "hangup"));
    expect(checkIvrForm(form, false).map((e) => e.field)).toEqual(["nodes.uvitani", "nodes.Špatně"]);
    form.nodes = [];
    expect(checkIvrForm(form, false).map((e) => e.field)).toEqual(["nodes"]);
    expect(freshNodeId(treeToForm(sample))).toBe("uzel-1");
  });
});
