/**
 * Unified text diff of two artifact contents (for `snap diff` on text artifacts).
 * LCS over lines (O(n x m) time and memory, capped): above the cap, or for binary content,
 * it reports only that the contents differ.
 */
const MAX_CELLS = 4_000_000;

export interface UnifiedDiffOptions {
  fromLabel?: string;
  toLabel?: string;
  /** Lines of context around each change (default 3). */
  context?: number;
}

/** True when the bytes look like text (valid UTF-8 without NUL). */
export function isText(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** The unified diff of `a` and `b` ("" when equal). */
export function unifiedDiff(a: Uint8Array | string, b: Uint8Array | string, options: UnifiedDiffOptions = {}): string {
  const from = options.fromLabel ?? "a";
  const to = options.toLabel ?? "b";
  const ba = typeof a === "string" ? Buffer.from(a) : a;
  const bb = typeof b === "string" ? Buffer.from(b) : b;
  if (Buffer.compare(Buffer.from(ba), Buffer.from(bb)) === 0) return "";
  if (!isText(ba) || !isText(bb)) return `Binary files ${from} and ${to} differ\n`;
  const x = splitLines(Buffer.from(ba).toString("utf8"));
  const y = splitLines(Buffer.from(bb).toString("utf8"));
  const n = x.length;
  const m = y.length;
  if ((n + 1) * (m + 1) > MAX_CELLS) return `Files ${from} and ${to} differ (too large for a line diff)\n`;
  // lcs[i][j] = LCS length of x[i..] and y[j..]
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = x[i] === y[j] ? (lcs[(i + 1) * w + j + 1] as number) + 1 : Math.max(lcs[(i + 1) * w + j] as number, lcs[i * w + j + 1] as number);
    }
  }
  type Op = { kind: " " | "-" | "+"; text: string; ai: number; bi: number };
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      ops.push({ kind: " ", text: x[i] as string, ai: i++, bi: j++ });
    } else if (i < n && (j === m || (lcs[(i + 1) * w + j] as number) >= (lcs[i * w + j + 1] as number))) {
      ops.push({ kind: "-", text: x[i] as string, ai: i++, bi: j });
    } else {
      ops.push({ kind: "+", text: y[j] as string, ai: i, bi: j++ });
    }
  }
  const ctx = options.context ?? 3;
  const out = [`--- ${from}\n`, `+++ ${to}\n`];
  const changes: number[] = [];
  ops.forEach((o, idx) => {
    if (o.kind !== " ") changes.push(idx);
  });
  let g = 0;
  while (g < changes.length) {
    let h = g;
    while (h + 1 < changes.length && (changes[h + 1] as number) - (changes[h] as number) - 1 <= 2 * ctx) h++;
    const start = Math.max(0, (changes[g] as number) - ctx);
    const stop = Math.min(ops.length, (changes[h] as number) + 1 + ctx);
    const hunk = ops.slice(start, stop);
    const aStart = (hunk[0] as Op).ai;
    const bStart = (hunk[0] as Op).bi;
    const aLen = hunk.filter((o) => o.kind !== "+").length;
    const bLen = hunk.filter((o) => o.kind !== "-").length;
    out.push(`@@ -${aLen === 0 ? aStart : aStart + 1},${aLen} +${bLen === 0 ? bStart : bStart + 1},${bLen} @@\n`);
    for (const o of hunk) out.push(`${o.kind}${o.text}\n`);
    g = h + 1;
  }
  return out.join("");
}
