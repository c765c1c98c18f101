/**
 * The store commands end to end on the built binary: init, commit, runs, log, show, ls, cat,
 * diff, lineage, release, revert, releases, refs, tag, gc, fsck, doctor. Every --json output
 * is checked against its schema; exit codes 0, 1, 2, 3 and 4; piped output has no ANSI codes.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANSI, parseJson, snap, tempDir, type SnapResult } from "./snap.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const project = join(tmp.dir, "project");
const site = join(project, "site");
const all: SnapResult[] = [];

/** snap in the project directory (the store is found by walking up to project/.snap). */
async function run(...args: string[]): Promise<SnapResult> {
  const r = await snap(args, { cwd: project });
  all.push(r);
  return r;
}

function write(rel: string, text: string): void {
  mkdirSync(join(site, rel, ".."), { recursive: true });
  writeFileSync(join(site, rel), text);
}

interface Commit {
  snapshot_oid: string;
  parent_snapshot_oids: string[];
  run_ref: string;
  branch_ref: string;
  artifacts: number;
  new_objects: number;
}
let first: Commit;
let second: Commit;

describe("snap store commands", () => {
  beforeAll(async () => {
    mkdirSync(project, { recursive: true });
    const init = await run("init", "--json");
    expect(init.code, init.stderr).toBe(0);
    const doc = parseJson<{ store: string }>(init, "init_result");
    expect(doc.store).toBe(join(project, ".snap"));
    write("index.html", "<h1>v1</h1>\n");
    write("assets/app.css", "body{}\n");
    write("notes.txt", "a\nb\nc\nd\ne\nf\ng\n");
    const c1 = await run("commit", "site", "-m", "first", "--json");
    expect(c1.code, c1.stderr).toBe(0);
    first = parseJson<Commit>(c1, "commit_result");
    write("index.html", "<h1>v2</h1>\n");
    write("about.html", "about\n");
    write("notes.txt", "a\nb\nc\nD\ne\nf\ng\n");
    rmSync(join(site, "assets"), { recursive: true });
    const c2 = await run("commit", "site", "-m", "second", "--json");
    expect(c2.code, c2.stderr).toBe(0);
    second = parseJson<Commit>(c2, "commit_result");
  });

  it("init refuses an existing store (exit 1, error[store_exists]) and prints the path in human form", async () => {
    const again = await run("init");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error\[store_exists\]: /);
    const other = join(tmp.dir, "other");
    mkdirSync(other);
    const fresh = await snap(["init"], { cwd: other });
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toBe(`initialized an empty snap store in ${join(other, ".snap")}\n`);
    expect(existsSync(join(other, ".snap", "config.json"))).toBe(true);
  });

  it("commit records the snapshot, its parent, the run and branch refs", async () => {
    expect(first.parent_snapshot_oids).toEqual([]);
    expect(first.artifacts).toBe(3);
    expect(second.parent_snapshot_oids).toEqual([first.snapshot_oid]);
    expect(second.branch_ref).toBe("refs/heads/main");
    expect(second.run_ref).toMatch(/^refs\/runs\/main\//);
    expect(second.new_objects).toBeGreaterThan(0);
    const human = await run("commit", "site", "--pipeline", "docs");
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^[0-9a-f]{12} docs \S+\n$/);
    expect(human.stderr).toMatch(/committed 3 files/);
    const missing = await run("commit", "no-such-dir", "--json");
    expect(missing.code).not.toBe(0);
    parseJson(missing, "cli_error");
  });

  it("runs lists runs newest first, filters by pipeline, and prints a table", async () => {
    const doc = parseJson<{ runs: { ref: string; snapshot_oid: string; pipeline: string }[] }>(await run("runs", "--pipeline", "main", "--json"), "runs_list");
    expect(doc.runs.map((r) => r.snapshot_oid)).toEqual([second.snapshot_oid, first.snapshot_oid]);
    expect(doc.runs[0]!.ref).toBe(second.run_ref);
    const limited = parseJson<{ runs: unknown[] }>(await run("runs", "-n", "1", "--json"), "runs_list");
    expect(limited.runs).toHaveLength(1);
    const human = await run("runs");
    expect(human.stdout.split("\n")[0]).toMatch(/^SNAPSHOT\s+PIPELINE\s+RUN\s+CREATED\s+MESSAGE$/);
    expect(human.stdout).toContain(second.snapshot_oid.slice(0, 12));
    expect(human.stdout).toMatch(/just now|seconds? ago/);
  });

  it("log follows first parents from a rev; show prints one snapshot", async () => {
    const log = parseJson<{ snapshots: { snapshot_oid: string }[] }>(await run("log", "--json"), "log_result");
    expect(log.snapshots.map((s) => s.snapshot_oid)).toEqual([second.snapshot_oid, first.snapshot_oid]);
    const humanLog = await run("log", "main", "-n", "1");
    expect(humanLog.stdout.trim().split("\n")).toHaveLength(1);
    const show = parseJson<{ snapshot: { snapshot_oid: string; message: string }; artifacts: number }>(await run("show", "HEAD~1", "--json"), "show_result");
    expect(show.snapshot).toMatchObject({ snapshot_oid: first.snapshot_oid, message: "first" });
    expect(show.artifacts).toBe(3);
    const human = await run("show", first.snapshot_oid.slice(0, 10));
    expect(human.stdout).toMatch(/^snapshot:\s+[0-9a-f]{64}$/m);
    const bad = await run("show", "nope", "--json");
    expect(bad.code).toBe(1);
    expect(parseJson<{ error: { code: string } }>(bad, "cli_error").error.code).toBe("rev_not_found");
  });

  it("ls lists labels (under a prefix) and cat prints verified bytes by REV:LABEL or oid", async () => {
    const ls = parseJson<{ artifacts: { label: string; content_oid: string; size: number }[] }>(await run("ls", "HEAD~1", "--json"), "ls_result");
    expect(ls.artifacts.map((a) => a.label)).toEqual(["assets/app.css", "index.html", "notes.txt"]);
    const under = parseJson<{ artifacts: { label: string }[] }>(await run("ls", "HEAD~1", "assets/", "--json"), "ls_result");
    expect(under.artifacts.map((a) => a.label)).toEqual(["assets/app.css"]);
    const long = await run("ls", "HEAD", "-l");
    expect(long.stdout).toMatch(/^[0-9a-f]{12}\s+file\s+12 B\s+index\.html$/m);
    expect((await run("cat", "HEAD:index.html")).stdout).toBe("<h1>v2</h1>\n");
    expect((await run("cat", "HEAD~1:index.html")).stdout).toBe("<h1>v1</h1>\n");
    const css = ls.artifacts[0]!;
    expect((await run("cat", css.content_oid)).stdout).toBe("body{}\n");
    const json = await run("cat", "HEAD:index.html", "--json");
    expect(json.code).toBe(2);
    parseJson(json, "cli_error");
    expect((await run("cat", "not-an-oid")).code).toBe(2);
    const absent = await run("cat", "HEAD:nope.html");
    expect(absent.code).not.toBe(0);
    expect(absent.stderr).toMatch(/^error\[\w+\]: /);
  });

  it("cat takes a unique oid prefix (>= 4 hex digits); a shared prefix is refused with rev_ambiguous (exit 2) naming every candidate", async () => {
    // two files whose oids (sha256 of their bytes) share the first 4 hex digits: a birthday search
    const seen = new Map<string, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; pair === undefined; i++) {
      const text = `prefix twin ${i}\n`;
      const p4 = createHash("sha256").update(text).digest("hex").slice(0, 4);
      const twin = seen.get(p4);
      if (twin === undefined) seen.set(p4, text);
      else pair = [twin, text];
    }
    const [a, b] = pair;
    const [oidA, oidB] = [a, b].map((t) => createHash("sha256").update(t).digest("hex")) as [string, string];
    const dir = join(tmp.dir, "prefixes");
    mkdirSync(join(dir, "tree"), { recursive: true });
    writeFileSync(join(dir, "tree", "a.txt"), a);
    writeFileSync(join(dir, "tree", "b.txt"), b);
    const inDir = async (...args: string[]) => {
      const r = await snap(args, { cwd: dir });
      all.push(r);
      return r;
    };
    expect((await inDir("init")).code).toBe(0);
    expect((await inDir("commit", "tree")).code).toBe(0);

    const shared = oidA.slice(0, 4);
    const ambiguous = await inDir("cat", shared);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stdout).toBe("");
    expect(ambiguous.stderr).toMatch(new RegExp(`^error\\[rev_ambiguous\\]: oid prefix ${shared} matches \\d+ objects: `, "m"));
    for (const oid of [oidA, oidB]) expect(ambiguous.stderr).toContain(`${oid.slice(0, 12)} (blob)`);
    expect(ambiguous.stderr).toMatch(/^hint: give more characters/m);

    // the shortest prefix that tells them apart (5+ digits) names one object; case does not matter
    let k = 4;
    while (oidA.slice(0, k) === oidB.slice(0, k)) k++;
    expect((await inDir("cat", oidA.slice(0, k + 1))).stdout).toBe(a);
    expect((await inDir("cat", oidB.slice(0, k + 1).toUpperCase())).stdout).toBe(b);
    expect((await inDir("cat", oidA)).stdout).toBe(a);
    // REV:LABEL is unchanged
    expect((await inDir("cat", "HEAD:b.txt")).stdout).toBe(b);

    const short = await inDir("cat", oidA.slice(0, 3));
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/^error\[invalid_argument\]: an oid prefix needs at least 4 hex digits/m);
    const none = await inDir("cat", "0".repeat(64));
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^error\[object_not_found\]/m);
  });

  it("diff reports added, removed and changed labels with oids; --stat, --name-only and --patch", async () => {
    const d = parseJson<{
      added: { label: string; oid: string }[];
      removed: { label: string }[];
      changed: { label: string; from_oid: string; to_oid: string }[];
      fingerprint_changed: boolean;
    }>(await run("diff", "HEAD~1", "HEAD", "--json"), "diff_result");
    expect(d.added.map((x) => x.label)).toEqual(["about.html"]);
    expect(d.removed.map((x) => x.label)).toEqual(["assets/app.css"]);
    expect(d.changed.map((x) => x.label)).toEqual(["index.html", "notes.txt"]);
    expect(d.fingerprint_changed).toBe(false);
    const human = await run("diff", "HEAD~1", "HEAD");
    expect(human.stdout).toBe("A  about.html\nD  assets/app.css\nM  index.html\nM  notes.txt\n");
    expect((await run("diff", "HEAD~1", "HEAD", "--name-only")).stdout).toBe("about.html\nassets/app.css\nindex.html\nnotes.txt\n");
    expect((await run("diff", "HEAD~1", "HEAD", "--stat")).stdout).toMatch(/1 added, 1 removed, 2 changed\n$/);
    const patch = await run("diff", "HEAD~1", "HEAD", "--patch");
    expect(patch.stdout).toContain("--- a/notes.txt\n+++ b/notes.txt\n@@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n");
    expect(patch.stdout).toContain("--- /dev/null\n+++ b/about.html\n@@ -0,0 +1,1 @@\n+about\n");
    const same = await run("diff", "HEAD", "HEAD");
    expect(same.stdout).toBe("");
    expect(same.stderr).toMatch(/no differences/);
  });

  it("lineage lists an artifact and its ancestors", async () => {
    const doc = parseJson<{ nodes: { label: string; depth: number; missing: boolean }[] }>(await run("lineage", "index.html", "--json"), "lineage_result");
    expect(doc.nodes[0]).toMatchObject({ label: "index.html", depth: 0, missing: false });
    const human = await run("lineage", "notes.txt", "--rev", "HEAD~1");
    expect(human.stdout).toMatch(/^notes\.txt {2}[0-9a-f]{12}\n/);
  });

  it("release switches the target atomically, revert swaps back, releases shows names and history", async () => {
    const target = join(project, "www");
    const r1 = parseJson<{ snapshot_oid: string; name: string; target: string; previous_release_oid: string | null }>(
      await run("release", "HEAD~1", "--to", "prod", "--target", "www", "--json"),
      "release_result",
    );
    expect(r1).toMatchObject({ snapshot_oid: first.snapshot_oid, name: "prod", target, previous_release_oid: null });
    expect(readFileSync(join(target, "index.html"), "utf8")).toBe("<h1>v1</h1>\n");
    const r2 = await run("release", "HEAD", "--to", "prod");
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stdout).toMatch(/^released [0-9a-f]{12} as prod -> /);
    expect(readFileSync(join(target, "index.html"), "utf8")).toBe("<h1>v2</h1>\n");
    expect(readlinkSync(target)).toContain(second.snapshot_oid);
    const rv = parseJson<{ snapshot_oid: string; previous_snapshot_oid: string; reused_materialization: boolean }>(await run("revert", "prod", "--json"), "revert_result");
    expect(rv).toMatchObject({ snapshot_oid: first.snapshot_oid, previous_snapshot_oid: second.snapshot_oid, reused_materialization: true });
    expect(readFileSync(join(target, "index.html"), "utf8")).toBe("<h1>v1</h1>\n");
    const list = parseJson<{ releases: { name: string; snapshot_oid: string; current: boolean }[] }>(await run("releases", "--json"), "releases_list");
    expect(list.releases).toEqual([expect.objectContaining({ name: "prod", snapshot_oid: first.snapshot_oid, current: true })]);
    const history = parseJson<{ releases: { snapshot_oid: string }[] }>(await run("releases", "prod", "--json"), "releases_list");
    expect(history.releases.map((x) => x.snapshot_oid)).toEqual([first.snapshot_oid, second.snapshot_oid, first.snapshot_oid]);
    expect((await run("releases")).stdout).toMatch(/^\s+NAME\s+SNAPSHOT\s+RELEASED\s+FROM\s+TARGET\n\*\s+prod\s/);
    const none = await run("revert", "staging", "--json");
    expect(none.code).toBe(1);
    expect(parseJson<{ error: { code: string } }>(none, "cli_error").error.code).toBe("release_not_found");
    // a target snap did not make is refused, never replaced
    mkdirSync(join(project, "handmade"));
    writeFileSync(join(project, "handmade", "keep.txt"), "mine");
    const unsafe = await run("release", "HEAD", "--to", "other", "--target", "handmade");
    expect(unsafe.code).toBe(1);
    expect(unsafe.stderr).toMatch(/^error\[target_unsafe\]: /);
    expect(readFileSync(join(project, "handmade", "keep.txt"), "utf8")).toBe("mine");
  });

  it("refs lists HEAD and refs; tag refuses to move an existing tag (exit 3) unless --force", async () => {
    const tag = parseJson<{ ref: string; snapshot_oid: string }>(await run("tag", "v1", "HEAD~1", "--json"), "tag_result");
    expect(tag).toEqual({ type: "tag_result", schema_version: 1, ref: "refs/tags/v1", snapshot_oid: first.snapshot_oid });
    const again = await run("tag", "v1", "HEAD", "--json");
    expect(again.code).toBe(3);
    expect(parseJson<{ error: { code: string } }>(again, "cli_error").error.code).toBe("ref_expect_mismatch");
    const humanAgain = await run("tag", "v1", "HEAD");
    expect(humanAgain.code).toBe(3);
    expect(humanAgain.stderr).toBe("error[ref_expect_mismatch]: tag v1 already exists\nhint: pick another name, or pass --force to move it\n");
    expect((await run("tag", "v1", "HEAD", "--force")).code).toBe(0);
    const refs = parseJson<{ refs: { ref: string; oid: string | null; symbolic?: string }[] }>(await run("refs", "--json"), "refs_list");
    expect(refs.refs[0]).toEqual({ ref: "HEAD", oid: second.snapshot_oid, symbolic: "refs/heads/main" });
    expect(refs.refs.map((r) => r.ref)).toEqual(expect.arrayContaining(["refs/heads/main", "refs/heads/docs", "refs/releases/prod", "refs/tags/v1"]));
    const tags = parseJson<{ refs: { ref: string }[] }>(await run("refs", "refs/tags/", "--json"), "refs_list");
    expect(tags.refs.map((r) => r.ref)).toEqual(["refs/tags/v1"]);
    expect((await run("refs")).stdout).toMatch(/^[0-9a-f]{12}\s+HEAD -> refs\/heads\/main$/m);
    expect((await run("tag", "bad..name", "HEAD")).code).toBe(2);
  });

  it("gc --dry-run removes nothing; gc prunes run refs by --keep-runs and sweeps past the grace period", async () => {
    const objects = () => readdirSync(join(project, ".snap", "objects")).length;
    const before = objects();
    const dry = parseJson<{ dry_run: boolean; run_refs_removed: string[] }>(await run("gc", "--dry-run", "--keep-runs", "1", "--grace", "0", "--json"), "gc_report");
    expect(dry.dry_run).toBe(true);
    expect(dry.run_refs_removed).toEqual([first.run_ref]);
    expect(objects()).toBe(before);
    const human = await run("gc", "--keep-runs", "1", "--grace", "0");
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^removed \d+ objects? .*\n {2}refs\/runs\/main\//);
    const runs = parseJson<{ runs: { ref: string }[] }>(await run("runs", "--pipeline", "main", "--json"), "runs_list");
    expect(runs.runs.map((r) => r.ref)).toEqual([second.run_ref]);
    // still reachable through prod's releases and the tag: nothing released was swept
    expect((await run("cat", "HEAD~1:index.html")).stdout).toBe("<h1>v1</h1>\n");
    expect((await run("gc", "--keep-runs", "x")).code).toBe(2);
  });

  it("fsck is clean (exit 0), and finds a corrupted object (exit 4, fsck_report lists it)", async () => {
    const clean = await run("fsck", "--json");
    expect(clean.code).toBe(0);
    expect(parseJson<{ ok: boolean; objects_checked: number }>(clean, "fsck_report")).toMatchObject({ ok: true });
    expect((await run("fsck")).stdout).toMatch(/^ok: \d+ objects checked/m);
    const doctor = await run("doctor", "--json");
    expect(doctor.code).toBe(0);
    const report = parseJson<{ ok: boolean; checks: { name: string; status: string }[] }>(doctor, "doctor_report");
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual(expect.arrayContaining(["config", "lock", "refs", "releases", "journal", "staging"]));
    expect((await run("doctor")).stdout).toMatch(/^ok\s+journal\s/m);

    // corrupt a copy of the store so the other tests' store stays intact
    const copy = join(tmp.dir, "corrupt");
    mkdirSync(copy);
    expect((await snap(["init"], { cwd: copy })).code).toBe(0);
    mkdirSync(join(copy, "site"));
    writeFileSync(join(copy, "site", "a.txt"), "precious bytes\n");
    expect((await snap(["commit", "site"], { cwd: copy })).code).toBe(0);
    const content = parseJson<{ artifacts: { content_oid: string }[] }>(await snap(["ls", "HEAD", "--json"], { cwd: copy }), "ls_result").artifacts[0]!.content_oid;
    // The object is packed (one pack per commit); a loose file under its name is read first,
    // so tampering there is what every reader sees.
    const objectFile = join(copy, ".snap", "objects", content.slice(0, 2), content.slice(2));
    rmSync(objectFile, { force: true });
    mkdirSync(dirname(objectFile), { recursive: true });
    writeFileSync(objectFile, "tampered bytes\n");
    const bad = await snap(["fsck", "--json"], { cwd: copy });
    expect(bad.code).toBe(4);
    const found = parseJson<{ ok: boolean; corrupt: { oid: string }[] }>(bad, "fsck_report");
    expect(found.ok).toBe(false);
    expect(found.corrupt.map((c) => c.oid)).toContain(content);
    const humanBad = await snap(["fsck"], { cwd: copy });
    expect(humanBad.code).toBe(4);
    expect(humanBad.stdout).toMatch(/corruption found/);
    const cat = await snap(["cat", "HEAD:a.txt"], { cwd: copy });
    expect(cat.code).toBe(4);
    expect(cat.stderr).toMatch(/^error\[object_corrupt\]: /m);
  });

  it("snap journal works on the store's journal by default: the ref transactions of the commits are there", async () => {
    const read = parseJson<{ journal: string; records: { item_type: string; payload?: unknown }[] }>(await run("journal", "read", "--json"), "journal_records");
    expect(read.journal).toBe(join(project, ".snap", "journal"));
    expect(read.records.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(read.records)).toContain(second.run_ref);
    const doctor = await run("journal", "doctor", "--json");
    expect(doctor.code).toBe(0);
    expect(parseJson<{ ok: boolean }>(doctor, "journal_doctor_report").ok).toBe(true);
    const verify = await run("journal", "verify");
    expect(verify.code, verify.stderr).toBe(0);
    // an append to the store's journal takes the store lock and leaves the refs working
    const appended = parseJson<{ seq: number }>(await run("journal", "append", "note", "ops", '{"by":"test"}', "--json"), "journal_append_result");
    expect(appended.seq).toBeGreaterThan(read.records.length);
    const state = parseJson<{ entities: { item_type: string; item_id: string }[] }>(await run("journal", "state", "--type", "note", "--json"), "journal_state");
    expect(state.entities).toEqual([expect.objectContaining({ item_type: "note", item_id: "ops" })]);
    expect((await run("tag", "after-append", "HEAD")).code).toBe(0);
    expect((await run("fsck")).code).toBe(0);
  });

  it("--quiet leaves only data: notes and warnings are silenced, errors are not", async () => {
    const quiet = await run("commit", "site", "--pipeline", "quiet", "-q");
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toMatch(/^[0-9a-f]{12} quiet /);
    expect(quiet.stderr).toBe("");
    const err = await run("show", "nope", "--quiet");
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/^error\[rev_not_found\]/);
  });

  it("no output of this file, piped, carries an ANSI escape", () => {
    expect(all.length).toBeGreaterThan(40);
    for (const r of all) {
      expect(r.stdout).not.toMatch(ANSI);
      expect(r.stderr).not.toMatch(ANSI);
      // every error is one line plus a hint line, without a stack
      if (r.code !== 0 && r.stderr.startsWith("error[")) {
        const lines = r.stderr.trimEnd().split("\n");
        expect(lines[0]).toMatch(/^error\[[a-z_]+\]: \S/);
        expect(lines[1]).toMatch(/^hint: \S/);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      }
    }
  });
});
