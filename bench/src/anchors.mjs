/**
 * Anchors: what the machine and the incumbent libraries do on the same data, measured in the
 * same run as the rows compared against them. Each anchor is measured at most once per run
 * (memoized by the runner's context) and appears in the results as a row with `anchor: null`.
 *
 * Anchors are sampled round-robin with the snap rows that first ask for them (see
 * context.mjs `measureWith`). Every anchor reports a rate (higher is faster). The bare loops are deliberately minimal
 * (synchronous node:fs, no hashing, no fan-out directories): they are the ceiling of what any
 * store could reach on this disk, not a competitor.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import cacache from "cacache";
import * as git from "isomorphic-git";
import Database from "better-sqlite3";
import { APPEND_RECORDS, FSYNC_FILES, JOURNAL_RECORDS, journalRecordCount, LARGE_STREAM, LARGE_STREAM_MIB, SMALL_OBJECTS } from "./datasets.mjs";

const sameBytes = (a, b) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), b) === 0;

/** Throw unless `got` holds the bytes of `want` (checked outside the clock). */
export function assertSameBytes(what, got, want) {
  if (!sameBytes(got, want)) throw new Error(`${what}: read back different bytes than were written`);
}

/** Write `buffers` into `dir` with a sync tmp+rename per file; returns the file names. */
function writeFilesTmpRename(dir, buffers, { fsync }) {
  const names = new Array(buffers.length);
  for (let i = 0; i < buffers.length; i++) {
    const name = i.toString(16).padStart(8, "0");
    const tmp = path.join(dir, `${name}.tmp`);
    if (fsync) {
      const fd = fs.openSync(tmp, "w");
      fs.writeSync(fd, buffers[i]);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
    } else {
      fs.writeFileSync(tmp, buffers[i]);
    }
    fs.renameSync(tmp, path.join(dir, name));
    names[i] = name;
  }
  return names;
}

/**
 * Each anchor: `name` (its row name), `unit`, `work` per sample, optional `warmup`, and
 * `prepare(ctx)` returning a sampler `{ setup?, run, teardown?, dispose? }` (see measure.mjs;
 * `dispose` runs once after all samples: checks and cleanup outside the clock). A derived
 * anchor has `derive: { from: [ids], combine(values) }` instead.
 */
/**
 * The raw durable-record loop behind append_fdatasync_1k and overwrite_fdatasync_1k: one
 * 1 KiB record per write + fdatasync, appended (O_APPEND), or with `preallocated` written in
 * place over a file whose blocks were written and fdatasynced in setup.
 */
function recordLoop(ctx, preallocated) {
  const count = journalRecordCount(ctx);
  const record = Buffer.alloc(JOURNAL_RECORDS.size, 0x61);
  record[record.length - 1] = 0x0a;
  return {
    work: count,
    async setup() {
      const file = path.join(await ctx.freshDir(preallocated ? "overwrite1k" : "append1k"), "log");
      if (preallocated) {
        const fd = fs.openSync(file, "w");
        fs.writeSync(fd, Buffer.alloc(count * record.length));
        fs.fdatasyncSync(fd);
        fs.closeSync(fd);
      }
      return file;
    },
    run(file) {
      const fd = fs.openSync(file, preallocated ? "r+" : "a");
      for (let i = 0; i < count; i++) {
        fs.writeSync(fd, record, 0, record.length, preallocated ? i * record.length : null);
        fs.fdatasyncSync(fd);
      }
      fs.closeSync(fd);
    },
    teardown: (file) => ctx.removeDir(path.dirname(file)),
  };
}

