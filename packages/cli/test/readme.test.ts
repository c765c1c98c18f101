/** The README documents every command (with an example) and every --json document type. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../src/commands/index.js";
import { OUTPUT_DEFINITIONS } from "../src/schema.js";
import { CLI_ROOT } from "./snap.js";

const readme = readFileSync(join(CLI_ROOT, "README.md"), "utf8");

describe("README", () => {
  it("has a section with an example for every top-level command", () => {
    for (const spec of COMMANDS.top) {
      const name = spec.usage.split(" ")[0]!;
      const heading = new RegExp(`^### snap ${name}\\b`, "m");
      expect(readme, name).toMatch(heading);
      const section = readme.slice(readme.search(heading)).split("\n### ")[0]!;
      expect(section, name).toMatch(new RegExp("```sh\\nsnap (--store \\S+ )?" + name + "\\b"));
    }
  });

  it("shows every journal subcommand in use", () => {
    const group = COMMANDS.groups.find((g) => g.name === "journal")!;
    for (const spec of group.commands) {
      const name = spec.usage.split(" ")[0]!;
      expect(readme, name).toMatch(new RegExp(`^snap journal ${name}\\b`, "m"));
    }
  });

  it("lists every --json document type and every exit code", () => {
    for (const d of OUTPUT_DEFINITIONS) expect(readme, d.name).toContain(`| \`${d.name}\` |`);
    for (const code of [0, 1, 2, 3, 4, 130]) expect(readme).toMatch(new RegExp(`^\\| ${code} \\|`, "m"));
  });
});
