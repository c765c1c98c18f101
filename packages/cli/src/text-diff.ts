/**
 * A unified diff (`diff -u` format, 3 lines of context) of two text artifacts, for
 * `snap diff --patch`. Myers' O((N+M)·D) algorithm on lines. Binary content (a NUL byte in
 * the first 8000 bytes, git's rule) and very large inputs get a one-line note instead.
 */
const CONTEXT = 3;
const MAX_LINES = 50_000;
const MAX_EDIT_DISTANCE = 5_000;

type Op = { kind: " " | "-" | "+"; line: string };

function isBinary(bytes: Uint8Array): boolean {
  return bytes.subarray(0, 8000).includes(0);
}

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** The edit script from a to b, or undefined when it would need more than MAX_EDIT_DISTANCE edits. */
function myers(a: string[], b: string[]): Op[] | undefined {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, MAX_EDIT_DISTANCE);
  const offset = max + 1;
  let v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice());
    const next = v.slice();
    for (let k = -d; k <= d; k += 2) {
      let x: number;
      if (k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!)) x = v[offset + k + 1]!;
      else x = v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      next[offset + k] = x;
      if (x >= n && y >= m) {
        trace.push(next);
        return backtrack(trace, a, b, offset, d);
      }
    }
    v = next;
  }
  return undefined;
}

function backtrack(trace: Int32Array[], a: string[], b: string[], offset: number, dFinal: number): Op[] {
  const ops: Op[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = dFinal; d > 0; d--) {
    const v = trace[d]!; // the state before step d
    const k = x - y;
    const prevK = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? k + 1 : k - 1;
    const prevX = v[offset + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      ops.push({ kind: " ", line: a[x]! });
    }
    if (x === prevX) ops.push({ kind: "+", line: b[--y]! });
    else ops.push({ kind: "-", line: a[--x]! });
  }
  while (x > 0 && y > 0) {
    x--;
    y--;
    ops.push({ kind: " ", line: a[x]! });
  }
  return ops.reverse();
}

function hunks(ops: Op[]): string[] {
  const out: string[] = [];
  let i = 0;
  // line numbers before each op
  const aNo: number[] = [];
  const bNo: number[] = [];
  let an = 1;
  let bn = 1;
  for (const op of ops) {
    aNo.push(an);
    bNo.push(bn);
    if (op.kind !== "+") an++;
    if (op.kind !== "-") bn++;
  }
  while (i < ops.length) {
    while (i < ops.length && ops[i]!.kind === " ") i++;
    if (i >= ops.length) break;
    const start = Math.max(0, i - CONTEXT);
    let end = i;
    let lastChange = i;
    while (end < ops.length) {
      if (ops[end]!.kind !== " ") lastChange = end;
      else if (end - lastChange > 2 * CONTEXT) break;
      end++;
    }
    end = Math.min(ops.length, lastChange + CONTEXT + 1);
    const slice = ops.slice(start, end);
    const aCount = slice.filter((o) => o.kind !== "+").length;
    const bCount = slice.filter((o) => o.kind !== "-").length;
    const aStart = aCount === 0 ? aNo[start]! - 1 : aNo[start]!;
    const bStart = bCount === 0 ? bNo[start]! - 1 : bNo[start]!;
    out.push(`@@ -${aStart},${aCount} +${bStart},${bCount} @@`);
    for (const o of slice) out.push(`${o.kind}${o.line}`);
    i = end;
  }
  return out;
}

/** `--- a/label` / `+++ b/label` and hunks; null stands for an absent side (added/removed). */
export function unifiedDiff(label: string, before: Uint8Array | null, after: Uint8Array | null): string {
  const header = [`--- ${before === null ? "/dev/null" : `a/${label}`}`, `+++ ${after === null ? "/dev/null" : `b/${label}`}`];
  if ((before !== null && isBinary(before)) || (after !== null && isBinary(after))) return `Binary artifact ${label} differs`;
  const a = before === null ? [] : splitLines(Buffer.from(before).toString("utf8"));
  const b = after === null ? [] : splitLines(Buffer.from(after).toString("utf8"));
  if (a.length > MAX_LINES || b.length > MAX_LINES) return `Text artifact ${label} differs (too large for a line diff)`;
  const ops = myers(a, b);
  if (ops === undefined) return `Text artifact ${label} differs (too many changes for a line diff)`;
  return [...header, ...hunks(ops)].join("\n");
}
