import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { canonicalJson, isEntryName, isSnapError } from "@snap/schema";
import { decodeTree, encodeTree, type MutableTree, treeBytes } from "../src/tree.js";
import { assertLabel, diffTrees, EMPTY_TREE_OID, lookupLabel, readTree, updateTree, walkTree, writeTree } from "../src/index.js";
import { counting, memoryStore } from "./helpers.js";

const A = (n: number) => n.toString(16).padStart(64, "0");

describe("labels", () => {
  it.each([
    ["../etc/passwd", "'..' segment"],
    ["a/../../b", "'..' segment"],
    ["/etc/passwd", "absolute path"],
    ["a\u0000b", "contains NUL"],
    ["a\\b", "contains a backslash"],
    ["a//b", "empty segment"],
    ["a/", "empty segment"],
    ["./a", "'.' segment"],
    ["", "empty"],
    ["C:/x", "drive-letter path"],
  ])("refuses %j with label_invalid (%s)", (label, reason) => {
    let err: unknown;
    try {
      assertLabel(label);
    } catch (e) {
      err = e;
    }
    expect(isSnapError(err, "label_invalid")).toBe(true);
    expect((err as Error).message).toContain(reason);
  });

  it("accepts nested relative paths, dots inside names and unicode", () => {
    for (const l of ["a", "docs/index.html", ".well-known/x", "a..b/c", "ünï/😀.txt"]) assertLabel(l);
  });
});

