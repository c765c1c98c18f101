import { describe, expect, it } from "vitest";
import { createFaultFs } from "@snap/fs";
import { isSnapError } from "@snap/schema";
import { findNameConflict, isValidRefName, refNameProblem } from "../src/index.js";
import { oid, openStore, prng, tempDir } from "./helpers.js";

const GOOD = [
  "HEAD",
  "refs/heads/main",
  "refs/heads/feature.x-1_2",
  "refs/runs/main/2026-11-22T02-31-00Z-7f3a",
  "refs/tags/v1.2.3",
  "refs/releases/prod",
  "refs/stash",
  "refs/heads/a" + "b".repeat(100),
  "refs/heads/" + "a".repeat(39),
  "refs/heads/" + "a".repeat(41),
  "refs/heads/" + "g".repeat(40),
  "refs/heads/con1",
  "refs/heads/console",
];

const BAD: [string, string][] = [
  ["", "empty"],
  ["main", "bare name"],
  ["heads/main", "outside refs/"],
  ["refs", "refs alone"],
  ["refs/", "trailing slash"],
  ["/refs/heads/main", "absolute"],
  ["refs/heads/main/", "trailing slash"],
  ["refs//heads", "double slash"],
  ["refs/heads/../../etc/passwd", "traversal"],
  ["refs/heads/..", "dot-dot segment"],
  ["refs/heads/.", "dot segment"],
  ["refs/heads/a..b", "dot-dot inside"],
  ["refs/heads/.hidden", "leading dot"],
  ["refs/heads/-rf", "leading dash"],
  ["refs/heads/main.", "trailing dot"],
  ["refs/heads/main.lock", ".lock"],
  ["refs/heads/main.LOCK", ".LOCK"],
  ["refs/heads/a\u0000b", "NUL"],
  ["refs/heads/a b", "space"],
  ["refs/heads/a\tb", "tab"],
  ["refs/heads/a\nb", "newline"],
  ["refs/heads/a~1", "tilde"],
  ["refs/heads/a^", "caret"],
  ["refs/heads/a:b", "colon"],
  ["refs/heads/a?", "question"],
  ["refs/heads/a*", "star"],
  ["refs/heads/a[", "bracket"],
  ["refs/heads/a\\b", "backslash"],
  ["refs/heads/a@{1}", "@{"],
  ["refs/heads/@", "@"],
  ["refs/heads/m\u0430in", "cyrillic a look-alike"],
  ["refs/heads/ma\u0131n", "dotless i"],
  ["refs/heads/\uff4dain", "fullwidth m"],
  ["refs/heads/caf\u00e9", "non-ASCII"],
  ["refs/heads/a\u200bb", "zero-width space"],
  ["refs/heads/CON", "Windows CON"],
  ["refs/heads/nul", "Windows nul"],
  ["refs/heads/Aux.txt", "Windows AUX.ext"],
  ["refs/heads/COM1", "Windows COM1"],
  ["refs/heads/lpt9.x", "Windows LPT9.ext"],
  ["refs/heads/" + "a".repeat(40), "40-hex"],
  ["refs/heads/" + "0123456789abcdef".repeat(4), "64-hex"],
  ["refs/heads/" + "ABCDEF0123".repeat(4), "40-hex upper"],
  ["refs/heads/HEAD", "HEAD inside refs"],
  ["refs/heads/" + "a".repeat(250), "longer than 255 bytes"],
  ["head", "lowercase head"],
  ["ORIG_HEAD", "other pseudo ref"],
];

describe("ref names", () => {
  it("accepts names that follow the rules", () => {
    for (const name of GOOD) expect(refNameProblem(name), name).toBeNull();
  });

  it.each(BAD)("refuses %j (%s)", (name) => {
    expect(isValidRefName(name)).toBe(false);
  });

  it("refuses non-strings", () => {
    for (const v of [undefined, null, 1, {}, ["refs/heads/main"]]) expect(isValidRefName(v)).toBe(false);
  });

  it("finds a vs a/b and case conflicts", () => {
    expect(findNameConflict(["refs/heads/a", "refs/heads/a/b"])).toEqual(["refs/heads/a", "refs/heads/a/b"]);
    expect(findNameConflict(["refs/heads/a/b", "refs/heads/a"])).not.toBeNull();
    expect(findNameConflict(["refs/heads/Main", "refs/heads/main"])).not.toBeNull();
    expect(findNameConflict(["refs/heads/A/x", "refs/heads/a/y"])).not.toBeNull();
    expect(findNameConflict(["refs/heads/a", "refs/heads/ab", "refs/heads/a.b"])).toBeNull();
  });
});

/** Names built from hostile pieces; each is checked against an independent oracle. */
function generateName(rand: () => number): string {
  const pieces = [
    "refs", "heads", "main", "..", ".", "", "a", "b", "x.lock", ".hidden", "-x", "CON", "nul", "com3", "lpt1.txt",
    "a".repeat(40), "f".repeat(64), "ABCDEF0123456789ABCDEF0123456789ABCDEF01", "m\u0430in", "\uff41", "\u0000",
    "a b", "a~", "a^b", "a:b", "a?", "a*", "[x", "a\\b", "@{u}", "@", "ok", "run-1", "v1.2", "trail.", "HEAD", "/",
    "x".repeat(120), "\u00e9", "\ud83d\ude00", "..\\..", "%2e%2e", "a\u202eb",
  ];
  const n = 1 + Math.floor(rand() * 5);
  const segs: string[] = [];
  if (rand() < 0.7) segs.push("refs");
  for (let i = 0; i < n; i++) segs.push(pieces[Math.floor(rand() * pieces.length)]!);
  let name = segs.join("/");
  if (rand() < 0.1) name = "/" + name;
  if (rand() < 0.1) name = name + "/";
  return name;
}

