import { existsSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * Child-process tests run the built package (dist/), as users do. Fail with a clear message
 * when it is missing or older than the sources (run `pnpm build` first; turbo does).
 */
export function assertBuilt(): void {
  const pkg = join(import.meta.dirname, "..");
  const dist = join(pkg, "dist", "index.js");
  if (!existsSync(dist)) throw new Error(`${dist} is missing: run \`pnpm build\` in packages/object-store first`);
  const built = statSync(dist).mtimeMs;
  for (const f of ["store.ts", "fs-backend.ts", "verified-read.ts", "structured.ts", "format.ts"]) {
    if (statSync(join(pkg, "src", f)).mtimeMs > built + 1000) {
      throw new Error(`dist/ is older than src/${f}: run \`pnpm build\` in packages/object-store first`);
    }
  }
}