describe("trees", () => {
  it("builds sorted trees, reads labels back and walks every artifact", async () => {
    const store = await memoryStore();
    const labels = new Map([
      ["b/x", A(1)],
      ["a", A(2)],
      ["b/c/d", A(3)],
      ["B", A(4)],
    ]);
    const { root } = await writeTree(store, labels);
    const top = await readTree(store, root);
    expect(top.entries.map((e) => e.name)).toEqual(["B", "a", "b"]);
    expect(await lookupLabel(store, root, "b/c/d")).toMatchObject({ kind: "artifact", oid: A(3) });
    expect(await lookupLabel(store, root, "b/c")).toMatchObject({ kind: "tree" });
    expect(await lookupLabel(store, root, "b/zz")).toBeUndefined();
    const walked = new Map<string, string>();
    for await (const [l, o] of walkTree(store, root)) walked.set(l, o);
    expect(walked).toEqual(labels);
  });

  it("treeBytes writes exactly the canonical JSON of the tree object (ascii, escapes, astral and BMP unicode, kinds)", () => {
    const names = ["a", "Z", "é", "日本", "emoji-\u{1F600}", 'quote"back\\slash', "tab\tnl\n", "ctrl-\u0001", "ﬀ", "a.b-c_d", "1", "10", "9"];
    const node: MutableTree = { entries: new Map() };
    names.forEach((name, i) => {
      const oid = createHash("sha256").update(name).digest("hex");
      node.entries.set(name, i % 3 === 0 ? { kind: "tree", oid, node: undefined, dirty: false } : { kind: "artifact", oid });
    });
    const entries = [...node.entries.entries()]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([name, slot]) => ({ name, kind: slot.kind, oid: slot.oid as string }));
    expect(Buffer.from(treeBytes(node)).toString("utf8")).toBe(canonicalJson({ type: "tree", schema_version: 1, entries }));
    expect(Buffer.from(treeBytes({ entries: new Map() })).toString("utf8")).toBe(canonicalJson({ type: "tree", schema_version: 1, entries: [] }));
  });

  it("encodeTree equals the generic canonical encoder on random names (seeded), and decodeTree reads it back", () => {
    let seed = 11;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 16) % n;
    };
    // Code points from every class the encoders treat differently: ASCII, JSON escapes
    // (quote, backslash, controls, U+007F), two- and three-byte UTF-8, astral (pairs).
    const pool = ["a", "Z", "0", ".", "-", "_", '"', "\\", "\u0001", "\u001f", "\u007f", "\u0080", "é", "\u2028", "日", "\uffff", "\u{1F600}", "\u{10FFFF}"];
    for (let round = 0; round < 200; round++) {
      const names = new Set<string>();
      const count = rand(8);
      while (names.size < count) {
        let name = "";
        for (let k = 1 + rand(6); k > 0; k--) name += pool[rand(pool.length)];
        names.add(name);
      }
      const entries = [...names]
        .sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))
        .map((name, i) => ({ name, kind: i % 2 === 0 ? ("artifact" as const) : ("tree" as const), oid: A(round * 10 + i) }));
      const generic = canonicalJson({ type: "tree", schema_version: 1, entries });
      const astral = entries.some((e) => /[\uD800-\uDFFF]/.test(e.name));
      const fast = encodeTree(entries);
      if (astral) expect(fast).toBeUndefined(); // the generic encoder decides surrogates
      else expect(fast?.toString("utf8")).toBe(generic);
      const valid = entries.every((e) => isEntryName(e.name));
      const decoded = decodeTree(Buffer.from(generic, "utf8"));
      // The fast decoder declines what the fast encoder does not write (the generic path reads it).
      expect(decoded === undefined ? undefined : decoded.entries).toEqual(valid && !astral ? entries : undefined);
    }
  });

  it("decodeTree declines everything the tree schema or the canonical encoding refuses; readTree then reports it", async () => {
    const store = await memoryStore();
    const good = { type: "tree", schema_version: 1, entries: [{ kind: "artifact", name: "a", oid: A(1) }, { kind: "tree", name: "b", oid: A(2) }] };
    const goodBytes = Buffer.from(canonicalJson(good), "utf8");
    expect(decodeTree(goodBytes)).toEqual(good);
    const put = async (text: string | Uint8Array) => (await store.putBytes(typeof text === "string" ? Buffer.from(text, "utf8") : text)).oid;
    expect((await readTree(store, await put(goodBytes))).entries).toEqual(good.entries);
    const withEntries = (entries: unknown[]) => canonicalJson({ ...good, entries });
    const bad: Record<string, string | Uint8Array> = {
      "not canonical (whitespace)": JSON.stringify(good, null, 1),
      "not canonical (key order)": JSON.stringify({ type: "tree", schema_version: 1, entries: good.entries }),
      "extra member": canonicalJson({ ...good, extra: 1 }),
      "extra entry member": withEntries([{ kind: "artifact", name: "a", oid: A(1), x: 1 }]),
      unsorted: withEntries([good.entries[1], good.entries[0]]),
      duplicate: withEntries([good.entries[0], good.entries[0]]),
      "bad name": withEntries([{ kind: "artifact", name: "..", oid: A(1) }]),
      "name with a slash": withEntries([{ kind: "artifact", name: "a/b", oid: A(1) }]),
      "bad kind": withEntries([{ kind: "link", name: "a", oid: A(1) }]),
      "bad oid": withEntries([{ kind: "artifact", name: "a", oid: "A".repeat(64) }]),
      "entries not an array": canonicalJson({ ...good, entries: {} }),
      "not JSON": "{",
      "invalid UTF-8": Buffer.concat([goodBytes.subarray(0, 30), Buffer.from([0xff]), goodBytes.subarray(31)]),
    };
    for (const [what, bytes] of Object.entries(bad)) {
      const buf = typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes;
      expect(decodeTree(buf), what).toBeUndefined();
      const err = await readTree(store, await put(buf)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSnapError(err, "object_invalid"), `${what}: ${String(err)}`).toBe(true);
    }
    // Another type, and a newer schema_version: declined here, decided by the generic path.
    expect(decodeTree(Buffer.from(canonicalJson({ ...good, type: "manifest" }), "utf8"))).toBeUndefined();
    const newer = await readTree(store, await put(canonicalJson({ ...good, schema_version: 2 }))).catch((e: unknown) => e);
    expect(isSnapError(newer, "schema_version_unsupported")).toBe(true);
  });

  it("the same labels give the same root oid whatever the insertion order; empty map gives the empty tree", async () => {
    const store = await memoryStore();
    const r1 = await writeTree(store, [["x/y", A(1)], ["a", A(2)]]);
    const r2 = await writeTree(store, [["a", A(2)], ["x/y", A(1)]]);
    expect(r1.root).toBe(r2.root);
    expect(r2.written).toEqual([]);
    expect((await writeTree(store, [])).root).toBe(EMPTY_TREE_OID);
  });

  it("an artifact and a directory of the same name conflict: label_invalid", async () => {
    const store = await memoryStore();
    await expect(writeTree(store, [["a", A(1)], ["a/b", A(2)]])).rejects.toMatchObject({ code: "label_invalid" });
    await expect(writeTree(store, [["a/b", A(1)], ["a", A(2)]])).rejects.toMatchObject({ code: "label_invalid" });
  });

  it("a directory emptied by the same change set can become an artifact of its name (and back)", async () => {
    const store = await memoryStore();
    const { root } = await writeTree(store, [["d/x/y", A(1)], ["d/z", A(2)], ["k", A(3)]]);
    const file = await updateTree(store, root, [["d/x/y", null], ["d/z", null], ["d", A(4)]]);
    expect(file.root).toBe((await writeTree(store, [["d", A(4)], ["k", A(3)]])).root);
    const dir = await updateTree(store, file.root, [["d", null], ["d/x/y", A(1)]]);
    expect(dir.root).toBe((await writeTree(store, [["d/x/y", A(1)], ["k", A(3)]])).root);
    // Still a conflict while the directory keeps an artifact.
    await expect(updateTree(store, root, [["d/x/y", null], ["d", A(4)]])).rejects.toMatchObject({ code: "label_invalid" });
  });

  it("removing the last artifact of a directory prunes the directory", async () => {
    const store = await memoryStore();
    const { root } = await writeTree(store, [["d/only", A(1)], ["k", A(2)]]);
    const next = await updateTree(store, root, [["d/only", null]]);
    expect((await readTree(store, next.root)).entries.map((e) => e.name)).toEqual(["k"]);
    const same = await writeTree(store, [["k", A(2)]]);
    expect(same.root).toBe(next.root);
  });

  it("re-committing a 100k-artifact snapshot with 10 changes writes O(10 x depth) new objects; diff touches O(changes) objects", async () => {
    const store = await memoryStore();
    const labels = new Map<string, string>();
    // 100 000 labels, depth 3: 40 x 50 x 50
    let n = 0;
    for (let i = 0; i < 40; i++) for (let j = 0; j < 50; j++) for (let k = 0; k < 50; k++) labels.set(`s${i}/d${j}/f${k}.txt`, A(++n));
    expect(labels.size).toBe(100_000);
    const c = counting(store);
    const first = await writeTree(c, labels);
    expect(first.written.length).toBe(1 + 40 + 40 * 50);
    const depth = 3;
    // full re-build from the whole map with 10 changes
    const changed = new Map(labels);
    const picks = ["s0/d0/f0.txt", "s3/d7/f9.txt", "s3/d7/f10.txt", "s9/d1/f1.txt", "s10/d10/f10.txt", "s20/d20/f20.txt", "s30/d3/f3.txt", "s39/d49/f49.txt"];
    for (const p of picks) changed.set(p, A(999_000 + picks.indexOf(p)));
    changed.set("s5/new/file.txt", A(888_001)); // added
    changed.delete("s6/d6/f6.txt"); // removed
    c.reset();
    const second = await writeTree(c, changed);
    expect(c.created).toBeLessThanOrEqual(10 * (depth + 1));
    expect(c.created).toBe(second.written.length);
    expect(c.reads).toBe(0);
    // the same through the incremental path (reads O(changes x depth) base trees)
    c.reset();
    const edits: [string, string | null][] = [...picks.map((p) => [p, changed.get(p) as string] as [string, string]), ["s5/new/file.txt", A(888_001)], ["s6/d6/f6.txt", null]];
    const third = await updateTree(c, first.root, edits);
    expect(third.root).toBe(second.root);
    expect(c.reads).toBeLessThanOrEqual(10 * depth);
    expect(c.created).toBe(0);
    // diff
    c.reset();
    const changes = await diffTrees(c, first.root, second.root);
    expect(changes).toHaveLength(10);
    expect(changes.filter((x) => x.status === "added").map((x) => x.label)).toEqual(["s5/new/file.txt"]);
    expect(changes.filter((x) => x.status === "removed").map((x) => x.label)).toEqual(["s6/d6/f6.txt"]);
    expect(changes.filter((x) => x.status === "changed")).toHaveLength(8);
    expect(c.reads).toBeLessThanOrEqual(2 * 10 * depth);
    c.reset();
    expect(await diffTrees(c, first.root, first.root)).toEqual([]);
    expect(c.reads).toBe(0);
  });

  it("diff reports a file replaced by a directory as removed + added", async () => {
    const store = await memoryStore();
    const a = await writeTree(store, [["x", A(1)], ["y", A(2)]]);
    const b = await writeTree(store, [["x/inner", A(3)], ["y", A(2)]]);
    const d = await diffTrees(store, a.root, b.root);
    expect(d).toEqual([
      { label: "x", status: "removed", before: A(1) },
      { label: "x/inner", status: "added", after: A(3) },
    ]);
  });
});
