/**
 * The context a suite's `run(ctx)` receives: the run's repeat count, scratch directories under
 * one temp root, the shared data sets, memoized anchors, and the row builder that turns a
 * measurement and its anchor into a result row with a ratio and a pass/fail against a target.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { ANCHORS } from "./anchors.mjs";
import { createDatasets } from "./datasets.mjs";
import { measureRoundRobin } from "./measure.mjs";

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

/** Marker a suite returns in place of a row it could not measure (see `ctx.notMeasured`). */
export const NOT_MEASURED = Symbol("not measured");

export function createContext({ repeat, tmpRoot, log, quick = false, full = false }) {
  const anchorResults = new Map(); // id -> {id, name, unit, value}
  const measuredAnchors = []; // in the order they were measured, for the anchor rows

  function remember(id, value) {
    const def = ANCHORS[id];
    const result = { id, name: def.name, unit: def.unit, value };
    anchorResults.set(id, result);
    measuredAnchors.push(result);
    return result;
  }

  /** `ids` plus the parts of derived anchors, minus those already measured in this run. */
  function anchorsToMeasure(ids) {
    const out = [];
    const visit = (id) => {
      const def = ANCHORS[id];
      if (def === undefined) throw new Error(`unknown anchor ${JSON.stringify(id)}`);
      if (anchorResults.has(id)) return;
      if (def.derive) def.derive.from.forEach(visit);
      else if (!out.includes(id)) out.push(id);
    };
    ids.forEach(visit);
    return out;
  }

  function resolveDerived(ids) {
    for (const id of ids) {
      const def = ANCHORS[id];
      if (anchorResults.has(id) || !def.derive) continue;
      resolveDerived(def.derive.from);
      remember(id, def.derive.combine(def.derive.from.map((part) => anchorResults.get(part).value)));
    }
  }

  const ctx = {
    repeat,
    /** `--quick`: suites use the smaller sizes their README section names. */
    quick,
    /** `--full`: suites that shrink an expensive default (e.g. journal open time) use the size. */
    full,
    log,
    data: createDatasets(log),

    /** A new empty directory under the run's temp root (same disk as os.tmpdir()). */
    freshDir: (prefix) => fsp.mkdtemp(path.join(tmpRoot, `${prefix}-`)),
    removeDir: (dir) => fsp.rm(dir, { recursive: true, force: true }),

    /**
     * Measure snap samplers (`{ key: { label, work, warmup?, setup?, run, teardown?, dispose? } }`)
     * round-robin with the anchors `anchorIds` that this run has not measured yet (anchors
     * measured earlier are reused). Returns `{ values: { key: median rate }, anchors: { id:
     * anchor } }`; see measure.mjs for how a sample is timed.
     */
    async measureWith(snapSamplers, anchorIds = []) {
      const keys = Object.keys(snapSamplers);
      const newAnchors = anchorsToMeasure(anchorIds);
      const anchorSamplers = [];
      for (const id of newAnchors) {
        const def = ANCHORS[id];
        log(`anchor: ${def.name}`);
        const sampler = await def.prepare(ctx);
        anchorSamplers.push({ label: def.name, work: def.work, warmup: def.warmup, ...sampler });
      }
      const samplers = [...keys.map((k) => snapSamplers[k]), ...anchorSamplers];
      const results = await measureRoundRobin(samplers, { repeat, log });
      for (const sampler of samplers) await sampler.dispose?.();
      newAnchors.forEach((id, i) => remember(id, results[keys.length + i].value));
      resolveDerived(anchorIds);
      return {
        values: Object.fromEntries(keys.map((k, i) => [k, results[i].value])),
        anchors: Object.fromEntries(anchorIds.map((id) => [id, anchorResults.get(id)])),
      };
    },

    /** Median rate of one sampler (no anchor alongside). */
    async measureRate(label, work, sampler) {
      const [{ value }] = await measureRoundRobin([{ label, work, ...sampler }], { repeat, log });
      await sampler.dispose?.();
      return value;
    },

    /** The anchor `id` of anchors.mjs, measured on first use and then reused for the run. */
    async anchor(id) {
      if (!anchorResults.has(id)) await ctx.measureWith({}, [id]);
      return anchorResults.get(id);
    },

    /**
     * A result row comparing `value` to a measured anchor. Both must be rates in the same
     * unit (higher is faster), so `ratio = value / anchor`. Pass `target: null` for rows that
     * are context only (no goal), `target: atLeast(x)` otherwise.
     */
    compare({ name, value, unit, anchor, target = null, lowerIsBetter = false, note }) {
      if (anchor.unit !== unit) throw new Error(`row ${name}: unit ${unit} differs from anchor unit ${anchor.unit}`);
      if (!Number.isFinite(value) || !Number.isFinite(anchor.value)) throw new Error(`row ${name}: not a finite measurement`);
      // Times (lowerIsBetter) are turned around so that every ratio stays higher-is-better.
      const ratio = lowerIsBetter ? anchor.value / value : value / anchor.value;
      const row = {
        name,
        value,
        unit,
        anchor: anchor.name,
        anchor_value: anchor.value,
        ratio,
        target,
        pass: target === null ? null : ratio >= target.ratio,
      };
      if (note !== undefined) row.note = note;
      return row;
    },

    /**
     * An absolute target from an issue (e.g. "diff < 50 ms") as an anchor-shaped budget: the
     * row's anchor is the budget itself (named "budget: ..."), never a measurement.
     */
    budget: (name, value, unit) => ({ name: `budget: ${name}`, value, unit }),

    /** An informational row (no anchor, no ratio, no target), e.g. the disk qualification. */
    info({ name, value, unit, note }) {
      if (!Number.isFinite(value)) throw new Error(`row ${name}: not a finite measurement`);
      const row = { name, value, unit, anchor: null, anchor_value: null, ratio: null, target: null, pass: null };
      if (note !== undefined) row.note = note;
      return row;
    },

    /**
     * In place of a row that cannot be measured here (an API missing from a dist): the runner
     * lists it under `skipped` as NOT MEASURED with the reason, never with a number.
     */
    notMeasured(name, reason) {
      log(`  NOT MEASURED ${name}: ${reason}`);
      return { [NOT_MEASURED]: true, name, reason };
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
