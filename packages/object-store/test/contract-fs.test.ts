import { chmod, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { objectPath, openObjectStore } from "../src/index.js";
import { describeStoreContract } from "./contract.js";

/** Every `.tmp-*` name under the objects directory (fan-out dirs and the staging dir). */
export async function debrisUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true })) {
    const name = entry.split("/").pop() ?? "";
    if (name.startsWith(".tmp-")) out.push(entry);
  }
  return out;
}

describeStoreContract("fs", async () => {
  const root = await mkdtemp(join(tmpdir(), "snap-os-contract-"));
  const dir = join(root, "objects");
  return {
    open: (options) => openObjectStore({ fsync: "never", ...options, dir }),
    async corrupt(oid, bytes) {
      const path = objectPath(dir, oid);
      await chmod(path, 0o644);
      await writeFile(path, bytes);
      await chmod(path, 0o444);
    },
    async setMtime(oid, mtimeMs) {
      await utimes(objectPath(dir, oid), mtimeMs / 1000, mtimeMs / 1000);
    },
    debris: () => debrisUnder(dir),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});
