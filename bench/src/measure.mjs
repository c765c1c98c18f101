/**
 * Repeated timing. Every figure the bench reports is the MEDIAN of `repeat` samples, each
 * sample timed around `run` only: `setup` and `teardown` (fresh directories, deleting what a
 * sample wrote) are outside the clock. A forced GC (node --expose-gc) precedes each sample so
 * one sample does not pay for the garbage of the previous one. `warmup` extra samples run first
 * and are discarded (used for the 1 GiB rows, whose first pass over fresh pages is slow).
 */
import { performance } from "node:perf_hooks";

export function median(values) {
  if (values.length === 0) throw new Error("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const collectGarbage = typeof globalThis.gc === "function" ? () => globalThis.gc() : () => {};

/**
 * Time `run` `repeat` times. `work` is the amount one sample processes (operations, or
 * MiB), so each sample becomes a rate `work / seconds`; the result is the median rate and the
 * samples. `label` goes to the progress log on stderr.
 */
export async function measureRate({ label, repeat, warmup = 0, work, setup, run, teardown, log }) {
  const samples = [];
  for (let i = -warmup; i < repeat; i++) {
    const state = setup ? await setup(i) : undefined;
    collectGarbage();
    const t0 = performance.now();
    await run(state, i);
    const seconds = (performance.now() - t0) / 1000;
    if (teardown) await teardown(state, i);
    if (i >= 0) samples.push(work / seconds);
  }
  const value = median(samples);
  log?.(`  ${label}${warmup > 0 ? ` (+${warmup} warm-up)` : ""}: median ${formatNumber(value)} (samples ${samples.map(formatNumber).join(", ")})`);
  return { value, samples };
}

/** 3 significant digits, thousands grouped: 17234 -> "17,234", 0.0123 -> "0.0123". */
export function formatNumber(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return "n/a";
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString("en-US");
  return Number(n.toPrecision(3)).toString();
}
