import { describe, expect, it } from "vitest";
import type { ClientField } from "../api/desk";
import { clientFieldsToCreate, fieldLabels, knownClientValues, labelFieldErrors, newClientFieldOrder, splitPersonName } from "./desk-client-new";

const field = (key: string, order: number, extra: Partial<ClientField> = {}): ClientField => ({
  key,
  label: { cs: `cs:${key}`, en: `en:${key}` },
  type: "text",
  required: false,
  editable: true,
  inCard: true,
  order,
  ...extra,
});

const BUILT_IN = [
  field("firstName", 10),
  field("lastName", 20, { required: true }),
  field("phone", 90, { type: "phone" }),
  field("mobile", 100, { type: "phone" }),
  field("email", 110, { type: "email" }),
  field("company", 60, { inCard: false }),
];

describe("newClientFieldOrder", () => {
  it("puts the card's fields first, each group in the admin's order, without changing the input", () => {
    const fields = [field("note", 5, { inCard: false }), field("email", 3), field("lastName", 2), field("city", 1, { inCard: false })];
    expect(newClientFieldOrder(fields).map((entry) => entry.key)).toEqual(["lastName", "email", "city", "note"]);
    expect(fields.map((entry) => entry.key)).toEqual(["note", "email", "lastName", "city"]);
  });
});

describe("splitPersonName", () => {
  it("takes the last word as the surname", () => {
    expect(splitPersonName("Jan Dvořák")).toEqual({ first: "Jan", last: "Dvořák" });
    expect(splitPersonName("  Marie Anna   Dvořáková ")).toEqual({ first: "Marie Anna", last: "Dvořáková" });
  });

  it("leaves out titles and commas", () => {
    expect(splitPersonName("Ing. Jan Dvořák, Ph.D.")).toEqual({ first: "Jan", last: "Dvořák" });
  });

  it("takes one word as the first name, nothing as nothing", () => {
    expect(splitPersonName("Lenka")).toEqual({ first: "Lenka", last: "" });
    expect(splitPersonName("   ")).toEqual({ first: "", last: "" });
    expect(splitPersonName("MUDr.")).toEqual({ first: "", last: "" });
  });
});

describe("knownClientValues", () => {
  it("prefills the e-mail, the phone and the split name from a chat's customer", () => {
    expect(knownClientValues(BUILT_IN, { name: "Jan Dvořák", email: " jan@example.cz ", phone: "+420777888999" })).toEqual({
      firstName: "Jan",
      lastName: "Dvořák",
      email: "jan@example.cz",
      phone: "+420777888999",
    });
  });

  it("prefills only what is known (an SMS: the number; a call: the caller's number)", () => {
    expect(knownClientValues(BUILT_IN, { phone: "+420777888999" })).toEqual({ phone: "+420777888999" });
    expect(knownClientValues(BUILT_IN, { name: "", email: null })).toEqual({});
  });

  it("puts the number into the mobile when there is no phone field", () => {
    const fields = BUILT_IN.filter((entry) => entry.key !== "phone");
    expect(knownClientValues(fields, { phone: "+420777888999" })).toEqual({ mobile: "+420777888999" });
  });

  it("puts a whole name into the one name field there is, and leaves out fields there are not", () => {
    expect(knownClientValues([field("lastName", 1), field("email", 2)], { name: "Jan Dvořák" })).toEqual({ lastName: "Jan Dvořák" });
    expect(knownClientValues([field("firstName", 1)], { name: "Jan Dvořák", email: "jan@example.cz" })).toEqual({ firstName: "Jan Dvořák" });
    expect(knownClientValues([field("name", 1)], { name: "Jan Dvořák", phone: "+420777888999" })).toEqual({ name: "Jan Dvořák" });
    expect(knownClientValues([], { name: "Jan Dvořák", email: "jan@example.cz", phone: "+420777888999" })).toEqual({});
  });
});

describe("clientFieldsToCreate", () => {
  it("trims the values and leaves the empty ones out", () => {
    expect(clientFieldsToCreate({ firstName: " Jan ", lastName: "Dvořák", email: "  ", city: "" })).toEqual({ firstName: "Jan", lastName: "Dvořák" });
  });
});

describe("fieldLabels", () => {
  it("names the fields in the UI language, a key without a field as the key", () => {
    expect(fieldLabels(BUILT_IN, ["lastName", "email"], "cs")).toBe("cs:lastName, cs:email");
    expect(fieldLabels(BUILT_IN, ["lastName", "custom"], "en")).toBe("en:lastName, custom");
  });
});

describe("labelFieldErrors", () => {
  it("names a client field's errors by its label, other errors and problems as they are", () => {
    const problem = { status: 422, code: "validation-failed", errors: [{ field: "fields.email", message: "not an e-mail address" }, { field: "fields.custom", message: "required" }, { field: "clientId", message: "unknown" }] };
    expect(labelFieldErrors(problem, BUILT_IN, "cs")).toEqual({
      ...problem,
      errors: [{ field: "cs:email", message: "not an e-mail address" }, { field: "fields.custom", message: "required" }, { field: "clientId", message: "unknown" }],
    });
    expect(problem.errors[0]!.field).toBe("fields.email");
    const plain = { status: 409, code: "conflict" };
    expect(labelFieldErrors(plain, BUILT_IN, "en")).toBe(plain);
  });
});
