import { chmod, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { objectPath, openObjectStore } from "../src/index.js";
import { describeStoreContract } from "./contract.js";
import { debrisUnder } from "./fs-debris.js";

for (const syncReadMax of [undefined, 0]) {
  const label = syncReadMax === 0 ? "fs (async reads only)" : "fs";
  describeStoreContract(label, async () => {
    const root = await mkdtemp(join(tmpdir(), "snap-os-contract-"));
    const dir = join(root, "objects");
    return {
      open: (options) => openObjectStore({ fsync: "never", syncReadMax, ...options, dir }),
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
}
