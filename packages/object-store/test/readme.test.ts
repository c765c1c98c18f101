import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ERROR_CODES } from "@snap/schema";
import { describe, expect, it } from "vitest";

const PACKAGE = join(import.meta.dirname, "..");
const README = readFileSync(join(PACKAGE, "README.md"), "utf8");

/** Every code this package throws on purpose. */
const THROWN = [
  "invalid_argument",
  "oid_invalid",
  "oid_mismatch",
  "object_not_found",
  "object_corrupt",
  "object_invalid",
  "schema_version_unsupported",
  "closed",
  "internal",
] as const;

describe("README", () => {
  it("has an errors-table row for every code the package throws", () => {
    for (const code of THROWN) {
      expect(ERROR_CODES[code], code).toBeDefined();
      expect(README, `README error table has no row for ${code}`).toMatch(new RegExp(`^\\| \`${code}\` \\|`, "m"));
    }
  });

  it("shows the usage example that test/readme-example.ts runs", async () => {
    const source = readFileSync(join(import.meta.dirname, "readme-example.ts"), "utf8");
    const region = /\/\/ #region readme\n([\s\S]*?)\/\/ #endregion/.exec(source)?.[1] ?? "";
    const published = region.replace('"../src/index.js"', '"@snap/object-store"');
    expect(README).toContain("```ts\n" + published + "```");
    const example = (await import("./readme-example.js")) as { oid: string };
    expect(example.oid).toBe("edbfeaa1da28f7d6bab174af128632fded084eb19eeee9a637a335e9bdb9d3ad");
  });
});
