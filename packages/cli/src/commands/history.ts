/** Writing and reading snapshots: commit, runs, log, show, ls, cat, diff, lineage. */
import { resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { Option } from "commander";
import { isSnapError, SnapError } from "@snap/schema";
import type { SnapshotStore } from "@snap/snapshots";
import { outcome } from "../context.js";
import { formatBytes, formatTable, plural, relativeTime, shortOid } from "../format.js";
import { parseCount, type CommandSpec } from "../program.js";
import {
  commitResultDefinition,
  diffResultDefinition,
  lineageResultDefinition,
  logResultDefinition,
  lsResultDefinition,
  runsListDefinition,
  showResultDefinition,
} from "../schema.js";
import { withStore } from "./open-store.js";
import { unifiedDiff } from "../text-diff.js";

type Doc<D extends { example: unknown }> = D["example"];

const commit: CommandSpec = {
  usage: "commit <dir>",
  abortable: true,
  summary: "snapshot a directory: every file becomes an artifact labelled by its relative path",
  description:
    "Snapshot DIR (a build's output) as one immutable snapshot on the pipeline's branch, and\n" +
    "record a run ref for it. Unchanged files are not re-read (stat cache). Symbolic links are\n" +
    "refused unless --skip-symlinks.",
  options(cmd) {
    cmd.addOption(new Option("-p, --pipeline <name>", "the pipeline (branch refs/heads/<name>)").default("main"));
    cmd.option("-m, --message <msg>", "a message stored in the snapshot");
    cmd.option("--run-id <id>", "the run id (default: a time-prefixed unique id)");
    cmd.option("--skip-symlinks", "leave symbolic links out (listed in the result) instead of refusing");
  },
  examples: [
    ["snap commit ./dist -m 'nightly build'", "snapshot ./dist on the main pipeline"],
    ["snap commit ./out --pipeline docs --json", "another pipeline, machine-readable"],
  ],
  async run(ctx, [dir], opts) {
    return withStore(ctx, async (store) => {
      const options: Parameters<typeof store.commitDirectory>[0] = {
        dir: resolve(ctx.cwd, dir!),
        pipeline: String(opts.pipeline),
        symlinks: opts.skipSymlinks === true ? "skip" : "refuse",
      };
      if (typeof opts.message === "string") options.message = opts.message;
      if (typeof opts.runId === "string") options.runId = opts.runId;
      options.signal = ctx.signal;
      const progress = ctx.out.progress("commit").startActivity();
      if (progress.onProgress !== undefined) options.onProgress = progress.onProgress;
      const r = await store.commitDirectory(options);
      const doc: Doc<typeof commitResultDefinition> = {
        type: "commit_result",
        schema_version: 1,
        snapshot_oid: r.snapshotOid,
        manifest_oid: r.manifestOid,
        run_ref: r.runRef,
        branch_ref: r.branchRef,
        pipeline: String(opts.pipeline),
        run_id: r.runId,
        parent_snapshot_oids: r.parentOid === null ? [] : [r.parentOid],
        artifacts: r.files,
        hashed: r.hashed,
        new_objects: r.newObjects,
        skipped_symlinks: r.skippedSymlinks,
      };
      return outcome(commitResultDefinition, doc, (out) => {
        const c = out.colors;
        out.data(`${c.yellow(shortOid(r.snapshotOid))} ${r.branchRef.replace(/^refs\/heads\//, "")} ${r.runId}`);
        out.note(
          `committed ${plural(r.files, "file")} (${r.hashed} hashed, ${plural(r.newObjects, "new object")})` +
            `${r.parentOid === null ? ", first snapshot of the pipeline" : `, parent ${shortOid(r.parentOid)}`}`,
        );
        for (const link of r.skippedSymlinks) out.warn(`skipped symbolic link ${link}`);
      });
    });
  },
};

const runs: CommandSpec = {
  usage: "runs",
  summary: "list runs (one ref per commit), newest first",
  options(cmd) {
    cmd.option("-p, --pipeline <name>", "only this pipeline's runs");
    cmd.addOption(new Option("-n, --limit <n>", "at most N runs").argParser(parseCount));
  },
  examples: [
    ["snap runs", "every run, newest first"],
    ["snap runs --pipeline docs -n 5 --json", "the last five runs of one pipeline"],
  ],
  async run(ctx, _args, opts) {
    return withStore(ctx, async (store) => {
      const listed = await store.runs(typeof opts.pipeline === "string" ? { pipeline: opts.pipeline } : {});
      let rows = [...listed].reverse();
      if (typeof opts.limit === "number") rows = rows.slice(0, opts.limit);
      const doc: Doc<typeof runsListDefinition> = {
        type: "runs_list",
        schema_version: 1,
        runs: rows.map((r) => {
          const run: Doc<typeof runsListDefinition>["runs"][number] = { ref: r.ref, snapshot_oid: r.snapshot_oid, run_id: r.run_id, created_at: r.created_at, pipeline: r.pipeline };
          if (r.message !== undefined) run.message = r.message;
          return run;
        }),
      };
      return outcome(runsListDefinition, doc, (out) => {
        if (rows.length === 0) {
          out.note("no runs yet: `snap commit DIR` records one");
          return;
        }
        const c = out.colors;
        out.data(
          formatTable(
            rows.map((r) => [c.yellow(shortOid(r.snapshot_oid)), r.pipeline, r.run_id, relativeTime(r.created_at), r.message ?? ""]),
            { header: ["SNAPSHOT", "PIPELINE", "RUN", "CREATED", "MESSAGE"], colors: c },
          ),
        );
      });
    });
  },
};

function summaryOf(oid: string, s: { manifest_oid: string; parent_snapshot_oids: string[]; created_at: string; pipeline: string; run_id: string; message?: string | undefined }) {
  const out: Doc<typeof logResultDefinition>["snapshots"][number] = {
    snapshot_oid: oid,
    manifest_oid: s.manifest_oid,
    parent_snapshot_oids: s.parent_snapshot_oids,
    created_at: s.created_at,
    pipeline: s.pipeline,
    run_id: s.run_id,
  };
  if (s.message !== undefined) out.message = s.message;
  return out;
}

const log: CommandSpec = {
  usage: "log [rev]",
  summary: "snapshot history from REV (default HEAD) back through first parents",
  options(cmd) {
    cmd.addOption(new Option("-n, --limit <n>", "at most N snapshots").argParser(parseCount));
  },
  examples: [
    ["snap log", "history of HEAD"],
    ["snap log docs~2 -n 10 --json", "ten snapshots from two before the docs branch head"],
  ],
  async run(ctx, [rev], opts) {
    const from = rev ?? "HEAD";
    return withStore(ctx, async (store) => {
      const entries = await store.log(from, typeof opts.limit === "number" ? { limit: opts.limit } : {});
      const doc: Doc<typeof logResultDefinition> = { type: "log_result", schema_version: 1, rev: from, snapshots: entries.map((e) => summaryOf(e.oid, e.snapshot)) };
      return outcome(logResultDefinition, doc, (out) => {
        const c = out.colors;
        out.data(
          formatTable(
            entries.map((e) => [c.yellow(shortOid(e.oid)), relativeTime(e.snapshot.created_at), `${e.snapshot.pipeline}/${e.snapshot.run_id}`, e.snapshot.message ?? ""]),
            { colors: c },
          ),
        );
      });
    });
  },
};

const show: CommandSpec = {
  usage: "show <rev>",
  summary: "a snapshot: its run, parents, manifest, fingerprint and projections",
  examples: [
    ["snap show HEAD", "the newest snapshot of HEAD's pipeline"],
    ["snap show 1a2b3c4d --json", "by oid prefix, machine-readable"],
  ],
  async run(ctx, [rev], _opts) {
    return withStore(ctx, async (store) => {
      const view = await store.view(rev!);
      const labels = await view.labels();
      const projections: Doc<typeof showResultDefinition>["projections"] = {};
      for (const [name, p] of Object.entries(view.manifest.projections)) projections[name] = { adapter: p.adapter, input_artifacts: p.input_artifacts };
      const doc: Doc<typeof showResultDefinition> = {
        type: "show_result",
        schema_version: 1,
        rev: rev!,
        snapshot: summaryOf(view.oid, view.snapshot),
        pipeline_fingerprint: view.manifest.pipeline_fingerprint,
        root_tree_oid: view.manifest.root,
        artifacts: labels.length,
        projections,
      };
      return outcome(showResultDefinition, doc, (out) => {
        const c = out.colors;
        const s = view.snapshot;
        const rows = [
          ["snapshot", c.yellow(view.oid)],
          ["pipeline", s.pipeline],
          ["run", s.run_id],
          ["created", `${s.created_at} (${relativeTime(s.created_at)})`],
          ["parents", s.parent_snapshot_oids.length === 0 ? "(none)" : s.parent_snapshot_oids.map((p) => shortOid(p)).join(" ")],
          ["manifest", view.manifestOid],
          ["root tree", view.manifest.root],
          ["fingerprint", view.manifest.pipeline_fingerprint],
          ["artifacts", String(labels.length)],
          ["projections", Object.keys(projections).length === 0 ? "(none)" : Object.entries(projections).map(([n, p]) => `${n} (${p.adapter})`).join(", ")],
        ];
        if (s.message !== undefined) rows.push(["message", s.message]);
        out.data(formatTable(rows.map(([k, v]) => [`${k}:`, v!])));
      });
    });
  },
};

const ls: CommandSpec = {
  usage: "ls <rev> [prefix]",
  abortable: true,
  summary: "the artifacts of a snapshot (under a label prefix)",
  options(cmd) {
    cmd.option("-l, --long", "also show each artifact's content oid and type");
  },
  examples: [
    ["snap ls HEAD", "every label with its size"],
    ["snap ls HEAD assets/ -l", "labels under assets/, with content oids"],
  ],
  async run(ctx, [rev, prefixArg], opts) {
    const prefix = prefixArg ?? "";
    return withStore(ctx, async (store) => {
      const view = await store.view(rev!);
      const artifacts: Doc<typeof lsResultDefinition>["artifacts"] = [];
      for await (const [label] of view.entries()) {
        if (!label.startsWith(prefix)) continue;
        if (ctx.signal.aborted) throw new SnapError("interrupted", "ls interrupted");
        const a = await view.artifact(label);
        const entry: Doc<typeof lsResultDefinition>["artifacts"][number] = { label, content_oid: a.content_oid, artifact_oid: a.oid, size: a.size, artifact_type: a.artifact_type };
        if (a.media_type !== undefined) entry.media_type = a.media_type;
        artifacts.push(entry);
      }
      const doc: Doc<typeof lsResultDefinition> = { type: "ls_result", schema_version: 1, snapshot_oid: view.oid, prefix, artifacts };
      return outcome(lsResultDefinition, doc, (out) => {
        if (artifacts.length === 0) {
          out.note(prefix === "" ? "the snapshot has no artifacts" : `no artifacts under ${prefix}`);
          return;
        }
        const rows = artifacts.map((a) => (opts.long === true ? [out.colors.yellow(shortOid(a.content_oid)), a.artifact_type ?? "", formatBytes(a.size), a.label] : [formatBytes(a.size), a.label]));
        out.data(formatTable(rows, { align: opts.long === true ? ["left", "left", "right"] : ["right"] }));
      });
    });
  },
};

const cat: CommandSpec = {
  usage: "cat <target>",
  summary: "print an artifact's bytes (REV:LABEL) or an object's bytes (OID or unique oid prefix), verified",
  description:
    "Write the content of REV:LABEL, or the raw bytes of the object OID, to stdout. OID may be\n" +
    "abbreviated to a unique prefix of at least 4 hex digits; a prefix several objects share is\n" +
    "refused with error[rev_ambiguous] (exit 2) listing them. Bytes are verified against their oid\n" +
    "while streaming. --json prints nothing else: it is refused.",
  examples: [
    ["snap cat HEAD:index.html", "an artifact's content"],
    ["snap cat HEAD~1:data/app.js > old.js", "from an older snapshot"],
    ["snap cat 3e23e816", "an object by a unique oid prefix (or the full 64-hex oid)"],
  ],
  async run(ctx, [target], _opts) {
    if (ctx.out.json) throw new SnapError("invalid_argument", "snap cat prints raw bytes, not JSON", { hint: "use `snap ls REV --json` for metadata" });
    return withStore(ctx, async (store) => {
      const colon = target!.indexOf(":");
      let stream: NodeJS.ReadableStream;
      if (colon === -1) {
        if (!/^[0-9a-fA-F]+$/.test(target!)) {
          throw new SnapError("invalid_argument", `${JSON.stringify(target)} is neither REV:LABEL nor an oid (or a prefix of one, at least 4 hex digits)`, {
            hint: "use HEAD:path/to/file, or an oid from `snap ls -l`",
            data: { target },
          });
        }
        stream = await store.context.io.getStream(await resolveOidPrefix(store, target!));
      } else {
        const view = await store.view(target!.slice(0, colon));
        stream = await view.contentStream(target!.slice(colon + 1));
      }
      await ctx.out.pipeRaw(stream);
      return { streamed: true as const };
    });
  },
};

/** How many of an ambiguous prefix's candidates the error message names (data.candidates has them all, up to 100). */
const CANDIDATES_SHOWN = 10;
/** Objects larger than this are listed as blobs without reading them to find their type. */
const TYPE_PROBE_BYTES = 1 << 20;

/** A structured object's `type`, else "blob" (the raw bytes of a file). */
async function objectKind(store: SnapshotStore, oid: string): Promise<string> {
  const info = await store.context.objects.stat(oid);
  if (info === undefined || info.size > TYPE_PROBE_BYTES) return "blob";
  try {
    return (await store.context.objects.getObject(oid)).type;
  } catch {
    return "blob";
  }
}

/** The one object an oid prefix names; an ambiguous prefix's error names each candidate and its kind. */
async function resolveOidPrefix(store: SnapshotStore, prefix: string): Promise<string> {
  try {
    return await store.context.objects.resolvePrefix(prefix);
  } catch (err) {
    if (!isSnapError(err, "rev_ambiguous")) throw err;
    const candidates = Array.isArray(err.data.candidates) ? (err.data.candidates as string[]) : [];
    const count = typeof err.data.count === "number" ? err.data.count : candidates.length;
    const shown: string[] = [];
    for (const oid of candidates.slice(0, CANDIDATES_SHOWN)) shown.push(`${shortOid(oid)} (${await objectKind(store, oid)})`);
    const more = count > shown.length ? `, and ${count - shown.length} more` : "";
    throw new SnapError("rev_ambiguous", `oid prefix ${prefix.toLowerCase()} matches ${count} objects: ${shown.join(", ")}${more}`, {
      hint: "give more characters of the oid (`snap ls REV -l` shows content oids)",
      data: { ...err.data, prefix: prefix.toLowerCase(), candidates, count },
      cause: err,
    });
  }
}

const diff: CommandSpec = {
  usage: "diff <a> <b>",
  summary: "artifacts added, removed and changed (by content) between two snapshots; projections; fingerprint",
  options(cmd) {
    cmd.option("--stat", "counts only");
    cmd.option("--name-only", "changed labels only");
    cmd.option("-p, --patch", "a unified diff of changed text artifacts");
  },
  examples: [
    ["snap diff HEAD~1 HEAD", "status line per changed artifact (A/D/M)"],
    ["snap diff HEAD~1 HEAD --patch", "with a unified diff of text artifacts"],
    ["snap diff prod HEAD --stat --json", "what a release would change, machine-readable"],
  ],
  async run(ctx, [a, b], opts) {
    return withStore(ctx, async (store) => {
      const d = await store.diff(a!, b!);
      const oidOr = (x: string | undefined, y: string | undefined) => (x ?? y)!;
      const doc: Doc<typeof diffResultDefinition> = {
        type: "diff_result",
        schema_version: 1,
        from: { rev: a!, snapshot_oid: d.from! },
        to: { rev: b!, snapshot_oid: d.to },
        added: d.added.map((c) => ({ label: c.label, oid: oidOr(c.content_after, c.after) })),
        removed: d.removed.map((c) => ({ label: c.label, oid: oidOr(c.content_before, c.before) })),
        changed: d.changed.map((c) => ({ label: c.label, from_oid: oidOr(c.content_before, c.before), to_oid: oidOr(c.content_after, c.after) })),
        projections: {
          added: d.projections.filter((p) => p.status === "added").map((p) => p.name),
          removed: d.projections.filter((p) => p.status === "removed").map((p) => p.name),
          changed: d.projections.filter((p) => p.status === "changed").map((p) => p.name),
        },
        fingerprint_changed: d.fingerprint.changed,
      };
      const patches: string[] = [];
      if (opts.patch === true && !ctx.out.json) {
        const [va, vb] = [await store.view(d.from!), await store.view(d.to)];
        for (const c of d.changed) {
          if (!c.content_changed) continue;
          const [x, y] = [await va.content(c.label), await vb.content(c.label)];
          patches.push(unifiedDiff(c.label, x, y));
        }
        for (const c of d.added) patches.push(unifiedDiff(c.label, null, await vb.content(c.label)));
        for (const c of d.removed) patches.push(unifiedDiff(c.label, await va.content(c.label), null));
      }
      return outcome(diffResultDefinition, doc, (out) => {
        const c = out.colors;
        if (opts.nameOnly === true) {
          out.data([...doc.added, ...doc.removed, ...doc.changed].map((x) => x.label).sort().join("\n"));
          return;
        }
        if (opts.stat === true) {
          const rows = [...d.added.map((x) => ["A", x.label]), ...d.removed.map((x) => ["D", x.label]), ...d.changed.map((x) => ["M", x.label])];
          if (rows.length > 0) out.data(formatTable(rows));
          out.data(`${plural(d.added.length, "added", "added")}, ${d.removed.length} removed, ${d.changed.length} changed${d.fingerprint.changed ? "; pipeline fingerprint changed" : ""}`);
          return;
        }
        const lines = [
          ...d.added.map((x) => `${c.green("A")}  ${x.label}`),
          ...d.removed.map((x) => `${c.red("D")}  ${x.label}`),
          ...d.changed.map((x) => `${c.yellow("M")}  ${x.label}${x.content_changed ? "" : " (metadata only)"}`),
          ...d.projections.map((p) => `${p.status === "added" ? "A" : p.status === "removed" ? "D" : "M"}  projection ${p.name}${p.fields.length > 0 ? ` (${p.fields.join(", ")})` : ""}`),
        ];
        if (d.fingerprint.changed) lines.push(`pipeline fingerprint ${shortOid(d.fingerprint.before ?? "")} -> ${shortOid(d.fingerprint.after)}`);
        if (lines.length === 0) out.note(`no differences between ${a} and ${b}`);
        else out.data(lines.join("\n"));
        for (const p of patches) out.data(p);
      });
    });
  },
};

const lineage: CommandSpec = {
  usage: "lineage <label>",
  summary: "an artifact and its ancestors through parent_labels",
  options(cmd) {
    cmd.addOption(new Option("--rev <rev>", "the snapshot to look in").default("HEAD"));
  },
  examples: [
    ["snap lineage summary.md", "what summary.md was built from, in HEAD"],
    ["snap lineage site/index.html --rev prod --json", "in the released snapshot, machine-readable"],
  ],
  async run(ctx, [label], opts) {
    return withStore(ctx, async (store) => {
      const view = await store.view(String(opts.rev));
      const nodes: Doc<typeof lineageResultDefinition>["nodes"] = [];
      for (const n of await view.lineage(label!)) {
        if (n.missing) nodes.push({ label: n.label, depth: n.depth, content_oid: null, parent_labels: [], missing: true });
        else {
          const a = await view.artifact(n.label);
          nodes.push({ label: n.label, depth: n.depth, content_oid: a.content_oid, parent_labels: a.parent_labels, missing: false });
        }
      }
      const doc: Doc<typeof lineageResultDefinition> = { type: "lineage_result", schema_version: 1, snapshot_oid: view.oid, label: label!, nodes };
      return outcome(lineageResultDefinition, doc, (out) => {
        for (const n of nodes) {
          const oid = n.content_oid === null ? out.colors.red("(missing from this snapshot)") : out.colors.yellow(shortOid(n.content_oid));
          out.data(`${"  ".repeat(n.depth)}${n.label}  ${oid}`);
        }
      });
    });
  },
};

export const historyCommands: CommandSpec[] = [commit, runs, log, show, ls, cat, diff, lineage];
