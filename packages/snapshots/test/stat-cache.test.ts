/**
 * commitDirectory's stat cache (version 2): a commit starts from the tree the directory was
 * last committed as and applies only what changed. Every test checks the snapshot against
 * the directory itself (labels and bytes), so a cache that lies shows up as a wrong snapshot.
 */
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ageObjects, build, newStore, type Fixture } from "./store-fixture.js";
import { tempDir } from "./helpers.js";

let fx: Fixture;
let site: { dir: string; cleanup: () => Promise<void> } | undefined;
afterEach(async () => {
  await fx?.cleanup();
  await site?.cleanup();
  site = undefined;
});

const OLD = () => new Date(Date.now() - 10_000);

/** Every regular file under `dir`: label -> text. */
async function filesOf(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const abs = join(entry.parentPath, entry.name);
    out.set(abs.slice(dir.length + 1), await readFile(abs, "utf8"));
  }
  return out;
}

/** The snapshot at `rev` equals the directory, label for label and byte for byte. */
async function expectSnapshotIs(rev: string, dir: string): Promise<void> {
  const want = await filesOf(dir);
  const view = await fx.store.view(rev);
  const labels = await view.labels();
  expect(labels).toEqual([...want.keys()].sort());
  for (const label of labels) expect(await view.text(label), label).toBe(want.get(label));
}

async function put(dir: string, label: string, text: string, old = true): Promise<void> {
  const abs = join(dir, label);
  await mkdir(join(abs, ".."), { recursive: true });
  await writeFile(abs, text);
  if (old) {
    // A distinct past mtime per write, so a rewrite of the same size is seen as a change.
    const t = new Date(Date.now() - 10_000 + Math.floor(Math.random() * 5_000));
    await utimes(abs, t, t);
  }
}

function cachePath(pipeline = "main"): string {
  return join(fx.dir, "cache", `stat-${pipeline}.cache`);
}

/** The cache file: its header record (first line) and its entry lines split at tabs. */
async function cacheOf(pipeline = "main"): Promise<{ header: Record<string, unknown>; entries: string[][]; text: string }> {
  const text = await readFile(cachePath(pipeline), "utf8");
  const [head, ...lines] = text.split("\n");
  expect(lines.pop()).toBe(""); // every entry line ends in LF
  return { header: JSON.parse(head as string) as Record<string, unknown>, entries: lines.map((l) => l.split("\t")), text };
}

