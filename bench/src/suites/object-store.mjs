/**
 * Object-store rows (issue 2): @snap/object-store from its BUILT dist against cacache,
 * isomorphic-git and the bare filesystem loops, all on the same buffers.
 *
 * | row                              | snap side                                  | targeted anchor                      | target  |
 * |----------------------------------|--------------------------------------------|--------------------------------------|---------|
 * | put 10k x 1 KiB, fsync never     | putBytes x 10k, sequential                 | cacache.put                          | >= 10x  |
 * | put 10k x 1 KiB, fsync batch     | putBytes x 10k + one flush() (timed)       | cacache.put                          | >= 3x   |
 * | verified get 10k x 1 KiB         | getBytes x 10k (sha256 checked by store)   | cacache.get (ssri verified)          | >= 10x  |
 * | streaming put 1 GiB, fsync always| putStream(1 MiB chunks) + flush()          | min(sha256 rate, write+fsync rate)   | >= 0.8x |
 *
 * Each is also shown against isomorphic-git and the bare loops as context (no target).
 * All ratios are throughput ratios, snap / anchor: higher is better.
 */
import { assertSameBytes } from "../anchors.mjs";
import { atLeast } from "../context.mjs";
import { LARGE_STREAM, LARGE_STREAM_MIB, SMALL_OBJECTS, streamOf } from "../datasets.mjs";

export const name = "object-store";

const ANCHORS_USED = [
  "cacache_put",
  "isogit_write_blob",
  "tmp_rename",
  "tmp_fsync_rename",
  "cacache_get",
  "isogit_read_blob",
  "read_loop",
  "large_put_ceiling",
];

/** The package under test, or a reason it cannot be measured (never a fake number). */
async function loadObjectStore() {
  let mod;
  try {
    mod = await import("@snap/object-store");
  } catch (err) {
    return {
      reason: `@snap/object-store is not built (${err.code ?? err.message}); build it (pnpm bench at the root builds first)`,
    };
  }
  if (typeof mod.openObjectStore !== "function") {
    return { reason: "@snap/object-store's dist does not export openObjectStore yet" };
  }
  return { openObjectStore: mod.openObjectStore };
}

export async function run(ctx) {
  const { openObjectStore, reason } = await loadObjectStore();
  if (openObjectStore === undefined) {
    // Still measure the anchors (real numbers for this machine), then report the suite as not measured.
    await ctx.measureWith({}, ANCHORS_USED);
    ctx.unavailable(reason);
  }

  const buffers = ctx.data.smallObjects();
  const small = SMALL_OBJECTS.label;
  const rows = [];

  // --- puts: a fresh store per sample, so every object is new (no dedup short cut). ---
  const putSampler = (fsync) => ({
    label: `snap putBytes ${small} fsync=${fsync}`,
    work: buffers.length,
    async setup() {
      const dir = await ctx.freshDir(`snap-put-${fsync}`);
      return { dir, store: await openObjectStore({ dir, fsync }) };
    },
    async run({ store }) {
      for (const data of buffers) await store.putBytes(data);
      // One flush at the end, inside the clock: with "batch" this is where the fsyncs happen.
      await store.flush();
    },
    async teardown({ dir, store }) {
      await store.close();
      await ctx.removeDir(dir);
    },
  });
  const puts = await ctx.measureWith({ never: putSampler("never"), batch: putSampler("batch") }, [
    "cacache_put",
    "isogit_write_blob",
    "tmp_rename",
    "tmp_fsync_rename",
  ]);
  const putNeverName = `put ${small}, fsync never`;
  const putBatchName = `put ${small}, fsync batch + flush`;
  const { never, batch } = puts.values;
  const unit = "objects/s";
  rows.push(
    ctx.compare({ name: `${putNeverName} [vs cacache]`, value: never, unit, anchor: puts.anchors.cacache_put, target: atLeast(10) }),
    ctx.compare({ name: `${putNeverName} [vs isomorphic-git]`, value: never, unit, anchor: puts.anchors.isogit_write_blob }),
    ctx.compare({ name: `${putNeverName} [vs bare tmp+rename]`, value: never, unit, anchor: puts.anchors.tmp_rename }),
    ctx.compare({ name: `${putBatchName} [vs cacache]`, value: batch, unit, anchor: puts.anchors.cacache_put, target: atLeast(3) }),
    ctx.compare({ name: `${putBatchName} [vs isomorphic-git]`, value: batch, unit, anchor: puts.anchors.isogit_write_blob }),
    ctx.compare({ name: `${putBatchName} [vs bare tmp+fsync+rename]`, value: batch, unit, anchor: puts.anchors.tmp_fsync_rename }),
  );

  // --- verified get: one populated store, reopened as a reader would; warm page cache for all. ---
  const getDir = await ctx.freshDir("snap-get");
  const writer = await openObjectStore({ dir: getDir, fsync: "never" });
  const oids = [];
  for (const data of buffers) oids.push((await writer.putBytes(data)).oid);
  await writer.close();
  const reader = await openObjectStore({ dir: getDir, fsync: "never" });
  const gets = await ctx.measureWith(
    {
      get: {
        label: `snap getBytes ${small} (verified)`,
        work: oids.length,
        async run() {
          for (const oid of oids) await reader.getBytes(oid);
        },
        async dispose() {
          assertSameBytes("snap getBytes", await reader.getBytes(oids[0]), buffers[0]);
          assertSameBytes("snap getBytes", await reader.getBytes(oids[oids.length - 1]), buffers[buffers.length - 1]);
          await reader.close();
          await ctx.removeDir(getDir);
        },
      },
    },
    ["cacache_get", "isogit_read_blob", "read_loop"],
  );
  const getName = `verified get ${small}`;
  const get = gets.values.get;
  rows.push(
    ctx.compare({ name: `${getName} [vs cacache]`, value: get, unit, anchor: gets.anchors.cacache_get, target: atLeast(10) }),
    ctx.compare({ name: `${getName} [vs isomorphic-git]`, value: get, unit, anchor: gets.anchors.isogit_read_blob }),
    ctx.compare({ name: `${getName} [vs bare read]`, value: get, unit, anchor: gets.anchors.read_loop }),
  );

  // --- 1 GiB streaming put, fsync always: must hash and write every byte. ---
  const chunks = ctx.data.largeChunks();
  const expectedSize = LARGE_STREAM.chunks * LARGE_STREAM.chunkSize;
  const large = await ctx.measureWith(
    {
      put: {
        label: `snap putStream ${LARGE_STREAM.label} fsync=always`,
        work: LARGE_STREAM_MIB,
        warmup: 1,
        async setup() {
          const dir = await ctx.freshDir("snap-large");
          return { dir, store: await openObjectStore({ dir, fsync: "always" }) };
        },
        async run(state) {
          state.result = await state.store.putStream(streamOf(chunks));
          await state.store.flush();
        },
        async teardown({ dir, store, result }) {
          await store.close();
          await ctx.removeDir(dir);
          if (result?.size !== expectedSize) {
            throw new Error(`snap putStream reported size ${result?.size}, expected ${expectedSize}`);
          }
        },
      },
    },
    ["large_put_ceiling"],
  );
  rows.push(
    ctx.compare({
      name: `streaming put ${LARGE_STREAM.label} (1 MiB chunks), fsync always`,
      value: large.values.put,
      unit: "MiB/s",
      anchor: large.anchors.large_put_ceiling,
      target: atLeast(0.8),
    }),
  );

  return rows;
}
