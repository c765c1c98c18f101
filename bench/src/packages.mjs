/**
 * Loading a snap package (its BUILT dist/, through bench/package.json's workspace links), or
 * saying why it cannot be loaded. Never a source file, never a fake.
 */

/** `{ mod }` or `{ reason }` (the package is not built or fails to load: say so, measure nothing). */
export async function loadSnapPackage(name) {
  try {
    return { mod: await import(`@snap/${name}`) };
  } catch (err) {
    const hint = err?.code === "ERR_MODULE_NOT_FOUND" ? ` (run pnpm build; packages/${name}/dist missing?)` : "";
    return { reason: `@snap/${name} failed to load: ${err.message}${hint}` };
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
