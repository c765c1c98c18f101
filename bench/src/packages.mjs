/**
 * Loading a snap package from its BUILT dist/. `@snap/<name>` is resolved the normal way first
 * (bench/node_modules/@snap/* links); a package that bench/package.json does not list yet (so
 * pnpm has not linked it) is loaded from the workspace's `packages/<name>/dist/index.js`, which
 * resolves its own dependencies from its own node_modules. Never a source file, never a fake.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const PACKAGES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "packages");

/** `{ mod }` or `{ reason }` (the package is not built: say so, measure nothing). */
export async function loadSnapPackage(name) {
  try {
    return { mod: await import(`@snap/${name}`) };
  } catch (err) {
    if (err?.code !== "ERR_MODULE_NOT_FOUND" && err?.code !== "MODULE_NOT_FOUND") {
      return { reason: `@snap/${name} failed to load: ${err.message}` };
    }
  }
  const dist = path.join(PACKAGES, name, "dist", "index.js");
  if (!existsSync(dist)) return { reason: `@snap/${name} is not built (no ${path.relative(process.cwd(), dist)}); run npx tsup in packages/${name}` };
  try {
    return { mod: await import(pathToFileURL(dist).href) };
  } catch (err) {
    return { reason: `@snap/${name}'s dist failed to load: ${err.message}` };
  }
}

/** `{ ...exports }` when every name in `names` is a function export of the module, else `{ reason }`. */
export async function loadSnapApi(name, names) {
  const { mod, reason } = await loadSnapPackage(name);
  if (mod === undefined) return { reason };
  const missing = names.filter((n) => typeof mod[n] !== "function");
  if (missing.length > 0) return { reason: `@snap/${name}'s dist does not export ${missing.join(", ")}` };
  return { api: mod };
}
