/** `snap journal …` end to end on the built binary: every subcommand, human and --json, and its exit codes. */
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { openJournal } from "@snap/journal";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANSI, collect, parseJson, snap, startSnap, tempDir, validateDoc } from "./snap.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const J = join(tmp.dir, "journal");
const on = (...args: string[]) => [...args, "--dir", J];

describe("snap journal", () => {
  beforeAll(async () => {
    const a = await snap(on("journal", "append", "note", "n1", '{"text":"hello"}'));
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toBe("1\n");
    expect(a.stderr).toMatch(/appended put note\/n1 at seq 1/);
  });

  it("append --json prints the seq and durable watermark; payload from stdin with -; --delete", async () => {
    const r = await snap(on("journal", "append", "note", "n1", "-", "--json"), { input: '{"v":2}' });
    expect(r.code, r.stderr).toBe(0);
    const doc = parseJson<{ seq: number; durable_seq: number; journal: string }>(r, "journal_append_result");
    expect(doc.seq).toBe(2);
    expect(doc.durable_seq).toBeGreaterThanOrEqual(2);
    expect(doc.journal).toBe(J);
    const d = await snap(on("journal", "append", "note", "n2", "--delete", "--json", "--quiet"));
    expect(parseJson<{ seq: number; action: string }>(d, "journal_append_result")).toMatchObject({ seq: 3, action: "delete" });
    expect(d.stderr).toBe("");
  });

  it("append refuses a payload that is not JSON, and a delete with a payload (exit 2, nothing written)", async () => {
    const bad = await snap(on("journal", "append", "note", "x", "{nope", "--json"));
    expect(bad.code).toBe(2);
    expect(parseJson<{ error: { code: string } }>(bad, "cli_error").error.code).toBe("invalid_argument");
    const del = await snap(on("journal", "append", "note", "x", "{}", "--delete"));
    expect(del.code).toBe(2);
    const read = parseJson<{ records: { item_id: string }[] }>(await snap(on("journal", "read", "--json")), "journal_records");
    expect(read.records.map((r) => r.item_id)).not.toContain("x");
  });

  it("read prints an aligned table (no ANSI when piped) and --json the records from a seq", async () => {
    const r = await snap(on("journal", "read"));
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(ANSI);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^SEQ\s+WHEN\s+ACTION\s+TYPE\s+ID\s+REV\s+PAYLOAD$/);
    expect(lines[1]).toMatch(/^\s*1\s+(?:just now|\d+ seconds? ago)\s+put\s+note\s+n1\s+1\s+\{"text":"hello"\}$/);
    // the columns line up
    expect(lines[1]!.indexOf("put")).toBe(lines[0]!.indexOf("ACTION"));
    const json = parseJson<{ from_seq: number; next_seq: number; records: { seq: number }[] }>(await snap(on("journal", "read", "--from", "2", "--json")), "journal_records");
    expect(json.records.map((x) => x.seq)).toEqual([2, 3]);
    expect(json.next_seq).toBe(4);
    const limited = parseJson<{ records: unknown[] }>(await snap(on("journal", "read", "--limit", "1", "--json")), "journal_records");
    expect(limited.records).toHaveLength(1);
  });

  it("state lists live entities (deletes removed)", async () => {
    const r = await snap(on("journal", "state"));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^TYPE\s+ID\s+REV\s+SEQ\s+PAYLOAD\nnote\s+n1\s+2\s+2\s+\{"v":2\}\n$/);
    const doc = parseJson<{ head_seq: number; entities: { item_id: string; entity_rev: number }[] }>(await snap(on("journal", "state", "--json")), "journal_state");
    expect(doc.head_seq).toBe(3);
    expect(doc.entities).toEqual([expect.objectContaining({ item_id: "n1", entity_rev: 2 })]);
  });

  it("checkpoint writes one, then reports it up to date; archive needs two verified checkpoints", async () => {
    const first = parseJson<{ created: boolean; head_seq: number; name: string }>(await snap(on("journal", "checkpoint", "--json")), "journal_checkpoint_result");
    expect(first).toMatchObject({ created: true, head_seq: 3 });
    expect(readdirSync(join(J, "checkpoints"))).toContain(first.name);
    const again = await snap(on("journal", "checkpoint"));
    expect(again.stdout).toMatch(/^up to date: ckpt-/);
    const archive = parseJson<{ archived_segments: string[]; reason?: string }>(await snap(on("journal", "archive", "--json")), "journal_archive_result");
    expect(archive.archived_segments).toEqual([]);
    expect(archive.reason).toMatch(/two verified checkpoints/);
    const human = await snap(on("journal", "archive"));
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^archived 0 segments and 0 checkpoints/);
  });

  it("doctor, verify and stats print the journal's own reports; exit 0 on a healthy journal", async () => {
    const doctor = await snap(on("journal", "doctor", "--json"));
    expect(doctor.code).toBe(0);
    expect(parseJson<{ ok: boolean }>(doctor, "journal_doctor_report").ok).toBe(true);
    const verify = await snap(on("journal", "verify", "--json"));
    expect(verify.code).toBe(0);
    expect(parseJson<{ ok: boolean; records: number }>(verify, "journal_verify_report")).toMatchObject({ ok: true, records: 3 });
    const stats = await snap(on("journal", "stats", "--json"));
    expect(parseJson<{ head_seq: number }>(stats, "journal_stats_report").head_seq).toBe(3);
    for (const sub of ["doctor", "verify", "stats"]) {
      const h = await snap(on("journal", sub));
      expect(h.code, sub).toBe(0);
      expect(h.stdout, sub).not.toBe("");
    }
  });

  it("dump prints every frame with crc and chain", async () => {
    const r = await snap(on("journal", "dump"));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/journal_header/);
    const doc = parseJson<{ frames: { status: string; type?: string; seq?: number }[] }>(await snap(on("journal", "dump", "--json")), "journal_dump");
    expect(doc.frames.filter((f) => f.type === "journal_event").map((f) => f.seq)).toEqual([1, 2, 3]);
    expect(doc.frames.every((f) => f.status === "ok")).toBe(true);
  });

  it("follow prints existing then new records as NDJSON, and exits 0 on SIGINT", async () => {
    const child = startSnap(on("journal", "follow", "--from", "1", "--json", "--poll", "50"));
    const done = collect(child);
    let out = "";
    child.stdout!.on("data", (s: string) => (out += s));
    const waitFor = async (pred: () => boolean) => {
      for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 50));
    };
    await waitFor(() => out.split("\n").filter(Boolean).length >= 3);
    const appended = await snap(on("journal", "append", "note", "n3", '{"live":true}'));
    expect(appended.code).toBe(0);
    await waitFor(() => out.includes('"n3"'));
    child.kill("SIGINT");
    const result = await done;
    expect(result.code).toBe(0);
    const docs = result.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; record?: { seq: number } });
    for (const d of docs) validateDoc(d, "journal_follow_event");
    expect(docs.map((d) => d.record?.seq)).toEqual([1, 2, 3, 4]);
    const limited = await snap(on("journal", "follow", "--from", "2", "--limit", "2"));
    expect(limited.code).toBe(0);
    expect(limited.stdout.trim().split("\n")).toHaveLength(2);
  });

  it("subcommands other than append refuse a directory that holds no journal (exit 2), creating nothing", async () => {
    const empty = join(tmp.dir, "empty");
    mkdirSync(empty);
    for (const sub of ["read", "state", "doctor", "verify", "stats", "dump", "checkpoint", "archive", "follow"]) {
      const r = await snap(["journal", sub, "--dir", empty, "--json"]);
      expect(r.code, sub).toBe(2);
      expect(parseJson<{ error: { message: string } }>(r, "cli_error").error.message).toMatch(/no journal at/);
    }
    expect(readdirSync(empty)).toEqual([]);
  });

  it("a corrupt record makes doctor and verify exit 4, and read fail with error[journal_corrupt] (exit 4)", async () => {
    const copy = join(tmp.dir, "corrupt");
    const a = await snap(["journal", "append", "k", "a", '{"text":"hello"}', "--dir", copy]);
    expect(a.code).toBe(0);
    await snap(["journal", "append", "k", "b", '{"text":"world"}', "--dir", copy]);
    const seg = join(copy, "segments", readdirSync(join(copy, "segments")).find((n) => n.endsWith(".ndjson"))!);
    const bytes = readFileSync(seg);
    const at = bytes.indexOf("hello");
    bytes[at] = "j".charCodeAt(0);
    writeFileSync(seg, bytes);
    const doctor = await snap(["journal", "doctor", "--dir", copy, "--json"]);
    expect(doctor.code).toBe(4);
    expect(parseJson<{ ok: boolean; counters: { corrupt: number } }>(doctor, "journal_doctor_report").counters.corrupt).toBe(1);
    const verify = await snap(["journal", "verify", "--dir", copy]);
    expect(verify.code).toBe(4);
    const read = await snap(["journal", "read", "--dir", copy]);
    expect(read.code).toBe(4);
    expect(read.stderr).toMatch(/^error\[journal_corrupt\]: /);
    const salvage = await snap(["journal", "read", "--dir", copy, "--recovery", "salvage", "--json"]);
    expect(salvage.code, salvage.stderr).toBe(0);
  });
});