describe("stat cache (version 2)", () => {
  it("random edits, additions, removals and file/directory swaps: every snapshot is the directory, only changed files are read", async () => {
    fx = await newStore();
    site = await tempDir();
    const dir = site.dir;
    for (let i = 0; i < 12; i++) await put(dir, `d${i % 3}/f${i}`, `v0-${i}`);
    await fx.store.commitDirectory({ dir });
    let seed = 7;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 16) % n; // the high bits: an LCG's low bits cycle
    };
    const seen = new Set<number>();
    for (let step = 0; step < 40; step++) {
      const files = [...(await filesOf(dir)).keys()].sort();
      let read = 0;
      const op = rand(6);
      seen.add(op);
      switch (op) {
        case 0: // edit
          if (files.length > 0) await put(dir, files[rand(files.length)]!, `edit-${step}`);
          read = files.length > 0 ? 1 : 0;
          break;
        case 1: // add, maybe in a new directory
          await put(dir, files.includes(`n${step % 4}`) ? `g${step}` : `n${step % 4}/g${step}`, `new-${step}`);
          read = 1;
          break;
        case 2: // remove
          if (files.length > 1) await rm(join(dir, files[rand(files.length)]!));
          break;
        case 3: {
          // a file becomes a directory of the same name
          if (files.length === 0) break;
          const f = files[rand(files.length)]!;
          await rm(join(dir, f));
          await put(dir, `${f}/inner`, `inner-${step}`);
          read = 1;
          break;
        }
        case 4: {
          // a directory becomes a file of the same name
          const dirs = [...new Set(files.filter((f) => f.includes("/")).map((f) => f.slice(0, f.lastIndexOf("/"))))];
          if (dirs.length === 0) break;
          const d = dirs[rand(dirs.length)]!;
          await rm(join(dir, d), { recursive: true });
          await put(dir, d, `was-a-dir-${step}`);
          read = 1;
          break;
        }
        case 5: // nothing changed
          break;
      }
      const r = await fx.store.commitDirectory({ dir, message: `step ${step}` });
      expect(r.hashed, `step ${step}`).toBe(read);
      await expectSnapshotIs("main", dir);
    }
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await fx.store.fsck()).toMatchObject({ ok: true });
  });

  it("holds no oids: the tree it was committed as, trusted entries and the other labels", async () => {
    fx = await newStore();
    site = await tempDir();
    await put(site.dir, "a", "A");
    await put(site.dir, "fresh", "F", false); // mtime now: racy, not trusted
    const r = await fx.store.commitDirectory({ dir: site.dir });
    const cache = await cacheOf();
    expect(cache.header).toMatchObject({ type: "stat_cache", schema_version: 2, tree_root: r.rootOid, entry_count: 1, uncached: ["fresh"] });
    expect(cache.header).not.toHaveProperty("entries");
    const st = await stat(join(site.dir, "a"));
    expect(cache.entries).toEqual([["a", String(st.size), String(st.mtimeMs), String(st.ino)]]);
    // The racy file is read again (it could change within the timestamp granularity unseen).
    const again = await fx.store.commitDirectory({ dir: site.dir });
    expect(again.hashed).toBe(1);
    await expectSnapshotIs("main", site.dir);
  });

  it("after another writer moved the branch, starts from the directory's own tree and still records exactly the directory", async () => {
    fx = await newStore();
    site = await tempDir();
    for (let i = 0; i < 5; i++) await put(site.dir, `f${i}`, `v${i}`);
    await fx.store.commitDirectory({ dir: site.dir });
    const other = await build(fx.store, { elsewhere: "x", f0: "not the directory's" });
    await put(site.dir, "f1", "changed");
    const r = await fx.store.commitDirectory({ dir: site.dir });
    expect(r.hashed).toBe(1);
    expect(r.parentOid).toBe(other.snapshotOid);
    await expectSnapshotIs("main", site.dir);
  });

  it("when gc collected the tree the cache names, reads the directory again", async () => {
    fx = await newStore();
    site = await tempDir();
    await put(site.dir, "a", "A");
    await put(site.dir, "b", "B");
    const first = await fx.store.commitDirectory({ dir: site.dir });
    // Nothing names the first snapshot any more: gc collects it, its tree included.
    await fx.store.context.refs.transaction(
      [
        { ref: "refs/heads/main", expect: first.snapshotOid, set: "delete" },
        { ref: first.runRef, expect: first.snapshotOid, set: "delete" },
      ],
      { reason: "test" },
    );
    await ageObjects(fx, 10_000);
    await fx.store.gc({ graceMs: 1_000 });
    expect(await fx.store.context.objects.has(first.rootOid)).toBe(false);
    await put(site.dir, "b", "B2");
    const r = await fx.store.commitDirectory({ dir: site.dir });
    expect(r.hashed).toBe(2);
    await expectSnapshotIs("main", site.dir);
    expect(await fx.store.fsck()).toMatchObject({ ok: true });
  });

  it("ignores a version 1 cache (reads every file, writes version 2, removes the old file)", async () => {
    fx = await newStore();
    site = await tempDir();
    await put(site.dir, "a", "A");
    await put(site.dir, "b", "B");
    await fx.store.commitDirectory({ dir: site.dir, statCache: false });
    const v1Path = join(fx.dir, "cache", "stat-main.json");
    const oid = "a".repeat(64);
    const v1 = { type: "stat_cache", schema_version: 1, pipeline: "main", root: site.dir, written_at_ms: 1, entries: [["a", 1, 2, 3, oid, oid]] };
    await writeFile(v1Path, JSON.stringify(v1));
    expect((await fx.store.commitDirectory({ dir: site.dir })).hashed).toBe(2);
    expect((await cacheOf()).header).toMatchObject({ schema_version: 2, entry_count: 2 });
    await expect(stat(v1Path)).rejects.toMatchObject({ code: "ENOENT" });
    expect((await fx.store.commitDirectory({ dir: site.dir })).hashed).toBe(0);
  });

  it("a damaged, truncated or out-of-order cache is not trusted: every file is read and the snapshot is still the directory", async () => {
    fx = await newStore();
    site = await tempDir();
    for (const l of ["a", "b", "c/d"]) await put(site.dir, l, l.toUpperCase());
    await fx.store.commitDirectory({ dir: site.dir });
    const good = (await cacheOf()).text;
    const [first, ...lines] = good.split("\n");
    const head = first as string;
    lines.pop();
    const damaged: Record<string, string> = {
      "header not JSON": `{not json\n${lines.join("\n")}\n`,
      "truncated (a line short of entry_count)": `${head}\n${lines.slice(0, -1).join("\n")}\n`,
      "torn mid-line": good.slice(0, good.length - 3),
      "lines out of order": `${head}\n${[...lines].reverse().join("\n")}\n`,
      "duplicate line": `${head.replace('"entry_count":3', '"entry_count":4')}\n${lines[0]}\n${lines.join("\n")}\n`,
      "a line without fields": `${head}\n${lines.map((l, i) => (i === 1 ? "b" : l)).join("\n")}\n`,
      "another root": `${head.replace(JSON.stringify(site.dir), JSON.stringify(`${site.dir}-elsewhere`))}\n${lines.join("\n")}\n`,
      "header only": `${head}`,
      empty: "",
    };
    let n = 0;
    for (const [what, text] of Object.entries(damaged)) {
      await writeFile(cachePath(), text);
      await put(site.dir, "a", `A${n++}`);
      const r = await fx.store.commitDirectory({ dir: site.dir });
      expect(r.hashed, what).toBe(3);
      await expectSnapshotIs("main", site.dir);
      expect((await cacheOf()).header, what).toMatchObject({ entry_count: 3 });
    }
  });

  it("names in the cache that are no labels are never removed from the tree", async () => {
    fx = await newStore();
    site = await tempDir();
    await put(site.dir, "a", "A");
    await put(site.dir, "b", "B");
    await fx.store.commitDirectory({ dir: site.dir });
    const { header, text } = await cacheOf();
    await writeFile(cachePath(), `${JSON.stringify({ ...header, uncached: ["../escape", "b/"] })}${text.slice(text.indexOf("\n"))}`);
    await put(site.dir, "a", "A2");
    const r = await fx.store.commitDirectory({ dir: site.dir });
    expect(r.hashed).toBe(1);
    await expectSnapshotIs("main", site.dir);
  });

  it("a cache written for another directory is not used", async () => {
    fx = await newStore();
    site = await tempDir();
    const other = await tempDir();
    try {
      await put(site.dir, "a", "A");
      await put(other.dir, "a", "A");
      await put(other.dir, "z", "Z");
      await fx.store.commitDirectory({ dir: site.dir });
      const r = await fx.store.commitDirectory({ dir: other.dir });
      expect(r.hashed).toBe(2);
      await expectSnapshotIs("main", other.dir);
    } finally {
      await other.cleanup();
    }
  });
});
