/**
 * The contract every ObjectBackend must meet, run through the public ObjectStore API.
 * `describeStoreContract(name, harness)` is called once per backend (contract-*.test.ts).
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { artifactDefinition, canonicalBytes, isSnapError, parseVersioned, verifyReportSchema, type ErrorCode } from "@snap/schema";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CorruptObjectEvent, ObjectStore, OpenObjectStoreOptions } from "../src/index.js";

export interface StoreHarness {
  open(options?: Partial<OpenObjectStoreOptions>): Promise<ObjectStore>;
  /** Overwrites the stored bytes of `oid` behind the store's back. */
  corrupt(oid: string, bytes: Uint8Array): Promise<void>;
  /** Sets the stored time of `oid`. */
  setMtime(oid: string, mtimeMs: number): Promise<void>;
  /** Staging debris the backend left behind (names), if it can tell. */
  debris(): Promise<string[]>;
  cleanup(): Promise<void>;
}

export const sha256 = (data: Uint8Array | string): string => createHash("sha256").update(data).digest("hex");

export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    if (!isSnapError(err, code)) throw new Error(`expected SnapError ${code}, got ${String((err as Error)?.stack ?? err)}`);
    return err;
  }
  throw new Error(`expected SnapError ${code}, but it resolved`);
}

export async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const x of iterable) out.push(x);
  return out.sort();
}

/** Deterministic pseudo-random bytes. */
export function bytesOf(size: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function* chunked(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size);
}

