import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * Child-process tests run the built package (dist/), as users do. Fail with a clear message
 * when it is missing or older than the sources (the shared config/vitest-build-if-stale.ts global setup builds it first).
 */
export function assertBuilt(): void {
  const pkg = join(import.meta.dirname, "..");
  const dist = join(pkg, "dist", "index.js");
  if (!existsSync(dist)) throw new Error(`${dist} is missing: run \`pnpm build\` in packages/object-store first`);
  const built = statSync(dist).mtimeMs;
  for (const f of readdirSync(join(pkg, "src"))) {
    if (statSync(join(pkg, "src", f)).mtimeMs > built) {
      throw new Error(`dist/ is older than src/${f}: run \`pnpm build\` in packages/object-store first`);
    }
  }
}