export const ANCHORS = {
  sha256: {
    name: `sha256 (node:crypto) over ${LARGE_STREAM.label}`,
    unit: "MiB/s",
    work: LARGE_STREAM_MIB,
    warmup: 1,
    prepare(ctx) {
      const chunks = ctx.data.largeChunks();
      return {
        run() {
          const hash = createHash("sha256");
          for (const chunk of chunks) hash.update(chunk);
          hash.digest();
        },
      };
    },
  },

  seq_write_fsync: {
    name: `sequential write+fsync ${LARGE_STREAM.label} (1 MiB writes)`,
    unit: "MiB/s",
    work: LARGE_STREAM_MIB,
    warmup: 1,
    prepare(ctx) {
      const chunks = ctx.data.largeChunks();
      return {
        setup: async () => path.join(await ctx.freshDir("seqwrite"), "blob"),
        async run(file) {
          const fh = await fsp.open(file, "w");
          for (const chunk of chunks) await fh.write(chunk);
          await fh.sync();
          await fh.close();
        },
        teardown: (file) => ctx.removeDir(path.dirname(file)),
      };
    },
  },

  /** The large put's ceiling: a streaming put must both hash and write every byte. */
  large_put_ceiling: {
    name: "min(sha256, sequential write+fsync)",
    unit: "MiB/s",
    derive: { from: ["sha256", "seq_write_fsync"], combine: (values) => Math.min(...values) },
  },

  tmp_rename: {
    name: `bare tmp+rename ${SMALL_OBJECTS.label} (sync, no fsync)`,
    unit: "objects/s",
    work: SMALL_OBJECTS.count,
    prepare(ctx) {
      const buffers = ctx.data.smallObjects();
      return {
        setup: () => ctx.freshDir("tmprename"),
        run: (dir) => writeFilesTmpRename(dir, buffers, { fsync: false }),
        teardown: (dir) => ctx.removeDir(dir),
      };
    },
  },

  tmp_fsync_rename: {
    name: `bare tmp+fsync+rename ${FSYNC_FILES.label} (sync, fsync per file)`,
    unit: "objects/s",
    work: FSYNC_FILES.count,
    prepare(ctx) {
      const buffers = ctx.data.smallObjects().slice(0, FSYNC_FILES.count);
      return {
        setup: () => ctx.freshDir("tmpfsync"),
        run: (dir) => writeFilesTmpRename(dir, buffers, { fsync: true }),
        teardown: (dir) => ctx.removeDir(dir),
      };
    },
  },

  read_loop: {
    name: `bare read ${SMALL_OBJECTS.label} (sync readFileSync, no verify)`,
    unit: "objects/s",
    work: SMALL_OBJECTS.count,
    async prepare(ctx) {
      const buffers = ctx.data.smallObjects();
      const dir = await ctx.freshDir("readloop");
      const files = writeFilesTmpRename(dir, buffers, { fsync: false }).map((name) => path.join(dir, name));
      return {
        run() {
          for (const file of files) fs.readFileSync(file);
        },
        async dispose() {
          assertSameBytes("bare read", fs.readFileSync(files[files.length - 1]), buffers[buffers.length - 1]);
          await ctx.removeDir(dir);
        },
      };
    },
  },

  append_fdatasync: {
    name: `append+fdatasync ${APPEND_RECORDS.label} (sync)`,
    unit: "records/s",
    work: APPEND_RECORDS.count,
    prepare(ctx) {
      const record = Buffer.alloc(APPEND_RECORDS.size, 0x61);
      record[record.length - 1] = 0x0a;
      return {
        setup: async () => path.join(await ctx.freshDir("append"), "log"),
        run(file) {
          const fd = fs.openSync(file, "a");
          for (let i = 0; i < APPEND_RECORDS.count; i++) {
            fs.writeSync(fd, record);
            fs.fdatasyncSync(fd);
          }
          fs.closeSync(fd);
        },
        teardown: (file) => ctx.removeDir(path.dirname(file)),
      };
    },
  },

  /** One 1 KiB record per write + fdatasync: what a durable single-writer append costs on this disk. */
  append_fdatasync_1k: {
    name: `append+fdatasync ${JOURNAL_RECORDS.label} records (sync)`,
    unit: "records/s",
    work: JOURNAL_RECORDS.count,
    prepare: (ctx) => recordLoop(ctx, false),
  },

  /**
   * One 1 KiB record per pwrite over a file whose blocks were written (NULs) and fdatasynced
   * beforehand, + fdatasync: what a durable append costs when no size or allocation has to be
   * committed (etcd's preallocated WAL segments, @snap/journal's preallocation).
   */
  overwrite_fdatasync_1k: {
    name: `preallocated-file overwrite+fdatasync ${JOURNAL_RECORDS.label} records (sync)`,
    unit: "records/s",
    work: JOURNAL_RECORDS.count,
    prepare: (ctx) => recordLoop(ctx, true),
  },

  /** better-sqlite3, WAL, synchronous=FULL: every autocommit INSERT is one transaction, fsynced. */
  sqlite_wal_full: {
    name: `better-sqlite3 WAL synchronous=FULL, 1 INSERT of ${JOURNAL_RECORDS.label} per transaction`,
    unit: "records/s",
    work: JOURNAL_RECORDS.count,
    prepare(ctx) {
      const count = journalRecordCount(ctx);
      const payload = Buffer.alloc(JOURNAL_RECORDS.size, 0x61);
      return {
        work: count,
        async setup() {
          const dir = await ctx.freshDir("sqlite");
          const db = new Database(path.join(dir, "log.db"));
          db.pragma("journal_mode = WAL");
          db.pragma("synchronous = FULL");
          db.exec("CREATE TABLE log (seq INTEGER PRIMARY KEY, action TEXT NOT NULL, item TEXT NOT NULL, payload BLOB NOT NULL)");
          return { dir, db, insert: db.prepare("INSERT INTO log (action, item, payload) VALUES (?, ?, ?)") };
        },
        run({ insert }) {
          for (let i = 0; i < count; i++) insert.run("put", `k${i % 100}`, payload);
        },
        async teardown({ dir, db }) {
          const n = db.prepare("SELECT count(*) AS n FROM log").get().n;
          db.close();
          await ctx.removeDir(dir);
          if (n !== count) throw new Error(`sqlite anchor: ${n} rows, expected ${count}`);
        },
      };
    },
  },

  cacache_put: {
    name: `cacache.put ${SMALL_OBJECTS.label}`,
    unit: "objects/s",
    work: SMALL_OBJECTS.count,
    prepare(ctx) {
      const buffers = ctx.data.smallObjects();
      return {
        setup: () => ctx.freshDir("cacache-put"),
        async run(cache) {
          for (let i = 0; i < buffers.length; i++) await cacache.put(cache, `k${i}`, buffers[i]);
        },
        teardown: (cache) => ctx.removeDir(cache),
      };
    },
  },

  cacache_get: {
    name: `cacache.get ${SMALL_OBJECTS.label} (verified)`,
    unit: "objects/s",
    work: SMALL_OBJECTS.count,
    async prepare(ctx) {
      const buffers = ctx.data.smallObjects();
      const cache = await ctx.freshDir("cacache-get");
      for (let i = 0; i < buffers.length; i++) await cacache.put(cache, `k${i}`, buffers[i]);
      return {
        // cacache.get checks the content against the index entry's integrity (ssri) by default.
        async run() {
          for (let i = 0; i < buffers.length; i++) await cacache.get(cache, `k${i}`);
        },
        async dispose() {
          assertSameBytes("cacache.get", (await cacache.get(cache, "k0")).data, buffers[0]);
          await ctx.removeDir(cache);
        },
      };
    },
  },

  isogit_write_blob: {
    name: `isomorphic-git writeBlob ${SMALL_OBJECTS.label}`,
    unit: "objects/s",
    work: SMALL_OBJECTS.count,
    prepare(ctx) {
      const buffers = ctx.data.smallObjects();
      return {
        async setup() {
          const dir = await ctx.freshDir("isogit-write");
          await git.init({ fs, dir });
          return dir;
        },
        async run(dir) {
          for (const blob of buffers) await git.writeBlob({ fs, dir, blob });
        },
        teardown: (dir) => ctx.removeDir(dir),
      };
    },
  },

  isogit_read_blob: {
    name: `isomorphic-git readBlob ${SMALL_OBJECTS.label} (sha1 verified)`,
    unit: "objects/s",
    work: SMALL_OBJECTS.count,
    async prepare(ctx) {
      const buffers = ctx.data.smallObjects();
      const dir = await ctx.freshDir("isogit-read");
      await git.init({ fs, dir });
      const oids = [];
      for (const blob of buffers) oids.push(await git.writeBlob({ fs, dir, blob }));
      return {
        // readBlob inflates the loose object and checks its sha1 against the oid.
        async run() {
          for (const oid of oids) await git.readBlob({ fs, dir, oid });
        },
        async dispose() {
          assertSameBytes("isomorphic-git readBlob", (await git.readBlob({ fs, dir, oid: oids[0] })).blob, buffers[0]);
          await ctx.removeDir(dir);
        },
      };
    },
  },
};
