import { chmod, mkdtemp, readdir, readFile, rm, unlink, utimes, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { objectPath, openObjectStore, PACK_DIR_NAME, type PackEntry, readPackIndexFile } from "../src/index.js";
import { encodePack } from "../src/pack.js";
import { describeStoreContract } from "./contract.js";
import { debrisUnder } from "./fs-debris.js";

async function corruptLoose(path: string, bytes: Uint8Array): Promise<void> {
  await chmod(path, 0o644);
  await writeFile(path, bytes);
  await chmod(path, 0o444);
}

for (const syncReadMax of [undefined, 0]) {
  const label = syncReadMax === 0 ? "fs (async reads only)" : "fs";
  describeStoreContract(label, async () => {
    const root = await mkdtemp(join(tmpdir(), "snap-os-contract-"));
    const dir = join(root, "objects");
    return {
      open: (options) => openObjectStore({ fsync: "never", syncReadMax, ...options, dir }),
      corrupt: (oid, bytes) => corruptLoose(objectPath(dir, oid), bytes),
      async setMtime(oid, mtimeMs) {
        await utimes(objectPath(dir, oid), mtimeMs / 1000, mtimeMs / 1000);
      },
      debris: () => debrisUnder(dir),
      cleanup: () => rm(root, { recursive: true, force: true }),
    };
  });
}

/**
 * The same contract over packed objects: `maxPackBytes: 1` writes every put as its own pack
 * before the put resolves, so other instances see it at once, as with loose files. Corrupt
 * and setMtime act on the pack that holds the object.
 */
for (const syncReadMax of [undefined, 0]) describeStoreContract(syncReadMax === 0 ? "fs (packed objects, async reads only)" : "fs (packed objects)", async () => {
  const root = await mkdtemp(join(tmpdir(), "snap-os-contract-pack-"));
  const dir = join(root, "objects");
  const packHolding = async (oid: string): Promise<{ path: string; entries: PackEntry[] }> => {
    const packDir = join(dir, PACK_DIR_NAME);
    for (const name of await readdir(packDir)) {
      if (!name.endsWith(".pack")) continue;
      const path = join(packDir, name);
      const entries = await readPackIndexFile(path);
      if (entries.some((e) => e.oid === oid)) return { path, entries };
    }
    throw new Error(`no pack holds ${oid}`);
  };
  return {
    open: (options) => openObjectStore({ fsync: "never", pack: { maxPackBytes: 1 }, syncReadMax, ...options, dir }),
    async corrupt(oid, bytes) {
      if (existsSync(objectPath(dir, oid))) return corruptLoose(objectPath(dir, oid), bytes); // larger than maxObjectBytes
      // Packs are immutable: the damage arrives as a replacement pack (as after a repack)
      // whose entry for `oid` holds the wrong bytes, and the old pack goes away.
      const { path, entries } = await packHolding(oid);
      const old = await readFile(path);
      const objects: [string, Uint8Array][] = entries.map((e) => [e.oid, e.oid === oid ? bytes : old.subarray(e.offset, e.offset + e.length)]);
      const damaged = encodePack(objects);
      await writeFile(join(dir, PACK_DIR_NAME, `${damaged.name}.pack`), damaged.bytes, { mode: 0o444 });
      await unlink(path);
    },
    async setMtime(oid, mtimeMs) {
      const path = existsSync(objectPath(dir, oid)) ? objectPath(dir, oid) : (await packHolding(oid)).path;
      await utimes(path, mtimeMs / 1000, mtimeMs / 1000);
    },
    debris: () => debrisUnder(dir),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});
