import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** The end-to-end tests run dist/bin.js, never the sources: refuse a missing or stale build. */
export default function setup(): void {
  const bin = join(root, "dist", "bin.js");
  if (!existsSync(bin)) throw new Error("packages/cli/dist/bin.js is missing: run `pnpm build` first");
  if (newestMtime(join(root, "src")) > statSync(bin).mtimeMs) {
    throw new Error("packages/cli/dist is older than src/: run `pnpm build` first (the tests spawn the built binary)");
  }
  if (!existsSync(join(root, "json-schema", "cli_error.schema.json"))) throw new Error("json-schema/ is missing: run `pnpm build`");
}
