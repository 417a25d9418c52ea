import { describe, expect, it, vi } from "vitest";
import { translate } from "../i18n";
import { ApiError, ApiClient } from "./client";
import { describeProblem, toProblem, withConflictOnId } from "./problem";

const cs = (key: Parameters<typeof translate>[1], params?: Parameters<typeof translate>[2]) =>
  translate("cs", key, params);

describe("problem → message", () => {
  it.each([
    ["unauthorized", 401, "Nejste přihlášeni nebo platnost přihlášení vypršela."],
    ["forbidden", 403, "K této akci nemáte oprávnění."],
    ["not-found", 404, "Požadovaný záznam nebyl nalezen."],
    ["validation-failed", 422, "Zadané údaje nejsou platné."],
    ["conflict", 409, "Záznam mezitím změnil někdo jiný. Načtěte stránku znovu."],
    ["internal", 500, "Na serveru došlo k chybě. Zkuste to znovu později."],
  ])("shows the Czech message of code %s", (code, status, message) => {
    const problem = toProblem(status, { type: "about:blank", title: "x", status, code });
    expect(describeProblem(problem, cs)).toBe(message);
  });

  it("falls back to the status when the code is unknown or missing", () => {
    expect(describeProblem(toProblem(404, { message: "Not Found" }), cs)).toBe("Požadovaný záznam nebyl nalezen.");
    expect(describeProblem(toProblem(403, { code: "something-new" }), cs)).toBe("K této akci nemáte oprávnění.");
  });

  it("shows a generic message with the status for anything else", () => {
    expect(describeProblem(toProblem(418, { code: "teapot" }), cs)).toBe("Něco se nepovedlo (chyba 418).");
    expect(describeProblem(toProblem(400, "plain text"), cs)).toBe("Něco se nepovedlo (chyba 400).");
    expect(describeProblem({}, cs)).toBe("Něco se nepovedlo.");
  });

  it("words code families <noun>-exists, -in-use and -not-found", () => {
    expect(describeProblem(toProblem(409, { code: "queue-exists" }), cs)).toBe("Záznam s tímto označením už existuje.");
    expect(describeProblem(toProblem(409, { code: "transfer-group-in-use" }), cs)).toBe("Záznam nelze smazat, protože na něj odkazují jiné záznamy.");
    expect(describeProblem(toProblem(409, { code: "queue-has-members" }), cs)).toBe("Fronta má stále operátory; nejdříve je z ní odeberte.");
    expect(describeProblem(toProblem(404, { code: "break-code-not-found" }), cs)).toBe("Požadovaný záznam nebyl nalezen.");
  });

  it("puts a 409 of a create on the id field", () => {
    expect(withConflictOnId(toProblem(409, { code: "conflict" }), "queueId").errors).toEqual([{ field: "queueId", message: "already exists" }]);
    expect(withConflictOnId(toProblem(422, { code: "validation-failed" }), "queueId").errors).toBeUndefined();
  });

  it("keeps well-formed field errors and drops malformed ones", () => {
    const problem = toProblem(422, {
      code: "validation-failed",
      errors: [{ field: "text", message: "must not be empty" }, { field: 1 }, "x"],
    });
    expect(problem.errors).toEqual([{ field: "text", message: "must not be empty" }]);
  });
});

describe("ApiClient errors", () => {
  it("turns a 401 problem into an ApiError and reports it", async () => {
    const onUnauthorized = vi.fn();
    const api = new ApiClient({
      baseUrl: "",
      accessToken: () => "token",
      onUnauthorized,
      fetchFn: async () =>
        new Response(JSON.stringify({ status: 401, code: "unauthorized", title: "Unauthorized" }), {
          status: 401,
          headers: { "Content-Type": "application/problem+json" },
        }),
    });
    const error = await api.me().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).problem.code).toBe("unauthorized");
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });

  it("sends the bearer token and reports an unreachable server as `network`", async () => {
    const seen: Headers[] = [];
    const api = new ApiClient({
      baseUrl: "",
      accessToken: () => "abc",
      onUnauthorized: () => undefined,
      fetchFn: async (_input, init) => {
        seen.push(new Headers(init?.headers));
        throw new TypeError("Failed to fetch");
      },
    });
    const error = await api.users().catch((caught: unknown) => caught);
    expect(seen[0]?.get("Authorization")).toBe("Bearer abc");
    expect(describeProblem((error as ApiError).problem, cs)).toBe("Server není dostupný. Zkontrolujte připojení k síti.");
  });
});
