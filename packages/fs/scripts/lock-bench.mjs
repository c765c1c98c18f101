#!/usr/bin/env node
// Micro-benchmark (not a test): median cost of one uncontended store-lock acquire+release
// against the anchor measured in the same run, one 1 KiB append + fdatasync on the same
// filesystem. The two are interleaved in small batches so machine load hits both alike.
//
//   node scripts/lock-bench.mjs [--iterations 300] [--dir /path/on/the/disk/to/test] [--dist path/to/index.js]
//
// Build first (`pnpm build`): it imports dist/ (or the build given by --dist, e.g. an older
// one to compare against). Prints one JSON line; the ratio is what to compare across runs
// and machines, never the absolute times.
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";

const { values } = parseArgs({
  options: {
    iterations: { type: "string", default: "300" },
    dir: { type: "string" },
    dist: { type: "string", default: new URL("../dist/index.js", import.meta.url).pathname },
  },
});
const iterations = Number(values.iterations);
const { acquireLock } = await import(pathToFileURL(resolve(values.dist)).href);
const dir = mkdtempSync(join(values.dir ?? tmpdir(), "snap-lock-bench-"));
const lockPath = join(dir, "store", "lock");
const nowUs = () => Number(process.hrtime.bigint()) / 1000;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

const lockUs = [];
const appendUs = [];
const fd = openSync(join(dir, "append.log"), "a");
const record = Buffer.alloc(1024, 0x61);
try {
  // Warm-up: the first acquisition creates <lock>.gen durably; JIT and page cache settle.
  for (let i = 0; i < 20; i++) {
    await (await acquireLock(lockPath)).release();
    writeSync(fd, record);
    fdatasyncSync(fd);
  }
  const batch = 10;
  for (let done = 0; done < iterations; done += batch) {
    for (let i = 0; i < batch; i++) {
      const t0 = nowUs();
      const lock = await acquireLock(lockPath);
      await lock.release();
      lockUs.push(nowUs() - t0);
    }
    for (let i = 0; i < batch; i++) {
      const t0 = nowUs();
      writeSync(fd, record);
      fdatasyncSync(fd);
      appendUs.push(nowUs() - t0);
    }
  }
} finally {
  closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
}
const lock = median(lockUs);
const append = median(appendUs);
console.log(
  JSON.stringify({
    iterations,
    lock_acquire_release_median_us: Math.round(lock * 10) / 10,
    raw_append_fdatasync_median_us: Math.round(append * 10) / 10,
    ratio: Math.round((lock / append) * 1000) / 1000,
  }),
);
