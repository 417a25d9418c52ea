import { describe, expect, it } from "vitest";
import { optionsFromText, optionsToText } from "./admin-simple";

describe("client field options as lines", () => {
  it("reads value | Czech | English, filling a missing label from the one before", () => {
    expect(optionsFromText(" telefon | Telefon | Phone \n\nemail | E-mail\npost")).toEqual([
      { value: "telefon", label: { cs: "Telefon", en: "Phone" } },
      { value: "email", label: { cs: "E-mail", en: "E-mail" } },
      { value: "post", label: { cs: "post", en: "post" } },
    ]);
  });

  it("writes stored options back as the same lines", () => {
    const options = [
      { value: "telefon", label: { cs: "Telefon", en: "Phone" } },
      { value: "email", label: { cs: "E-mail", en: "E-mail" } },
    ];
    expect(optionsToText(options)).toBe("telefon | Telefon | Phone\nemail | E-mail | E-mail");
    expect(optionsFromText(optionsToText(options))).toEqual(options);
    expect(optionsToText(undefined)).toBe("");
  });
});
