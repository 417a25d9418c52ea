import { describe, expect, it } from "vitest";
import { readAdminUser } from "../api/admin";
import { mobileErrors, toForm, userFormToJson } from "./admin-user-form";

describe("the user form's mobile (DESK-2)", () => {
  const agent = readAdminUser({
    username: "agent01",
    displayName: "Jana Nováková",
    roles: ["agent"],
    groups: ["KKC"],
    agentNumber: "2001",
    mobile: { device: "2901", number: "+420601000001" },
    active: true,
  });

  it("shows a stored mobile and sends it back as {device, number}", () => {
    const form = toForm(agent);
    expect([form.mobileDevice, form.mobileNumber]).toEqual(["2901", "+420 601 000 001"]);
    expect(userFormToJson(form, false)).toMatchObject({ agentNumber: "2001", mobile: { device: "2901", number: "+420 601 000 001" } });
    expect(mobileErrors(form)).toEqual([]);
  });

  it("leaves the mobile out when both fields are empty (a PUT then removes it)", () => {
    const form = { ...toForm(agent), mobileDevice: " ", mobileNumber: "" };
    expect(userFormToJson(form, false)).not.toHaveProperty("mobile");
    expect(mobileErrors(form)).toEqual([]);
    expect(userFormToJson(toForm(null), true)).not.toHaveProperty("mobile");
  });

  it("names the empty field when only one of the two is filled in", () => {
    expect(mobileErrors({ mobileDevice: "2901", mobileNumber: "" }).map((error) => error.field)).toEqual(["mobile.number"]);
    expect(mobileErrors({ mobileDevice: "", mobileNumber: "601 000 001" }).map((error) => error.field)).toEqual(["mobile.device"]);
  });

  it("reads a user without a mobile, or with a malformed one, as none", () => {
    expect(readAdminUser({ username: "x", roles: [] }).mobile).toBeUndefined();
    expect(readAdminUser({ username: "x", roles: [], mobile: { device: "2901" } }).mobile).toBeUndefined();
    expect(readAdminUser({ username: "x", roles: [], mobile: "601000001" }).mobile).toBeUndefined();
  });
});
