/**
 * The context a suite's `run(ctx)` receives: the run's repeat count, scratch directories under
 * one temp root, the shared data sets, memoized anchors, and the row builder that turns a
 * measurement and its anchor into a result row with a ratio and a pass/fail against a target.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { ANCHORS } from "./anchors.mjs";
import { createDatasets } from "./datasets.mjs";
import { measureRate } from "./measure.mjs";

/** Thrown by `ctx.unavailable(reason)`: the suite cannot run here; no rows, no fake numbers. */
export class SuiteUnavailable extends Error {
  constructor(reason) {
    super(reason);
    this.name = "SuiteUnavailable";
  }
}

/**
 * A target is `{ op: ">=", ratio }`: every ratio in this bench is oriented so that higher is
 * better (throughput: snap/anchor; time: anchor_time/snap_time), so every target is `>=`.
 */
export const atLeast = (ratio) => ({ op: ">=", ratio });

export function createContext({ repeat, tmpRoot, log }) {
  const anchorResults = new Map(); // id -> Promise<{id, name, unit, value}>
  const measuredAnchors = []; // in the order they finished, for the anchor rows

  const ctx = {
    repeat,
    log,
    data: createDatasets(log),

    /** A new empty directory under the run's temp root (same disk as os.tmpdir()). */
    freshDir: (prefix) => fsp.mkdtemp(path.join(tmpRoot, `${prefix}-`)),
    removeDir: (dir) => fsp.rm(dir, { recursive: true, force: true }),

    /** Median rate over `ctx.repeat` samples of `work` units; see measure.mjs. */
    async measureRate(label, work, { warmup, setup, run, teardown }) {
      const { value } = await measureRate({ label, repeat, warmup, work, setup, run, teardown, log });
      return value;
    },

    /** The anchor `id` of anchors.mjs, measured on first use and then reused for the run. */
    anchor(id) {
      const def = ANCHORS[id];
      if (def === undefined) throw new Error(`unknown anchor ${JSON.stringify(id)}`);
      if (!anchorResults.has(id)) {
        const pending = (async () => {
          log(`anchor: ${def.name}`);
          const value = await def.measure(ctx);
          const result = { id, name: def.name, unit: def.unit, value };
          measuredAnchors.push(result);
          return result;
        })();
        anchorResults.set(id, pending);
      }
      return anchorResults.get(id);
    },

    /**
     * A result row comparing `value` to a measured anchor. Both must be rates in the same
     * unit (higher is faster), so `ratio = value / anchor`. Pass `target: null` for rows that
     * are context only (no goal), `target: atLeast(x)` otherwise.
     */
    compare({ name, value, unit, anchor, target = null }) {
      if (anchor.unit !== unit) throw new Error(`row ${name}: unit ${unit} differs from anchor unit ${anchor.unit}`);
      const ratio = value / anchor.value;
      return {
        name,
        value,
        unit,
        anchor: anchor.name,
        anchor_value: anchor.value,
        ratio,
        target,
        pass: target === null ? null : ratio >= target.ratio,
      };
    },

    /** Stop the suite: it cannot be measured here (say why). */
    unavailable(reason) {
      throw new SuiteUnavailable(reason);
    },
  };

  return {
    ctx,
    /** One row per anchor measured so far: `anchor: null`, no ratio, no target. */
    anchorRows: () =>
      measuredAnchors.map((a) => ({
        suite: "anchors",
        name: a.name,
        value: a.value,
        unit: a.unit,
        anchor: null,
        anchor_value: null,
        ratio: null,
        target: null,
        pass: null,
      })),
  };
}
