/**
 * The data every system is measured on. A suite and the anchors it is compared against use
 * the SAME buffers (generated once per run, random so nothing compresses or deduplicates), so
 * a ratio compares the systems and not the inputs.
 */
import { randomFillSync } from "node:crypto";

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** 10k objects of 1 KiB: the small-object put/get rows. */
export const SMALL_OBJECTS = { id: "small", count: 10_000, size: 1 * KiB, label: "10k x 1 KiB" };

/** 1 GiB as 1024 chunks of 1 MiB: the streaming put and the sha256 / disk anchors. */
export const LARGE_STREAM = { id: "large", chunks: 1024, chunkSize: 1 * MiB, label: "1 GiB" };
export const LARGE_STREAM_MIB = (LARGE_STREAM.chunks * LARGE_STREAM.chunkSize) / MiB;

/** 200-byte records: the append+fdatasync anchor (journal rows will use it). */
export const APPEND_RECORDS = { count: 2_000, size: 200, label: "2k x 200 B" };

/** 1 KiB durable appends: the journal rows and their anchors (raw append+fdatasync, SQLite). */
export const JOURNAL_RECORDS = { count: 1_000, quickCount: 300, size: 1 * KiB, label: "1 KiB" };
export const journalRecordCount = (ctx) => (ctx.quick ? JOURNAL_RECORDS.quickCount : JOURNAL_RECORDS.count);

/** Per-file fsync is slow (~3k/s); its anchor uses fewer files than SMALL_OBJECTS. */
export const FSYNC_FILES = { count: 2_000, size: 1 * KiB, label: "2k x 1 KiB" };

function randomBuffers(count, size) {
  // One allocation, sliced: 10k separate allocations would put the allocator in the loop.
  const backing = randomFillSync(Buffer.allocUnsafe(count * size));
  const out = new Array(count);
  for (let i = 0; i < count; i++) out[i] = backing.subarray(i * size, (i + 1) * size);
  return out;
}

/** Lazily generated, memoized data sets for one run. */
export function createDatasets(log) {
  let small;
  let large;
  return {
    /** Buffer[] of SMALL_OBJECTS.count x SMALL_OBJECTS.size. */
    smallObjects() {
      small ??= randomBuffers(SMALL_OBJECTS.count, SMALL_OBJECTS.size);
      return small;
    },
    /** Buffer[] of LARGE_STREAM.chunks x 1 MiB (1 GiB resident; generated once, ~3 s). */
    largeChunks() {
      if (large === undefined) {
        log?.(`generating ${LARGE_STREAM.label} of random data in ${LARGE_STREAM.chunkSize / MiB} MiB chunks`);
        large = randomBuffers(LARGE_STREAM.chunks, LARGE_STREAM.chunkSize);
      }
      return large;
    },
  };
}

/** An async iterable over `chunks`, as a caller streaming a large artifact would pass it. */
export async function* streamOf(chunks) {
  for (const chunk of chunks) yield chunk;
}
