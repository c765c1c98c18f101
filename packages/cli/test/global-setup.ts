import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { OUTPUT_DEFINITIONS } from "../src/schema.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Where each e2e test file records the --json document types it validated (test/snap.ts). */
    snapSeenTypesDir: string;
  }
}

const root = fileURLToPath(new URL("..", import.meta.url));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** The test files that spawn the binary through test/snap.ts (each records its seen types). */
function e2eFiles(): string[] {
  const dir = join(root, "test");
  return readdirSync(dir).filter((f) => f.endsWith(".test.ts") && /from "\.\/snap\.js"/.test(readFileSync(join(dir, f), "utf8")));
}

/**
 * The end-to-end tests run dist/bin.js, never the sources: refuse a missing or stale build.
 * After a full run (every e2e file ran, no name filter), check that every --json document type
 * the CLI can print was validated against its schema by some e2e test.
 */
export default function setup(project: TestProject): () => void {
  const bin = join(root, "dist", "bin.js");
  if (!existsSync(bin)) throw new Error("packages/cli/dist/bin.js is missing: run `pnpm build` first");
  if (newestMtime(join(root, "src")) > statSync(bin).mtimeMs) {
    throw new Error("packages/cli/dist is older than src/: run `pnpm build` first (the tests spawn the built binary)");
  }
  if (!existsSync(join(root, "json-schema", "cli_error.schema.json"))) throw new Error("json-schema/ is missing: run `pnpm build`");
  const seenDir = mkdtempSync(join(tmpdir(), "snap-cli-seen-"));
  project.provide("snapSeenTypesDir", seenDir);
  return () => {
    try {
      const expected = e2eFiles();
      const recorded = readdirSync(seenDir);
      if (project.config.testNamePattern !== undefined || !expected.every((f) => recorded.includes(`${f}.json`))) return;
      const seen = new Set<string>();
      for (const f of recorded) for (const t of JSON.parse(readFileSync(join(seenDir, f), "utf8")) as string[]) seen.add(t);
      const unchecked = OUTPUT_DEFINITIONS.map((d) => d.name).filter((n) => !seen.has(n));
      if (unchecked.length > 0) {
        throw new Error(`--json document types no e2e test validated against their schema: ${unchecked.join(", ")}`);
      }
    } finally {
      rmSync(seenDir, { recursive: true, force: true });
    }
  };
}
