/** Human formatting, the text diff and the TTY-only behaviour of Output and Progress (in-process units). */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createColors, formatBytes, formatTable, relativeTime, shortOid, visibleWidth } from "../src/format.js";
import { colorEnabled, Output } from "../src/output.js";
import { Progress } from "../src/progress.js";
import { unifiedDiff } from "../src/text-diff.js";
import { scanGlobals } from "../src/main.js";

class Sink extends Writable {
  text = "";
  isTTY: boolean;
  columns = 80;
  constructor(isTTY: boolean) {
    super();
    this.isTTY = isTTY;
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

describe("formatting", () => {
  it("aligns table columns by visible width (colour escapes ignored), right-aligning where asked", () => {
    const c = createColors(true);
    const table = formatTable(
      [
        [c.yellow("abc"), "1", "x"],
        ["a", "100", "longer"],
      ],
      { header: ["ID", "N", "NAME"], align: ["left", "right"] },
    );
    const lines = table.trimEnd().split("\n").map((l) => l.replace(/\u001b\[[0-9;]*m/g, ""));
    expect(lines).toEqual(["ID     N  NAME", "abc    1  x", "a    100  longer"]);
    expect(visibleWidth(c.red("abc"))).toBe(3);
  });

  it("shortens oids to 12 characters and leaves other strings alone", () => {
    expect(shortOid("a".repeat(64))).toBe("aaaaaaaaaaaa");
    expect(shortOid("HEAD")).toBe("HEAD");
  });

  it("prints relative times and byte sizes people read", () => {
    const now = Date.parse("2026-11-22T12:00:00.000Z");
    expect(relativeTime("2026-11-22T12:00:00.000Z", now)).toBe("just now");
    expect(relativeTime("2026-11-22T11:59:30.000Z", now)).toBe("30 seconds ago");
    expect(relativeTime("2026-11-22T11:57:00.000Z", now)).toBe("3 minutes ago");
    expect(relativeTime("2026-11-21T12:00:00.000Z", now)).toBe("1 day ago");
    expect(relativeTime("2026-11-22T14:00:00.000Z", now)).toBe("in 2 hours");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(5 * 1024 * 1024)).toBe("5.0 MiB");
  });

  it("reads the global flags before commander, stopping at --", () => {
    expect(scanGlobals(["runs", "--json", "-q", "--store", "x", "--no-color"])).toEqual({ json: true, quiet: true, debug: false, color: false, store: "x" });
    expect(scanGlobals(["journal", "append", "a", "b", "--", "--json"]).json).toBe(false);
  });
});

describe("unified diff", () => {
  const enc = (s: string) => Buffer.from(s);
  it("produces diff -u hunks with three lines of context", () => {
    const a = enc("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n");
    const b = enc("1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n11\ntwelve\n");
    expect(unifiedDiff("f.txt", a, b)).toBe(
      ["--- a/f.txt", "+++ b/f.txt", "@@ -2,11 +2,11 @@", " 2", " 3", " 4", "-5", "+five", " 6", " 7", " 8", " 9", " 10", " 11", "-12", "+twelve"].join("\n"),
    );
  });
  it("splits far-apart changes into separate hunks", () => {
    const lines = Array.from({ length: 30 }, (_, i) => String(i + 1));
    const changed = [...lines];
    changed[1] = "two";
    changed[27] = "twenty-eight";
    const out = unifiedDiff("f", enc(`${lines.join("\n")}\n`), enc(`${changed.join("\n")}\n`));
    expect(out.split("\n").filter((l) => l.startsWith("@@"))).toEqual(["@@ -1,5 +1,5 @@", "@@ -25,6 +25,6 @@"]);
  });
  it("handles added and removed artifacts and binary content", () => {
    expect(unifiedDiff("n", null, enc("x\ny\n"))).toBe("--- /dev/null\n+++ b/n\n@@ -0,0 +1,2 @@\n+x\n+y");
    expect(unifiedDiff("n", enc("x\n"), null)).toBe("--- a/n\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-x");
    expect(unifiedDiff("b", enc("a\u0000b"), enc("c"))).toBe("Binary artifact b differs");
  });
});

describe("TTY-only output", () => {
  const env = {};
  it("colours only a TTY, never with NO_COLOR, --no-color or --json; FORCE_COLOR forces it", () => {
    expect(colorEnabled({ isTTY: true }, { json: false, color: true, env })).toBe(true);
    expect(colorEnabled({ isTTY: false }, { json: false, color: true, env })).toBe(false);
    expect(colorEnabled({ isTTY: true }, { json: false, color: true, env: { NO_COLOR: "1" } })).toBe(false);
    expect(colorEnabled({ isTTY: true }, { json: false, color: false, env })).toBe(false);
    expect(colorEnabled({ isTTY: true }, { json: true, color: true, env })).toBe(false);
    expect(colorEnabled({ isTTY: false }, { json: false, color: true, env: { FORCE_COLOR: "1" } })).toBe(true);
    expect(colorEnabled({ isTTY: true }, { json: false, color: true, env: { TERM: "dumb" } })).toBe(false);
  });

  it("draws a progress bar with counts and rate on a TTY stderr, and erases it before data", () => {
    const stdout = new Sink(true);
    const stderr = new Sink(true);
    const out = new Output({ stdout, stderr }, { json: false, quiet: false, color: true, debug: false, env });
    const p = out.progress("fsck", 200, "objects");
    p.update(50);
    expect(stderr.text).toMatch(/\r\u001b\[2Kfsck \[######-{18}\] 50\/200 objects 25%/);
    expect(p.render(Date.now() + 2000)).toMatch(/^fsck \[######-{18}\] 50\/200 objects 25% \(\d+(\.\d)? objects\/s\)$/);
    out.data("result");
    expect(stderr.text.endsWith("\r\u001b[2K")).toBe(true);
    expect(stdout.text).toBe("result\n");
  });

  it("draws nothing when stderr is not a TTY, or with --quiet or --json", () => {
    for (const [tty, quiet, json] of [
      [false, false, false],
      [true, true, false],
      [true, false, true],
    ] as const) {
      const stderr = new Sink(tty);
      const out = new Output({ stdout: new Sink(tty), stderr }, { json, quiet, color: true, debug: false, env });
      const p = out.progress("gc");
      p.tick(10);
      out.clearProgress();
      expect(stderr.text).toBe("");
    }
  });

  it("feeds a package's onProgress events in: a new phase restarts the count, bytes are shown as sizes", () => {
    const stderr = new Sink(true);
    const out = new Output({ stdout: new Sink(false), stderr }, { json: false, quiet: false, color: true, debug: false, env });
    const p = out.progress("commit");
    expect(p.onProgress).toBeTypeOf("function");
    p.onProgress!({ phase: "scan", done: 7, unit: "files" });
    expect(stderr.text).toMatch(/\r\u001b\[2Kcommit scan 7 files$/);
    expect(p.render(Date.now() + 1000)).toMatch(/^commit scan 7 files \(\d+(\.\d)? files\/s\)$/);
    p.onProgress!({ phase: "hash", done: 3 * 1024 * 1024, total: 4 * 1024 * 1024, unit: "bytes" });
    // a phase change is drawn at once, with the new phase's own count and unit
    expect(stderr.text).toMatch(/\r\u001b\[2Kcommit hash \[#{18}-{6}\] 3\.0 MiB\/4\.0 MiB 75%$/);
    expect(p.render(Date.now() + 1000)).toMatch(/^commit hash \[#{18}-{6}\] 3\.0 MiB\/4\.0 MiB 75% \([\d.]+ (B|KiB|MiB|GiB|TiB)\/s\)$/);
    p.onProgress!({ phase: "hash", done: 4 * 1024 * 1024, total: 4 * 1024 * 1024, unit: "bytes" });
    // the end of a phase is drawn even inside the redraw interval
    expect(stderr.text).toMatch(/4\.0 MiB\/4\.0 MiB 100%$/);
    expect(new Output({ stdout: new Sink(false), stderr: new Sink(false) }, { json: false, quiet: false, color: true, debug: false, env }).progress("gc").onProgress).toBeUndefined();
  });

  it("renders an open-ended count when the total is unknown", () => {
    const p = new Progress(undefined, "reading", undefined, "records");
    p.tick(3);
    expect(p.render(Date.now() + 1000)).toMatch(/^reading 3 records \(\d+(\.\d)? records\/s\)$/);
    expect(p.enabled).toBe(false);
  });

  it("prints one --json document and refuses a second", () => {
    const stdout = new Sink(false);
    const out = new Output({ stdout, stderr: new Sink(false) }, { json: true, quiet: false, color: true, debug: false, env });
    out.data("ignored in json mode");
    out.note("ignored");
    out.document({ type: "x" });
    expect(() => out.document({ type: "y" })).toThrow(/second/);
    expect(stdout.text).toBe('{"type":"x"}\n');
  });
});

describe("activity line", () => {
  it("shows the label and elapsed time on a TTY until cleared, for work without progress reports", async () => {
    const stderr = new Sink(true);
    const out = new Output({ stdout: new Sink(true), stderr }, { json: false, quiet: false, color: true, debug: false, env: {} });
    out.progress("commit").startActivity();
    await new Promise((r) => setTimeout(r, 450));
    out.clearProgress();
    expect(stderr.text).toMatch(/\r\u001b\[2Kcommit… \d+\.\d s/);
    const drawn = stderr.text.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(stderr.text.length).toBe(drawn); // the timer stopped
  });
});