describe("Ctrl-C during journal checkpoint", () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const staging = (dir: string) => existsSync(join(dir, "tmp")) && readdirSync(join(dir, "tmp")).some((n) => n.startsWith(".tmp-ckpt-"));
  const checkpoints = (dir: string) => (existsSync(join(dir, "checkpoints")) ? readdirSync(join(dir, "checkpoints")).filter((n) => n.endsWith(".ndjson")).sort() : []);

  it("stops before the publish with exit 130 and the error document, publishing nothing, or finishes with its result", async () => {
    const dir = join(tmp.dir, "interrupted-checkpoint");
    const journal = await openJournal({ dir });
    const outcomes: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (let batch = 0; batch < 20; batch++) {
        const records = Array.from({ length: 1000 }, (_, i) => ({ action: "put", item_type: "note", item_id: `n${round}-${batch}-${i}`, payload: { text: "y".repeat(60) } }));
        await journal.appendMany(records, { durability: "none" });
      }
      const before = checkpoints(dir);
      const child = startSnap(["journal", "checkpoint", "--dir", dir, "--json"]);
      let exited = false;
      child.on("exit", () => (exited = true));
      const done = collect(child);
      // the checkpoint is being written to its temporary file: the publish is still ahead
      while (!exited && !staging(dir)) await sleep(2);
      if (!exited) child.kill("SIGINT");
      const r = await done;
      expect(r.signal, r.stderr).toBeNull();
      if (r.code === 0) {
        const doc = parseJson<{ name: string; created: boolean }>(r, "journal_checkpoint_result");
        expect(checkpoints(dir)).toEqual([...before, doc.name].sort());
        outcomes.push("completed");
      } else {
        expect(r.code, r.stderr).toBe(130);
        expect(parseJson<{ error: { code: string } }>(r, "cli_error").error.code).toBe("interrupted");
        expect(checkpoints(dir)).toEqual(before);
        outcomes.push("interrupted");
      }
      expect(staging(dir), "the temporary checkpoint file was left behind").toBe(false);
    }
    await journal.close();
    const verify = await snap(["journal", "verify", "--dir", dir, "--json"]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(parseJson<{ ok: boolean }>(verify, "journal_verify_report").ok).toBe(true);
    console.log(`journal checkpoint under SIGINT: ${outcomes.join(", ")}`);
  });
});