/** An independent statement of the rules (regex-based), for the fuzz oracle. */
function oracleValid(name: string): boolean {
  if (name === "HEAD") return true;
  if (Buffer.byteLength(name) > 255 || !/^refs(\/[A-Za-z0-9._-]+)+$/.test(name)) return false;
  return name
    .split("/")
    .slice(1)
    .every(
      (s) =>
        !/^[.-]/.test(s) &&
        !/\.$/.test(s) &&
        !/\.lock$/i.test(s) &&
        !s.includes("..") &&
        !/^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i.test(s) &&
        !/^([0-9a-f]{40}|[0-9a-f]{64})$/i.test(s) &&
        s !== "HEAD",
    );
}

describe("fuzzed names", () => {
  it("validator agrees with the oracle on 20,000 generated names", () => {
    const rand = prng(42);
    let bad = 0;
    for (let i = 0; i < 20_000; i++) {
      const name = generateName(rand);
      const valid = isValidRefName(name);
      expect(valid, JSON.stringify(name)).toBe(oracleValid(name));
      if (!valid) bad++;
    }
    expect(bad).toBeGreaterThan(10_000);
  });

  it("every bad name is refused by every API with ref_name_invalid before any file is touched", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const fs = await createFaultFs({ root: dir });
      const store = await openStore(dir, { fs });
      await store.refs.transaction([{ ref: "refs/heads/main", set: oid(1) }]);
      const rand = prng(7);
      const names = [...BAD.map(([n]) => n)];
      while (names.length < 600) {
        const n = generateName(rand);
        if (!oracleValid(n)) names.push(n);
      }
      fs.resetCounts();
      const before = fs.mutations;
      for (const name of names) {
        const calls: (() => Promise<unknown>)[] = [
          () => store.refs.transaction([{ ref: name, set: oid(2) }]),
          () => store.refs.transaction([{ ref: "refs/heads/ok", set: oid(2) }, { ref: name, set: "delete" }]),
          () => store.refs.setSymbolic("HEAD", name),
          () => store.refs.setSymbolic(name, "refs/heads/main"),
          () => store.refs.read(name),
          () => store.refs.resolve(name),
          () => store.refs.log(name),
        ];
        for (const call of calls) {
          const err = await call().then(
            () => null,
            (e: unknown) => e,
          );
          expect(isSnapError(err, "ref_name_invalid"), `${JSON.stringify(name)}: ${String(err)}`).toBe(true);
        }
      }
      expect(fs.mutations - before, "no file was touched").toBe(0);
      expect(fs.counts.ops.mkdir ?? 0).toBe(0);
      expect(await store.refs.read("refs/heads/ok")).toBeNull();
      await store.close();
    } finally {
      await cleanup();
    }
  });

  it("a vs a/b conflicts are refused with ref_name_conflict before any file is touched", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const fs = await createFaultFs({ root: dir });
      const store = await openStore(dir, { fs });
      await store.refs.transaction([
        { ref: "refs/heads/a", set: oid(1) },
        { ref: "refs/heads/b/c", set: oid(2) },
      ]);
      const conflicts: { ref: string; set: string }[][] = [
        [{ ref: "refs/heads/a/b", set: oid(3) }],
        [{ ref: "refs/heads/a/b/c/d", set: oid(3) }],
        [{ ref: "refs/heads/b", set: oid(3) }],
        [{ ref: "refs/heads/x", set: oid(3) }, { ref: "refs/heads/x/y", set: oid(3) }],
        [{ ref: "refs/heads/y/z", set: oid(3) }, { ref: "refs/heads/y", set: oid(3) }],
        [{ ref: "refs/heads/Q", set: oid(3) }, { ref: "refs/heads/q", set: oid(3) }],
      ];
      fs.resetCounts();
      const before = fs.mutations;
      for (const updates of conflicts) {
        const err = await store.refs.transaction(updates).catch((e: unknown) => e);
        expect(isSnapError(err, "ref_name_conflict"), `${JSON.stringify(updates)}: ${String(err)}`).toBe(true);
      }
      expect(fs.mutations - before).toBe(0);
      // Case twins on disk are found under the lock.
      const err = await store.refs.transaction([{ ref: "refs/heads/A", set: oid(4) }]).catch((e: unknown) => e);
      expect(isSnapError(err, "ref_name_conflict")).toBe(true);
      // Deleting a and creating a/b in one transaction is fine (git allows it too).
      await store.refs.transaction([
        { ref: "refs/heads/a", expect: oid(1), set: "delete" },
        { ref: "refs/heads/a/b", expect: "absent", set: oid(5) },
      ]);
      expect(await store.refs.read("refs/heads/a/b")).toBe(oid(5));
      // And back: the emptied directory is no obstacle.
      await store.refs.transaction([
        { ref: "refs/heads/a/b", set: "delete" },
        { ref: "refs/heads/a", set: oid(6) },
      ]);
      expect(await store.refs.read("refs/heads/a")).toBe(oid(6));
      expect((await store.refs.verify()).ok).toBe(true);
      await store.close();
    } finally {
      await cleanup();
    }
  });
});
