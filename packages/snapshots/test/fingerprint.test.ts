import { describe, expect, it } from "vitest";
import { normalizePipeline, pipelineFingerprint, isSecretKey } from "../src/index.js";

describe("pipeline fingerprint", () => {
  it("removes secrets at every depth, by key name, case-insensitively", () => {
    const a = {
      llm: { model: "m", api_key: "sk-1", max_tokens: 100, headers: { Authorization: "Bearer x", "X-Api-Key": "k" } },
      steps: [{ name: "s", config: { password: "p", nested: { deeper: { Private_Key: "pk", clientSecret: "cs", token: "t" } } } }],
      Credentials: { user: "u" },
      passwd: "x",
    };
    const b = JSON.parse(JSON.stringify(a));
    b.llm.api_key = "sk-2";
    b.llm.headers.Authorization = "Bearer y";
    b.llm.headers["X-Api-Key"] = "other";
    b.steps[0].config.password = "q";
    b.steps[0].config.nested.deeper.Private_Key = "other";
    b.steps[0].config.nested.deeper.clientSecret = "other";
    b.steps[0].config.nested.deeper.token = "other";
    b.Credentials = { user: "v" };
    b.passwd = "y";
    expect(pipelineFingerprint(a)).toBe(pipelineFingerprint(b));
    const text = JSON.stringify(normalizePipeline(a));
    for (const secret of ["sk-1", "Bearer", "pk", "cs", '"t"', '"p"']) expect(text).not.toContain(secret);
  });

  it("keeps non-secret fields such as max_tokens and tokenizer", () => {
    expect(isSecretKey("max_tokens")).toBe(false);
    expect(isSecretKey("tokenizer")).toBe(false);
    expect(isSecretKey("OPENAI_API_KEY")).toBe(true);
    expect(pipelineFingerprint({ llm: { max_tokens: 100 } })).not.toBe(pipelineFingerprint({ llm: { max_tokens: 200 } }));
  });

  it("excludes machine-local absolute paths but keeps relative ones", () => {
    const a = { source_dir: "/home/alice/src", build: "C:\\Users\\bob\\build", cache: "~/x", inputs: ["/tmp/a", "rel/b"], out: "./dist" };
    const b = { source_dir: "/srv/ci/src", build: "D:/ci", cache: "~/y", inputs: ["/var/other", "rel/b"], out: "./dist" };
    expect(pipelineFingerprint(a)).toBe(pipelineFingerprint(b));
    expect(pipelineFingerprint({ out: "./dist" })).not.toBe(pipelineFingerprint({ out: "./build" }));
  });

  it("hashes functions by their source: different bodies differ, identical sources agree", () => {
    const f1 = { transform: (x: number) => x + 1 };
    const f2 = { transform: (x: number) => x + 2 };
    const f1again = { transform: (x: number) => x + 1 };
    expect(pipelineFingerprint(f1)).not.toBe(pipelineFingerprint(f2));
    expect(pipelineFingerprint(f1)).toBe(pipelineFingerprint(f1again));
    function named(a: string) {
      return a.toUpperCase();
    }
    expect(normalizePipeline({ named })).toMatchObject({ named: { function: "named" } });
  });

  it("is independent of key order; classes, Maps, Sets, Dates are normalized; cycles are refused", () => {
    expect(pipelineFingerprint({ a: 1, b: { c: 2, d: 3 } })).toBe(pipelineFingerprint({ b: { d: 3, c: 2 }, a: 1 }));
    class Step {
      constructor(readonly prompt: string) {}
    }
    expect(normalizePipeline({ s: new Step("p"), m: new Map([["k", 1]]), set: new Set([3, 1, 2]), d: new Date(0) })).toEqual({
      s: { object_type: "Step", state: { prompt: "p" } },
      m: { k: 1 },
      set: [1, 2, 3],
      d: "1970-01-01T00:00:00.000Z",
    });
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expect(() => pipelineFingerprint(cyc)).toThrow(/cycle/);
    expect(pipelineFingerprint({})).toMatch(/^[0-9a-f]{64}$/);
  });
});
