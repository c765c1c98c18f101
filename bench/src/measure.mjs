/**
 * Repeated timing. Every figure the bench reports is the MEDIAN of `repeat` samples, each
 * sample timed around `run` only: `setup` and `teardown` (fresh directories, deleting what a
 * sample wrote) are outside the clock. A forced GC (node --expose-gc) precedes each sample so
 * one sample does not pay for the garbage of the previous one. `warmup` extra samples run first
 * and are discarded (used for the 1 GiB rows, whose first pass over fresh pages is slow).
 * A snap row and its anchors are sampled round-robin, never one block after the other.
 */
import { performance } from "node:perf_hooks";

export function median(values) {
  if (values.length === 0) throw new Error("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const collectGarbage = typeof globalThis.gc === "function" ? () => globalThis.gc() : () => {};

/** One timed sample of a sampler: setup and teardown outside the clock; returns seconds. */
async function timeSample({ setup, run, teardown }, i) {
  const state = setup ? await setup(i) : undefined;
  collectGarbage();
  const t0 = performance.now();
  await run(state, i);
  const seconds = (performance.now() - t0) / 1000;
  if (teardown) await teardown(state, i);
  return seconds;
}

/**
 * Measure several samplers ROUND-ROBIN: sample 1 of each, then sample 2 of each, ... so that
 * load arriving mid-run (this machine is shared) hits a snap row and its anchors alike
 * instead of skewing one of them. A sampler is `{ label, work, warmup?, setup?, run,
 * teardown? }`; `work` is what one sample processes (operations, or MiB), so each sample
 * becomes a rate `work / seconds`. Returns `[{ value: median rate, samples }]` in input order.
 */
export async function measureRoundRobin(samplers, { repeat, log }) {
  const samples = samplers.map(() => []);
  const maxWarmup = Math.max(0, ...samplers.map((s) => s.warmup ?? 0));
  for (let i = -maxWarmup; i < repeat; i++) {
    for (let k = 0; k < samplers.length; k++) {
      const sampler = samplers[k];
      if (i < -(sampler.warmup ?? 0)) continue;
      const seconds = await timeSample(sampler, i);
      if (i >= 0) samples[k].push(sampler.work / seconds);
    }
  }
  return samplers.map((sampler, k) => {
    const value = median(samples[k]);
    const warm = sampler.warmup ? ` (+${sampler.warmup} warm-up)` : "";
    log?.(`  ${sampler.label}${warm}: median ${formatNumber(value)} (samples ${samples[k].map(formatNumber).join(", ")})`);
    return { value, samples: samples[k] };
  });
}

/** 3 significant digits, thousands grouped: 17234 -> "17,234", 0.0123 -> "0.0123". */
export function formatNumber(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return "n/a";
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString("en-US");
  return Number(n.toPrecision(3)).toString();
}