export function describeStoreContract(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`object store contract: ${name} backend`, () => {
    let h: StoreHarness;
    let store: ObjectStore;
    let events: CorruptObjectEvent[];

    beforeEach(async () => {
      h = await makeHarness();
      events = [];
      store = await h.open({ onCorrupt: (e) => events.push(e) });
    });
    afterEach(async () => {
      await store.close();
      await h.cleanup();
    });

    it("putBytes names an object by the sha256 of its bytes and getBytes returns them", async () => {
      const data = Buffer.from("hello, snap\n");
      const put = await store.putBytes(data);
      expect(put).toEqual({ oid: sha256(data), created: true, repaired: false });
      expect(Buffer.compare(await store.getBytes(put.oid), data)).toBe(0);
      expect(await store.has(put.oid)).toBe(true);
      expect((await store.stat(put.oid))?.size).toBe(data.length);
    });

    it("a string is stored as its UTF-8 bytes; the empty object is valid", async () => {
      expect((await store.putBytes("héllo")).oid).toBe(sha256(Buffer.from("héllo", "utf8")));
      const empty = await store.putBytes(new Uint8Array(0));
      expect(empty.oid).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
      expect((await store.getBytes(empty.oid)).length).toBe(0);
      const chunks: Buffer[] = [];
      for await (const c of await store.getStream(empty.oid)) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).length).toBe(0);
    });

    it("a second put of the same bytes creates nothing and refreshes the object's time", async () => {
      const first = await store.putBytes("same");
      const old = Date.now() - 3 * 3600_000;
      await h.setMtime(first.oid, old);
      expect((await store.stat(first.oid))?.mtimeMs).toBeLessThan(Date.now() - 3600_000);
      const second = await store.putBytes("same");
      expect(second).toEqual({ oid: first.oid, created: false, repaired: false });
      expect((await store.stat(first.oid))?.mtimeMs).toBeGreaterThan(Date.now() - 60_000);
      const streamed = await store.putStream([Buffer.from("sa"), Buffer.from("me")]);
      expect(streamed).toEqual({ oid: first.oid, size: 4, created: false, repaired: false });
      expect(store.stats()).toMatchObject({ puts: 3, created: 1, existing: 2, repaired: 0 });
    });

    it("concurrent puts of the same bytes store one object", async () => {
      const data = bytesOf(10_000, 7);
      const results = await Promise.all(Array.from({ length: 8 }, () => store.putBytes(data)));
      expect(new Set(results.map((r) => r.oid)).size).toBe(1);
      expect(results.filter((r) => r.created).length).toBeGreaterThanOrEqual(1);
      const streamed = await Promise.all(Array.from({ length: 4 }, () => store.putStream(chunked(data, 1000))));
      expect(streamed.every((r) => r.oid === sha256(data) && !r.repaired)).toBe(true);
      expect(await collect(store.list())).toEqual([sha256(data)]);
      expect(events).toEqual([]);
      expect(await h.debris()).toEqual([]);
    });

    it("list yields every object once and never staging debris", async () => {
      const oids = new Set<string>();
      for (let i = 0; i < 300; i++) oids.add((await store.putBytes(`object ${i}`)).oid);
      await store.putStream(chunked(bytesOf(100_000, 3), 4096));
      oids.add(sha256(bytesOf(100_000, 3)));
      expect(await collect(store.list())).toEqual([...oids].sort());
    });

    it("putStream hashes while writing: same oid as putBytes, for async iterables, Readables and arrays", async () => {
      const data = bytesOf(3 * 1024 * 1024 + 17, 11);
      const a = await store.putStream(chunked(data, 65_536));
      expect(a).toEqual({ oid: sha256(data), size: data.length, created: true, repaired: false });
      const b = await store.putStream(Readable.from(chunked(data, 1000)));
      expect(b).toMatchObject({ oid: a.oid, created: false });
      const small = await store.putStream([Buffer.from("ab"), new Uint8Array([99])]);
      expect(small.oid).toBe(sha256("abc"));
      expect(Buffer.compare(await store.getBytes(a.oid), data)).toBe(0);
      expect(await h.debris()).toEqual([]);
    });

    it("putStream refuses a wrong expectOid, an oversize stream and string chunks, and leaves nothing", async () => {
      const err = (await expectCode(store.putStream([Buffer.from("abc")], { expectOid: sha256("abd") }), "oid_mismatch")) as { data: Record<string, unknown> };
      expect(err.data).toEqual({ expected: sha256("abd"), actual: sha256("abc") });
      await expectCode(store.putStream([Buffer.from("abc")], { expectOid: "ABC" }), "oid_invalid");
      await expectCode(store.putStream(chunked(bytesOf(10_000), 1000), { maxBytes: 5000 }), "invalid_argument");
      await expectCode(store.putStream(Readable.from(["text chunk"], { objectMode: true })), "invalid_argument");
      await expectCode(store.putStream(42 as never), "invalid_argument");
      expect((await store.putStream([Buffer.from("abc")], { expectOid: sha256("abc") })).created).toBe(true);
      expect(await collect(store.list())).toEqual([sha256("abc")]);
      expect(await h.debris()).toEqual([]);
    });

    it("a source that fails mid-stream publishes nothing and leaves no staging debris", async () => {
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield bytesOf(200_000, 5);
        throw new Error("source broke");
      }
      await expect(store.putStream(failing())).rejects.toThrow("source broke");
      expect(await collect(store.list())).toEqual([]);
      expect(await h.debris()).toEqual([]);
    });

    it("reads refuse malformed oids (oid_invalid) and report missing objects (object_not_found)", async () => {
      const missing = sha256("never stored");
      await expectCode(store.getBytes(missing), "object_not_found");
      await expectCode(store.getStream(missing), "object_not_found");
      await expectCode(store.getObject(missing), "object_not_found");
      expect(await store.has(missing)).toBe(false);
      expect(await store.stat(missing)).toBeUndefined();
      for (const bad of ["", "abc", missing.toUpperCase(), `${missing}0`, "../".repeat(21) + "a", 42]) {
        await expectCode(store.getBytes(bad as string), "oid_invalid");
        await expectCode(store.has(bad as string), "oid_invalid");
      }
      await expectCode(store.putBytes(42 as never), "invalid_argument");
    });

    it("a buffered read of a corrupt object fails with object_corrupt and reports it", async () => {
      const { oid } = await store.putBytes("good bytes");
      await h.corrupt(oid, Buffer.from("evil bytes"));
      const err = (await expectCode(store.getBytes(oid), "object_corrupt")) as { data: Record<string, unknown> };
      expect(err.data).toEqual({ oid, actual_oid: sha256("evil bytes") });
      expect(events).toEqual([{ oid, actualOid: sha256("evil bytes"), during: "get", repaired: false }]);
    });

    it("a streaming read of a corrupt object errors before delivering its last chunk", async () => {
      const data = bytesOf(5 * 1024 * 1024 + 123, 21);
      const { oid } = await store.putBytes(data);
      const evil = Buffer.from(data);
      evil[evil.length - 1] = (evil[evil.length - 1] as number) ^ 0xff; // only the last byte differs
      await h.corrupt(oid, evil);
      const received: Buffer[] = [];
      const err = await (async () => {
        try {
          for await (const chunk of await store.getStream(oid)) received.push(chunk as Buffer);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(isSnapError(err, "object_corrupt")).toBe(true);
      const got = Buffer.concat(received);
      expect(got.length).toBeGreaterThan(0); // earlier chunks flow (bounded memory)...
      expect(got.length).toBeLessThan(data.length); // ...but never the last one
      expect(Buffer.compare(got, data.subarray(0, got.length))).toBe(0);
      expect(events.map((e) => e.during)).toEqual(["get"]);
    });

    it("a streaming read of a small corrupt object delivers nothing", async () => {
      const { oid } = await store.putBytes("tiny");
      await h.corrupt(oid, Buffer.from("tinx"));
      const received: unknown[] = [];
      const stream = await store.getStream(oid);
      await expect(
        (async () => {
          for await (const c of stream) received.push(c);
        })(),
      ).rejects.toMatchObject({ code: "object_corrupt" });
      expect(received).toEqual([]);
    });

    it("a streaming read of a good object delivers every byte", async () => {
      const data = bytesOf(4 * 1024 * 1024 + 5, 33);
      const { oid } = await store.putBytes(data);
      const received: Buffer[] = [];
      for await (const chunk of await store.getStream(oid)) received.push(chunk as Buffer);
      expect(Buffer.compare(Buffer.concat(received), data)).toBe(0);
      expect(received.length).toBeGreaterThan(1);
    });

    it("a put over a corrupt object reports it and repairs it atomically (putBytes)", async () => {
      const data = Buffer.from("precious content");
      const { oid } = await store.putBytes(data);
      await h.corrupt(oid, Buffer.alloc(data.length)); // NUL-filled, as after a power loss
      const put = await store.putBytes(data);
      expect(put).toEqual({ oid, created: true, repaired: true });
      expect(events).toEqual([{ oid, actualOid: sha256(Buffer.alloc(data.length)), during: "put", repaired: true }]);
      expect(store.stats()).toMatchObject({ repaired: 1, corruptFound: 1 });
      expect(Buffer.compare(await store.getBytes(oid), data)).toBe(0);
      expect((await store.verify()).corrupt).toEqual([]);
    });

    it("a put over a corrupt object reports it and repairs it atomically (putStream, large)", async () => {
      const data = bytesOf(20 * 1024 * 1024, 9);
      const { oid } = await store.putBytes(data);
      await h.corrupt(oid, data.subarray(0, 1000)); // truncated
      const put = await store.putStream(chunked(data, 1 << 20));
      expect(put).toEqual({ oid, size: data.length, created: true, repaired: true });
      expect(Buffer.compare(await store.getBytes(oid), data)).toBe(0);
      expect(await h.debris()).toEqual([]);
    });

    it("putObject stores canonical JSON: key order does not change the oid", async () => {
      const a = await store.putObject({ type: "note", schema_version: 1, b: [1, 2, { y: 1, x: 2 }], a: "z" });
      const b = await store.putObject({ a: "z", b: [1, 2, { x: 2, y: 1 }], schema_version: 1, type: "note" });
      expect(b).toEqual({ oid: a.oid, created: false, repaired: false });
      const bytes = await store.getBytes(a.oid);
      expect(bytes.toString()).toBe('{"a":"z","b":[1,2,{"x":2,"y":1}],"schema_version":1,"type":"note"}');
      expect(await store.getObject(a.oid)).toEqual({ type: "note", schema_version: 1, a: "z", b: [1, 2, { x: 2, y: 1 }] });
    });

    it("putObject validates registered types by their zod schema and getObject returns them", async () => {
      const example = artifactDefinition.example;
      const { oid } = await store.putObject(example as never);
      expect(oid).toBe(sha256(canonicalBytes(example)));
      expect(await store.getObject(oid)).toEqual(example);
      const bad = { ...example, content_oid: "not-an-oid" };
      const err = (await expectCode(store.putObject(bad as never), "object_invalid")) as { data: Record<string, unknown> };
      expect(err.data.type).toBe("artifact");
      await expectCode(store.putObject({ ...example, schema_version: 99 } as never), "schema_version_unsupported");
      expect(await collect(store.list())).toEqual([oid]);
    });

    it("putObject refuses values without type or schema_version, or that are not JSON", async () => {
      await expectCode(store.putObject({ schema_version: 1 } as never), "object_invalid");
      await expectCode(store.putObject({ type: "x" } as never), "object_invalid");
      await expectCode(store.putObject({ type: "x", schema_version: 0 } as never), "object_invalid");
      await expectCode(store.putObject({ type: "x", schema_version: 1.5 } as never), "object_invalid");
      await expectCode(store.putObject([] as never), "object_invalid");
      await expectCode(store.putObject({ type: "x", schema_version: 1, n: Number.NaN }), "object_invalid");
      await expectCode(store.putObject({ type: "x", schema_version: 1, d: new Date() }), "object_invalid");
      expect(await collect(store.list())).toEqual([]);
    });

    it("getObject refuses an object written by a newer snap (schema_version_unsupported)", async () => {
      const newer = { ...artifactDefinition.example, schema_version: 2 };
      const { oid } = await store.putBytes(canonicalBytes(newer));
      const err = (await expectCode(store.getObject(oid), "schema_version_unsupported")) as { data: Record<string, unknown> };
      expect(err.data).toMatchObject({ type: "artifact", found: 2, supported: 1, oid });
    });

    it("getObject refuses malformed objects (object_invalid)", async () => {
      const cases: (string | Uint8Array)[] = [
        "plain text blob",
        new Uint8Array([0xff, 0xfe, 0x00]),
        '{ "type": "note", "schema_version": 1 }', // JSON, not canonical
        '{"schema_version":1,"type":"note","type":"other"}', // duplicate key
        '{"schema_version":1}', // no type
        '{"schema_version":"1","type":"note"}',
        "[1,2,3]",
        canonicalJsonOf({ ...artifactDefinition.example, size: -1 }), // registered type, fails its schema
      ];
      for (const bytes of cases) {
        const { oid } = await store.putBytes(bytes);
        await expectCode(store.getObject(oid), "object_invalid");
      }
    });

    it("verify re-hashes every object and lists the corrupt ones, with progress", async () => {
      const oids: string[] = [];
      for (let i = 0; i < 50; i++) oids.push((await store.putBytes(bytesOf(100 + i * 50, i + 1))).oid);
      const big = await store.putBytes(bytesOf(3 * 1024 * 1024, 77));
      await h.corrupt(oids[3] as string, Buffer.from("x"));
      await h.corrupt(big.oid, bytesOf(3 * 1024 * 1024, 78));
      const progress: number[] = [];
      const result = await store.verify({ onProgress: (p) => progress.push(p.checked) });
      expect(result.checked).toBe(51);
      expect(result.corrupt).toEqual([oids[3], big.oid].sort());
      expect(result.corruptObjects.find((c) => c.oid === oids[3])?.actual_oid).toBe(sha256("x"));
      expect(result.report).toMatchObject({ type: "verify_report", schema_version: 1, ok: false, objects_checked: 51 });
      expect(parseVersioned(verifyReportSchema, result.report)).toEqual(result.report); // a valid --json document
      expect(progress.length).toBe(51);
      expect(progress[50]).toBe(51);
      expect(events.filter((e) => e.during === "verify").length).toBe(2);
    });

    it("verify reports contract-shaped progress and stops with interrupted once its signal aborts", async () => {
      for (let i = 0; i < 40; i++) await store.putBytes(`v ${i}`);
      const events: { phase: string; done: number; unit?: string }[] = [];
      const controller = new AbortController();
      const err = (await expectCode(
        store.verify({
          concurrency: 1,
          signal: controller.signal,
          onProgress: (p) => {
            events.push({ phase: p.phase, done: p.done, unit: p.unit });
            if (p.checked === 5) controller.abort(new Error("test abort"));
          },
        }),
        "interrupted",
      )) as { data: Record<string, unknown> };
      expect(err.data.operation).toBe("verify");
      expect(events.length).toBeGreaterThanOrEqual(5);
      expect(events.length).toBeLessThan(40);
      expect(events[0]).toEqual({ phase: "verify", done: 1, unit: "objects" });
      const aborted = new AbortController();
      aborted.abort();
      await expectCode(store.verify({ signal: aborted.signal }), "interrupted");
      expect((await store.verify()).checked).toBe(40);
    });

    it("an empty store verifies clean", async () => {
      const result = await store.verify();
      expect(result).toMatchObject({ checked: 0, bytes: 0, corrupt: [], vanished: 0 });
      expect(result.report.ok).toBe(true);
    });

    it("resolvePrefix: a unique prefix gives the oid; several give rev_ambiguous with the candidates; none gives object_not_found", async () => {
      // Two contents whose oids share their first 5 hex digits (found by search, deterministic).
      const [a, b] = collidingContents(5);
      const oa = (await store.putBytes(a)).oid;
      const ob = (await store.putBytes(b)).oid;
      const other = (await store.putBytes("unrelated")).oid;
      const shared = oa.slice(0, 5);
      expect(ob.startsWith(shared)).toBe(true);
      let i = 5;
      while (oa[i] === ob[i]) i++;
      expect(await store.resolvePrefix(oa.slice(0, i + 1))).toBe(oa);
      expect(await store.resolvePrefix(ob.slice(0, i + 1).toUpperCase())).toBe(ob); // case-insensitive
      expect(await store.resolvePrefix(oa)).toBe(oa); // a full oid
      expect(await store.resolvePrefix(other.slice(0, 12))).toBe(other);
      const err = (await expectCode(store.resolvePrefix(shared), "rev_ambiguous")) as { data: Record<string, unknown> };
      expect(err.data).toEqual({ prefix: shared, candidates: [oa, ob].sort(), count: 2 });
      const absent = [...Array(16).keys()].map((n) => n.toString(16)).map((c) => shared.slice(0, 4) + c).find((p) => !oa.startsWith(p) && !other.startsWith(p)) as string;
      const notFound = (await expectCode(store.resolvePrefix(absent), "object_not_found")) as { data: Record<string, unknown> };
      expect(notFound.data).toEqual({ prefix: absent });
      await expectCode(store.resolvePrefix(sha256("never stored")), "object_not_found");
      await expectCode(store.resolvePrefix("abc"), "invalid_argument"); // too short
      await expectCode(store.resolvePrefix(""), "invalid_argument");
      await expectCode(store.resolvePrefix("abcz"), "oid_invalid");
      await expectCode(store.resolvePrefix("../x"), "oid_invalid");
      await expectCode(store.resolvePrefix("a".repeat(65)), "oid_invalid");
      await expectCode(store.resolvePrefix(42 as never), "invalid_argument");
      // list({prefix}) gives exactly the matching oids, for short and long prefixes.
      expect(await collect(store.list({ prefix: shared }))).toEqual([oa, ob].sort());
      expect(await collect(store.list({ prefix: oa.slice(0, 1) }))).toEqual([oa, ob, other].filter((o) => o[0] === oa[0]).sort());
      expect(await collect(store.list({ prefix: "" }))).toEqual([oa, ob, other].sort());
      expect(() => store.list({ prefix: "XY" })).toThrow();
    });

    it("delete removes an object: reads then fail with object_not_found, list omits it, a new put creates it again", async () => {
      const a = await store.putBytes("delete me");
      const b = await store.putStream([bytesOf(200_000, 5)]);
      const keep = await store.putBytes("keep me");
      expect(await store.delete(a.oid)).toBe(true);
      expect(await store.delete(a.oid)).toBe(false); // already gone
      expect(await store.has(a.oid)).toBe(false);
      expect(await store.stat(a.oid)).toBeUndefined();
      await expectCode(store.getBytes(a.oid), "object_not_found");
      await expectCode(store.getStream(a.oid), "object_not_found");
      expect(await collect(store.list())).toEqual([b.oid, keep.oid].sort());
      expect(await store.putBytes("delete me")).toEqual({ oid: a.oid, created: true, repaired: false });
      const many = await store.deleteMany([a.oid, b.oid, a.oid, sha256("never stored")]);
      expect(many.removed.sort()).toEqual([a.oid, b.oid].sort());
      expect(many.missing).toEqual([sha256("never stored")]);
      expect(await collect(store.list())).toEqual([keep.oid]);
      expect(Buffer.from(await store.getBytes(keep.oid)).toString()).toBe("keep me");
      expect(store.stats().deleted).toBe(3);
      expect(await store.deleteMany([])).toEqual({ removed: [], missing: [] });
      expect(await h.debris()).toEqual([]);
    });

    it("delete refuses bad oids before removing anything", async () => {
      const a = await store.putBytes("stays");
      await expectCode(store.delete("ABC"), "oid_invalid");
      await expectCode(store.deleteMany([a.oid, "../../etc/passwd"]), "oid_invalid");
      await expectCode(store.deleteMany(42 as never), "invalid_argument");
      expect(await store.has(a.oid)).toBe(true);
    });

    it("flush and cleanTmp succeed in any state; a closed store refuses work", async () => {
      await store.putBytes("a");
      await store.flush();
      expect((await store.cleanTmp({ olderThanMs: 0 })).removed).toBe(0);
      await expectCode(store.cleanTmp({ olderThanMs: -1 }), "invalid_argument");
      await store.close();
      await store.close(); // idempotent
      await expectCode(store.putBytes("b"), "closed");
      await expectCode(store.getBytes(sha256("a")), "closed");
      await expectCode(store.verify(), "closed");
      await expectCode(store.delete(sha256("a")), "closed");
    });
  });
}

/** Two distinct strings whose sha256 oids share their first `digits` hex digits (deterministic search). */
export function collidingContents(digits: number): [string, string] {
  const seen = new Map<string, string>();
  for (let i = 0; ; i++) {
    const content = `collide ${i}`;
    const key = sha256(content).slice(0, digits);
    const earlier = seen.get(key);
    if (earlier !== undefined) return [earlier, content];
    seen.set(key, content);
  }
}

function canonicalJsonOf(value: unknown): Uint8Array {
  return canonicalBytes(value);
}
