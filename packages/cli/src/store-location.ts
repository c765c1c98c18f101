/**
 * Which `.snap/` store a command works on, found the way git finds `.git`: `--store DIR`,
 * else `SNAP_STORE`, else the nearest `.snap/` walking up from the working directory. Never
 * derived from a build directory's parent.
 */
import { statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { SnapError } from "@snap/schema";

export const STORE_DIR_NAME = ".snap";

export type StoreSource = "--store" | "SNAP_STORE" | "search" | "default";

export interface StoreLocation {
  /** Absolute path of the store directory (the `.snap/` directory itself). */
  dir: string;
  source: StoreSource;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * An explicitly named store: DIR itself when it holds a store (config.json), else DIR/.snap
 * when that exists (so `--store .` in a project works), else DIR as given (for `snap init`).
 */
function explicitStore(dir: string): string {
  if (isFile(join(dir, "config.json"))) return dir;
  const nested = join(dir, STORE_DIR_NAME);
  if (isDirectory(nested)) return nested;
  return dir;
}

/** Walk up from `cwd` to the nearest directory holding `.snap/`. */
export function findStoreUpwards(cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    const candidate = join(dir, STORE_DIR_NAME);
    if (isDirectory(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * The store for commands that need an existing one. `init` passes `forInit`: then, with no
 * explicit store, the default is `./.snap` rather than a store found further up.
 */
export function locateStore(options: { store?: string | undefined; env: NodeJS.ProcessEnv; cwd: string; forInit?: boolean }): StoreLocation {
  if (options.store !== undefined && options.store !== "") {
    return { dir: explicitStore(resolve(options.cwd, options.store)), source: "--store" };
  }
  const fromEnv = options.env.SNAP_STORE;
  if (fromEnv !== undefined && fromEnv !== "") {
    return { dir: explicitStore(resolve(options.cwd, fromEnv)), source: "SNAP_STORE" };
  }
  if (options.forInit === true) return { dir: join(resolve(options.cwd), STORE_DIR_NAME), source: "default" };
  const found = findStoreUpwards(options.cwd);
  if (found === undefined) {
    throw new SnapError("store_not_found", `no ${STORE_DIR_NAME} store in ${resolve(options.cwd)} or any parent directory`, {
      hint: "run `snap init`, pass --store DIR or set SNAP_STORE",
      data: { cwd: resolve(options.cwd) },
    });
  }
  return { dir: found, source: "search" };
}

/** A store that must already exist (explicit stores are checked too). */
export function requireStore(location: StoreLocation): StoreLocation {
  if (!isDirectory(location.dir)) {
    throw new SnapError("store_not_found", `no store at ${location.dir} (from ${location.source})`, {
      hint: "run `snap init`, or point --store / SNAP_STORE at an existing .snap directory",
      data: { store: location.dir, source: location.source },
    });
  }
  return location;
}
