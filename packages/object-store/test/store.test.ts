/** Store logic above the backend, driven through custom ObjectBackends. */
import { describe, expect, it } from "vitest";
import { createMemoryBackend, openObjectStore, type ObjectBackend } from "../src/index.js";
import { collect, sha256 } from "./contract.js";

describe("store over a custom backend", () => {
  it("accepts any ObjectBackend and reports its kind", async () => {
    const inner = createMemoryBackend();
    const custom: ObjectBackend = { ...inner, kind: "custom" };
    const store = await openObjectStore({ backend: custom });
    expect(store.backendKind).toBe("custom");
    await store.putBytes("x");
    expect(await collect(store.list())).toEqual([sha256("x")]);
  });

  it("an existing object that vanishes before it is checked (concurrent GC) is published again", async () => {
    const inner = createMemoryBackend();
    let lies = 1;
    const racing: ObjectBackend = {
      ...inner,
      // The first no-clobber write "finds" an object that a GC then removes.
      async write(oid, data, mode) {
        if (mode === "no-clobber" && lies > 0) {
          lies--;
          return "exists";
        }
        return inner.write(oid, data, mode);
      },
    };
    const store = await openObjectStore({ backend: racing });
    expect(await store.putBytes("raced")).toEqual({ oid: sha256("raced"), created: true, repaired: false });
    expect((await store.getBytes(sha256("raced"))).toString()).toBe("raced");
  });

  it("an object that keeps vanishing is an internal error, not a silent success", async () => {
    const inner = createMemoryBackend();
    const store = await openObjectStore({ backend: { ...inner, write: async () => "exists" } });
    await expect(store.putBytes("never there")).rejects.toMatchObject({ code: "internal" });
  });

  it("a backend failure during a streamed put aborts the staged write and surfaces the error", async () => {
    const inner = createMemoryBackend();
    let aborted = 0;
    const failing: ObjectBackend = {
      ...inner,
      async stage() {
        const staged = await inner.stage();
        return {
          write: staged.write,
          commit: async () => {
            throw Object.assign(new Error("disk full"), { code: "ENOSPC" });
          },
          abort: async () => {
            aborted++;
            await staged.abort();
          },
        };
      },
    };
    const store = await openObjectStore({ backend: failing });
    await expect(store.putStream([Buffer.from("data")])).rejects.toMatchObject({ code: "ENOSPC" });
    expect(aborted).toBeGreaterThan(0);
    expect(await collect(store.list())).toEqual([]);
  });
});
