import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "@snap/schema";
import { SNAPSHOT_RECORDS } from "../src/index.js";
import { runReadmeExample } from "./readme-example.js";

const README = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");

describe("README", () => {
  it("shows the usage example that test/readme-example.ts runs, and the example works", async () => {
    const source = readFileSync(join(import.meta.dirname, "readme-example.ts"), "utf8");
    const region = (/\/\/ #region readme\n([\s\S]*?)\s*\/\/ #endregion/.exec(source) as RegExpExecArray)[1] as string;
    const published = region
      .split("\n")
      .map((l) => l.replace(/^ {2}/, ""))
      .join("\n")
      .replace('"../src/index.js"', '"@snap/snapshots"');
    expect(README).toContain("```ts\n" + published + "\n```");
    expect(await runReadmeExample()).toMatch(/^[0-9a-f]{64}$/);
  });

  it("lists every error code this package throws, with its exit code", () => {
    const src = ["transaction", "release", "resolve", "label", "store", "adapters", "gc", "fsck", "tree", "commit-directory", "view"]
      .map((f) => readFileSync(join(import.meta.dirname, "..", "src", `${f}.ts`), "utf8"))
      .join("\n");
    const thrown = new Set([...src.matchAll(/SnapError\("([a-z_]+)"/g)].map((m) => m[1] as string));
    thrown.delete("internal");
    thrown.delete("object_invalid");
    thrown.delete("schema_version_unsupported");
    for (const code of thrown) {
      const exit = ERROR_CODES[code as keyof typeof ERROR_CODES].exit;
      expect(README, `README lacks ${code}`).toMatch(new RegExp(`^\\| \`${code}\` \\| ${exit} \\|`, "m"));
    }
  });

  it("lists every record schema of this package", () => {
    for (const d of SNAPSHOT_RECORDS) expect(README).toContain(`\`${d.name}\``);
  });
});
