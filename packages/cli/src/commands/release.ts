/** release, revert, releases: materialize a snapshot to a target and switch it atomically. */
import { resolve } from "node:path";
import { isOid, SnapError, type Release } from "@snap/schema";
import type { SnapshotStore } from "@snap/snapshots";
import { outcome } from "../context.js";
import { formatTable, relativeTime, shortOid } from "../format.js";
import type { CommandSpec } from "../program.js";
import { releaseResultDefinition, releasesListDefinition, revertResultDefinition } from "../schema.js";
import { withStore } from "./open-store.js";

type Doc<D extends { example: unknown }> = D["example"];
type ReleaseDoc = Doc<typeof releaseResultDefinition>;

async function readRelease(store: SnapshotStore, oid: string): Promise<Release> {
  return (await store.context.io.getObject(oid)) as unknown as Release;
}

async function resultDoc(store: SnapshotStore, r: Awaited<ReturnType<SnapshotStore["release"]>>): Promise<Omit<ReleaseDoc, "type">> {
  const previousSnapshot = r.previousReleaseOid === null ? null : (await readRelease(store, r.previousReleaseOid)).snapshot_oid;
  return {
    schema_version: 1,
    release_oid: r.releaseOid,
    snapshot_oid: r.snapshotOid,
    name: r.name,
    target: r.target,
    previous_release_oid: r.previousReleaseOid,
    previous_snapshot_oid: previousSnapshot,
    reused_materialization: r.reused,
  };
}

function releaseOptions(cmd: import("commander").Command): void {
  cmd.option("--target <dir>", "the path to switch (default: the name's recorded target, else .snap/releases/<name>/current)");
  cmd.option("--force", "move an existing target snap did not make aside (never deletes it)");
}

const release: CommandSpec = {
  usage: "release <rev>",
  abortable: true,
  summary: "release a snapshot under a name: materialize it and switch the target atomically",
  description:
    "Materialize REV into .snap/releases/<name>/<snapshot>/ and switch the target to it with one\n" +
    "atomic swap, then move refs/releases/<name>. A failure leaves the previous release serving.\n" +
    "A target that exists and was not made by snap is refused (--force moves it aside).",
  options(cmd) {
    cmd.requiredOption("--to <name>", "the release name (refs/releases/<name>)");
    releaseOptions(cmd);
  },
  examples: [
    ["snap release HEAD --to prod --target ./site", "serve HEAD at ./site (a symlink swapped atomically)"],
    ["snap release HEAD~1 --to staging --json", "to the name's recorded target, machine-readable"],
  ],
  async run(ctx, [rev], opts) {
    return withStore(ctx, async (store) => {
      const options: Parameters<SnapshotStore["release"]>[0] = { rev: rev!, name: String(opts.to), signal: ctx.signal };
      if (typeof opts.target === "string") options.target = resolve(ctx.cwd, opts.target);
      if (opts.force === true) options.force = true;
      const r = await store.release(options);
      const doc: ReleaseDoc = { type: "release_result", ...(await resultDoc(store, r)) };
      return outcome(releaseResultDefinition, doc, (out) => {
        out.data(`released ${out.colors.yellow(shortOid(r.snapshotOid))} as ${r.name} -> ${r.target}`);
        out.note(`${r.reused ? "reused the existing materialization" : "materialized"} ${r.materialization}; release ${shortOid(r.releaseOid)}`);
        if (r.movedAside !== undefined) out.warn(`moved the existing target aside to ${r.movedAside}`);
      });
    });
  },
};

const revert: CommandSpec = {
  usage: "revert <name> [rev]",
  abortable: true,
  summary: "release an older snapshot under NAME (default: the previous release's)",
  options: releaseOptions,
  examples: [
    ["snap revert prod", "back to the release before the current one (a pointer swap when still materialized)"],
    ["snap revert prod 1a2b3c4d --json", "to a given snapshot, machine-readable"],
  ],
  async run(ctx, [name, rev], opts) {
    return withStore(ctx, async (store) => {
      const options: Parameters<SnapshotStore["revert"]>[0] = { name: name!, signal: ctx.signal };
      if (rev !== undefined) options.rev = rev;
      if (typeof opts.target === "string") options.target = resolve(ctx.cwd, opts.target);
      if (opts.force === true) options.force = true;
      const r = await store.revert(options);
      const doc: Doc<typeof revertResultDefinition> = { type: "revert_result", ...(await resultDoc(store, r)) };
      return outcome(revertResultDefinition, doc, (out) => {
        out.data(`reverted ${r.name} to ${out.colors.yellow(shortOid(r.snapshotOid))} -> ${r.target}`);
        out.note(`${r.reused ? "pointer swap to the existing materialization" : "materialized"} ${r.materialization}; release ${shortOid(r.releaseOid)}`);
      });
    });
  },
};

const releases: CommandSpec = {
  usage: "releases [name]",
  summary: "the current release of every name, or one name's history (newest first)",
  options(cmd) {
    cmd.option("-n, --limit <n>", "at most N entries of a name's history");
  },
  examples: [
    ["snap releases", "what every name serves"],
    ["snap releases prod --json", "prod's release history, machine-readable"],
  ],
  async run(ctx, [name], opts) {
    return withStore(ctx, async (store) => {
      const infos = await store.releases();
      const rows: Doc<typeof releasesListDefinition>["releases"] = [];
      if (name === undefined) {
        for (const info of infos) {
          rows.push({
            name: info.name,
            release_oid: info.releaseOid,
            snapshot_oid: info.release.snapshot_oid,
            released_at: info.release.released_at,
            source_ref: info.release.source_ref,
            previous_release_oid: info.release.previous_release_oid,
            target: info.target,
            current: true,
          });
        }
      } else {
        const info = infos.find((i) => i.name === name);
        if (info === undefined) {
          throw new SnapError("release_not_found", `no release named ${JSON.stringify(name)}`, { hint: "list release names with `snap releases`", data: { name } });
        }
        const limit = opts.limit === undefined ? Number.POSITIVE_INFINITY : Number(opts.limit);
        let oid: string | null = info.releaseOid;
        const seen = new Set<string>();
        while (oid !== null && isOid(oid) && !seen.has(oid) && rows.length < limit) {
          seen.add(oid);
          const rel = await readRelease(store, oid);
          rows.push({
            name: rel.name,
            release_oid: oid,
            snapshot_oid: rel.snapshot_oid,
            released_at: rel.released_at,
            source_ref: rel.source_ref,
            previous_release_oid: rel.previous_release_oid,
            target: rows.length === 0 ? info.target : null,
            current: rows.length === 0,
          });
          oid = rel.previous_release_oid;
        }
      }
      const doc: Doc<typeof releasesListDefinition> = { type: "releases_list", schema_version: 1, name: name ?? null, releases: rows };
      return outcome(releasesListDefinition, doc, (out) => {
        if (rows.length === 0) {
          out.note("no releases yet: `snap release REV --to NAME` makes one");
          return;
        }
        const c = out.colors;
        const table = rows.map((r) => [r.current ? c.green("*") : " ", r.name, c.yellow(shortOid(r.snapshot_oid)), relativeTime(r.released_at), r.source_ref, r.target ?? ""]);
        out.data(formatTable(table, { header: [" ", "NAME", "SNAPSHOT", "RELEASED", "FROM", "TARGET"], colors: c }));
        for (const info of infos) if (info.pending) out.warn(`release ${info.name} has a pending (interrupted) release; the next release or revert of it recovers it`);
      });
    });
  },
};

export const releaseCommands: CommandSpec[] = [release, revert, releases];
