import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, ERROR_CODE_LIST } from "../src/errors.js";
import { DEFINITIONS } from "../src/index.js";
import { oidOf } from "../src/oid.js";

const PACKAGE = join(import.meta.dirname, "..");
const README = readFileSync(join(PACKAGE, "README.md"), "utf8");

describe("README", () => {
  it("lists every error code with its exit code and meaning", () => {
    for (const code of ERROR_CODE_LIST) {
      const row = new RegExp(`^\\| \`${code}\` \\| ${ERROR_CODES[code].exit} \\| (.+) \\|$`, "m").exec(README);
      expect(row, `README error table has no row for ${code}`).not.toBeNull();
      expect(row![1]).toContain(ERROR_CODES[code].meaning);
    }
  });

  it("lists every registered schema with its current version", () => {
    for (const d of DEFINITIONS) {
      expect(README, `README schema list lacks ${d.name}`).toMatch(new RegExp(`^\\| \`${d.name}\` \\| ${d.version} \\|`, "m"));
    }
  });

  it("shows the usage example that test/readme-example.ts runs", async () => {
    const source = readFileSync(join(import.meta.dirname, "readme-example.ts"), "utf8");
    const region = /\/\/ #region readme\n([\s\S]*?)\/\/ #endregion/.exec(source)![1]!;
    const published = region.replace('"../src/index.js"', '"@snap/schema"');
    expect(README).toContain("```ts\n" + published + "```");
    const example = (await import("./readme-example.js")) as { oid: string };
    expect(example.oid).toMatch(/^[0-9a-f]{64}$/);
    expect(example.oid).not.toBe(oidOf(""));
  });
});
