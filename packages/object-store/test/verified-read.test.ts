import { describe, expect, it } from "vitest";
import { isSnapError } from "@snap/schema";
import { verifiedChunks } from "../src/verified-read.js";
import { sha256 } from "./contract.js";

async function* source(chunks: string[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield Buffer.from(c);
}

async function drain(oid: string, chunks: string[]): Promise<{ got: string[]; err: unknown; reported: string[] }> {
  const got: string[] = [];
  const reported: string[] = [];
  try {
    for await (const c of verifiedChunks(oid, source(chunks), (a) => reported.push(a))) got.push(Buffer.from(c).toString());
  } catch (err) {
    return { got, err, reported };
  }
  return { got, err: undefined, reported };
}

describe("verified streaming reads (the iterator under getStream)", () => {
  it("a good object's chunks all arrive, in order", async () => {
    const r = await drain(sha256("abcdef"), ["ab", "", "cd", "ef"]);
    expect(r).toEqual({ got: ["ab", "cd", "ef"], err: undefined, reported: [] });
  });

  it("on a mismatch every chunk but the last arrives, then object_corrupt, never the last chunk", async () => {
    for (let n = 1; n <= 5; n++) {
      const chunks = Array.from({ length: n }, (_, i) => `chunk${i}`);
      const r = await drain(sha256("something else"), chunks);
      expect(r.got).toEqual(chunks.slice(0, -1));
      expect(isSnapError(r.err, "object_corrupt")).toBe(true);
      expect(r.reported).toEqual([sha256(chunks.join(""))]);
    }
  });

  it("an empty object that should not be empty fails without delivering anything", async () => {
    const r = await drain(sha256("x"), []);
    expect(r.got).toEqual([]);
    expect(isSnapError(r.err, "object_corrupt")).toBe(true);
  });
});
