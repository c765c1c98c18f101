import { open, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { afterAll, describe, expect, it } from "vitest";
import { nodeFs, type FsSeam } from "@snap/fs";
import { eventRecord, frameRecord, headerRecord, nextChain, openJournal, scanSegment, sealRecord, segmentName } from "../src/index.js";
import { encodeIndex } from "../src/format.js";
import { cleanupTemps, tempDir } from "./helpers.js";

afterAll(cleanupTemps);

const MiB = 1024 * 1024;
const BIG = process.env.SNAP_JOURNAL_BIG === "1" ? 1024 * MiB : 256 * MiB;
const SEGMENT = 16 * MiB;
const STORE = "open-time-store";
const PAYLOAD = "p".repeat(4000);

/** Writes segments straight through the encoder (durability none): `sealedBytes` of sealed segments, then a 1 MiB active one. */
async function generate(dir: string, sealedBytes: number): Promise<{ lastSeq: number }> {
  await mkdir(join(dir, "segments"), { recursive: true });
  let seq = 1;
  let chain = "00000000";
  let prevLast = 0;
  const writeSegment = async (limit: number, seal: boolean) => {
    const name = segmentName(seq);
    const f = await open(join(dir, "segments", name), "w");
    const parts: Buffer[] = [];
    let size = 0;
    const push = (b: Buffer) => {
      parts.push(b);
      size += b.length;
    };
    const ts = "2026-11-22T00:00:00.000Z";
    push(frameRecord(headerRecord({ store_id: STORE, segment: name, first_seq: seq, prev_last_seq: prevLast, prev_chain: chain, created_at: ts, writer: "w_1-aa", lg: 1 })).bytes);
    const first = seq;
    const index: [number, number][] = [];
    let count = 0;
    while (size < limit) {
      const { bytes, crc } = frameRecord(
        eventRecord({ seq, ts, writer: "w_1-aa", lg: 1, action: "put", item_type: "t", item_id: `k${seq % 100}`, entity_rev: Math.floor(seq / 100) + 1, payload: PAYLOAD }),
      );
      if (index.length === 0 || size - index[index.length - 1]![1] >= 4096) index.push([seq, size + 1]);
      push(bytes);
      chain = nextChain(chain, crc);
      seq++;
      count++;
      if (parts.length >= 512) {
        await f.write(Buffer.concat(parts));
        parts.length = 0;
      }
    }
    if (seal) {
      push(frameRecord(sealRecord({ segment: name, first_seq: first, last_seq: seq - 1, count, bytes: size, chain, sealed_at: ts, writer: "w_1-aa", lg: 1 })).bytes);
      await writeFile(join(dir, "segments", name.replace(".ndjson", ".idx.json")), encodeIndex({ segment: name, first_seq: first, last_seq: seq - 1, entries: index }));
    }
    await f.write(Buffer.concat(parts));
    await f.close();
    prevLast = seq - 1;
  };
  for (let done = 0; done + SEGMENT <= sealedBytes; done += SEGMENT) await writeSegment(SEGMENT, true);
  await writeSegment(MiB, false);
  return { lastSeq: seq - 1 };
}

async function openMs(dir: string): Promise<number> {
  const t0 = performance.now();
  const j = await openJournal({ dir });
  const ms = performance.now() - t0;
  expect(j.report.meta === "missing" || j.report.meta === "ok").toBe(true);
  await j.close();
  return ms;
}

/** Interleaved runs (so machine noise hits both alike); the minimum is the intrinsic cost. */
async function compareOpen(small: string, big: string, runs = 15): Promise<{ small: number; big: number }> {
  const s: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    s.push(await openMs(small));
    b.push(await openMs(big));
  }
  return { small: Math.min(...s), big: Math.min(...b) };
}

describe("open reads only the tail", () => {
  it(`open time with ${BIG / MiB} MiB of segments is within 2x of one with 1 MiB; a cursor seek uses the sparse index`, async () => {
    const small = await tempDir();
    const big = await tempDir();
    await generate(small, 0);
    const { lastSeq } = await generate(big, BIG - MiB);
    // The generated journal is a valid one.
    const probe = await openJournal({ dir: big });
    expect(probe.writtenSeq).toBe(lastSeq);
    await probe.close();
    await compareOpen(small, big, 3); // warm up
    const { small: smallMs, big: bigMs } = await compareOpen(small, big);
    console.log(`open: 1 MiB ${smallMs.toFixed(2)} ms, ${BIG / MiB} MiB ${bigMs.toFixed(2)} ms, ratio ${(bigMs / smallMs).toFixed(2)}`);
    // Ratio, with 2 ms of slack for timer noise on a busy machine.
    expect(bigMs).toBeLessThanOrEqual(2 * smallMs + 2);

    // Seek: count the bytes read to fetch one record from the middle of a sealed segment.
    let bytesRead = 0;
    const counting: FsSeam = {
      ...nodeFs,
      async open(path, flags, mode) {
        const f = await nodeFs.open(path, flags, mode);
        return new Proxy(f, {
          get(target, prop, receiver) {
            if (prop === "read") {
              return async (b: Uint8Array, o: number, l: number, p: number) => {
                const n = await target.read(b, o, l, p);
                bytesRead += n;
                return n;
              };
            }
            const v = Reflect.get(target, prop, receiver) as unknown;
            return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
          },
        });
      },
    };
    const j = await openJournal({ dir: big, fs: counting });
    bytesRead = 0;
    const target = Math.floor(lastSeq / 3) + 1234;
    const got: number[] = [];
    for await (const r of j.read({ fromSeq: target, toSeq: target })) got.push(r.seq);
    expect(got).toEqual([target]);
    // Reads from the indexed offset to the segment's end, not the whole journal or segment start.
    expect(bytesRead).toBeLessThan(2 * MiB);
    await j.close();
    void scanSegment;
  }, 300_000);
});
