/**
 * A vitest globalSetup for any snap package whose tests import the built dist/ (child-process
 * fixtures run plain node, so they cannot import src/): runs `pnpm run build` in the
 * package when dist/index.js is missing or older than any file under src/.
 *
 * The package is the current working directory (vitest runs in the package dir under
 * `pnpm test`, `pnpm -r test` and `pnpm --filter`). config/vitest.base.ts installs it for
 * every package, so `vitest run` in a package never tests a stale dist/.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    newest = Math.max(newest, statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
  }
  return newest;
}

export default function buildIfStale(): void {
  const pkg = process.cwd();
  if (!existsSync(join(pkg, "package.json")) || !existsSync(join(pkg, "src"))) {
    throw new Error(`vitest-build-if-stale: ${pkg} is not a package directory (run vitest from the package)`);
  }
  let builtAt = 0;
  try {
    builtAt = statSync(join(pkg, "dist", "index.js")).mtimeMs;
  } catch {
    builtAt = 0;
  }
  if (builtAt < newestMtimeMs(join(pkg, "src"))) {
    execFileSync("pnpm", ["run", "build"], { cwd: pkg, stdio: "inherit" });
  }
}
