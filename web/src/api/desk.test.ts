import { describe, expect, it } from "vitest";
import { ApiError } from "./client";
import { DeskApi } from "./desk";

function fake(answers: Record<string, unknown> = {}) {
  const calls: { method: string; path: string; body?: unknown }[] = [];
  const api = {
    async call(method: "GET" | "POST" | "PUT" | "DELETE", path: string, body?: unknown): Promise<unknown> {
      calls.push(body === undefined ? { method, path } : { method, path, body });
      const answer = answers[`${method} ${path}`];
      if (answer instanceof Error) throw answer;
      return answer ?? null;
    },
  };
  return { desk: new DeskApi(api), calls };
}

describe("DeskApi", () => {
  it("sends the contract's routes and bodies", async () => {
    const { desk, calls } = fake({ "PUT /api/desk/favourites": { favourites: ["agent02"] } });
    await desk.setPresence("ready");
    await desk.setPresence("notReady", "obed");
    await desk.setQueue("kkc obecne", false);
    await desk.setPhone("mobile");
    await desk.setPhone("desk");
    await desk.callAction("relay-1/42", "consult", { target: { kind: "agent", username: "agent02" } });
    await desk.callAction("relay-1/42", "hangup");
    await desk.dial("+420601123456", "10000001");
    await desk.dial("2002");
    expect(await desk.setFavourites(["agent02"])).toEqual(["agent02"]);
    await desk.findClients({ phone: "+420601555777" });
    await desk.updateClient("10000001", 3, { city: "Brno" });
    await desk.addNote("ct-1", "text", null);
    await desk.setCategory("ct-1", "dotaz");
    await desk.setClient("ct-1", "10000001");
    await desk.history({ from: "2026-11-26T23:00:00.000Z", q: "platba" });
    expect(calls).toEqual([
      { method: "PUT", path: "/api/desk/presence", body: { state: "ready" } },
      { method: "PUT", path: "/api/desk/presence", body: { state: "notReady", breakCode: "obed" } },
      { method: "PUT", path: "/api/desk/queues/kkc%20obecne", body: { loggedIn: false } },
      { method: "PUT", path: "/api/desk/phone", body: { phone: "mobile" } },
      { method: "PUT", path: "/api/desk/phone", body: { phone: "desk" } },
      { method: "POST", path: "/api/desk/calls/relay-1/42/consult", body: { target: { kind: "agent", username: "agent02" } } },
      { method: "POST", path: "/api/desk/calls/relay-1/42/hangup", body: {} },
      { method: "POST", path: "/api/desk/dial", body: { number: "+420601123456", clientId: "10000001" } },
      { method: "POST", path: "/api/desk/dial", body: { number: "2002" } },
      { method: "PUT", path: "/api/desk/favourites", body: { favourites: ["agent02"] } },
      { method: "GET", path: "/api/clients?phone=%2B420601555777" },
      { method: "PUT", path: "/api/clients/10000001", body: { version: 3, fields: { city: "Brno" } } },
      { method: "POST", path: "/api/contacts/ct-1/notes", body: { text: "text", baseVersion: null } },
      { method: "PUT", path: "/api/contacts/ct-1/category", body: { categoryId: "dotaz" } },
      { method: "PUT", path: "/api/contacts/ct-1/client", body: { clientId: "10000001" } },
      { method: "GET", path: "/api/desk/history?from=2026-11-26T23%3A00%3A00.000Z&q=platba" },
    ]);
  });

  it("answers the phone switch's command, an empty answer as nothing", async () => {
    const { desk } = fake({ "PUT /api/desk/phone": { commandId: "cmd-1", requested: "phone" } });
    expect(await desk.setPhone("mobile")).toEqual({ commandId: "cmd-1", requested: "phone" });
    expect(await fake().desk.setPhone("desk")).toEqual({});
  });

  it("reads pages and sorts client fields by order", async () => {
    const { desk } = fake({
      "GET /api/desk/recent": { contacts: [{ contactId: "a" }], next: null },
      "GET /api/clients/1/contacts?cursor=20": { contacts: [], next: "40" },
      "GET /api/client-fields": { fields: [{ key: "b", order: 2 }, { key: "a", order: 1 }] },
    });
    expect((await desk.recent()).map((contact) => contact.contactId)).toEqual(["a"]);
    expect(await desk.clientContacts("1", "20")).toEqual({ contacts: [], next: "40" });
    expect((await desk.clientFields()).map((field) => field.key)).toEqual(["a", "b"]);
  });

  it("finds the categories at the desk route, for admins at the admin one, else none", async () => {
    const refused = new ApiError({ status: 404, code: "not-found" });
    const items = [{ categoryId: "dotaz", name: "Dotaz", parentId: null, active: true }];
    expect(await fake({ "GET /api/desk/categories": { items } }).desk.categories()).toEqual(items);
    const admin = fake({ "GET /api/desk/categories": refused, "GET /api/admin/call-categories?limit=100": { items, nextCursor: null } });
    expect(await admin.desk.categories(true)).toEqual(items);
    const agent = fake({ "GET /api/desk/categories": refused });
    expect(await agent.desk.categories(false)).toBeNull();
    expect(agent.calls.map((call) => call.path)).toEqual(["/api/desk/categories"]);
  });

  it("reads the statistics, an empty answer as no periods", async () => {
    const zero = { offered: 0, answered: 0, lost: 0, abandoned: 0, answeredInSl: 0, serviceLevel: null, averageTalkSeconds: null };
    const period = { period: "24h", from: "2026-11-27T06:00:00Z", to: "2026-11-28T06:10:00Z", all: zero, myQueues: zero, queues: [], mine: zero };
    const { desk, calls } = fake({ "GET /api/desk/stats": { serviceLevelSeconds: 20, periods: [period] } });
    expect(await desk.stats()).toEqual({ serviceLevelSeconds: 20, periods: [period] });
    expect(calls).toEqual([{ method: "GET", path: "/api/desk/stats" }]);
    expect(await fake().desk.stats()).toEqual({ serviceLevelSeconds: 0, periods: [] });
  });
});
