import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REFS_DEFINITIONS } from "../src/index.js";
import { oid } from "./helpers.js";

const PACKAGE = join(import.meta.dirname, "..");
const README = readFileSync(join(PACKAGE, "README.md"), "utf8");

describe("README", () => {
  it("shows the usage example that test/readme-example.ts runs", async () => {
    const source = readFileSync(join(import.meta.dirname, "readme-example.ts"), "utf8");
    const region = /\/\/ #region readme\n([\s\S]*?)\/\/ #endregion/.exec(source)![1]!;
    const published = region.replace('"../src/index.js"', '"@snap/refs"');
    expect(README).toContain("```ts\n" + published + "```");
    const example = (await import("./readme-example.js")) as { head: string };
    expect(example.head).toBe("3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d");
    expect(example.head).not.toBe(oid(""));
  });

  it("lists every error code refs throws and every record it defines", () => {
    for (const code of [
      "ref_locked",
      "ref_expect_mismatch",
      "ref_name_invalid",
      "ref_name_conflict",
      "ref_cycle",
      "ref_not_found",
      "invalid_argument",
      "corruption_found",
      "io_error",
    ]) {
      expect(README).toMatch(new RegExp(`^\\| \`${code}\` \\|`, "m"));
    }
    for (const d of REFS_DEFINITIONS) expect(README).toMatch(new RegExp(`^\\| \`${d.name}\` \\| ${d.version} \\|`, "m"));
  });
});
