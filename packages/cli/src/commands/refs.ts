/** refs and tag: the store's refs (through @snap/snapshots' refs interface, which uses @snap/refs). */
import { SnapError } from "@snap/schema";
import { outcome } from "../context.js";
import { formatTable, shortOid } from "../format.js";
import type { CommandSpec } from "../program.js";
import { refsListDefinition, tagResultDefinition } from "../schema.js";
import { withStore } from "./open-store.js";

type Doc<D extends { example: unknown }> = D["example"];

const refs: CommandSpec = {
  usage: "refs [prefix]",
  summary: "list refs (heads, runs, releases, tags) under a prefix, and HEAD",
  examples: [
    ["snap refs", "every ref and HEAD"],
    ["snap refs refs/tags/ --json", "tags only, machine-readable"],
  ],
  async run(ctx, [prefixArg], _opts) {
    const prefix = prefixArg ?? "refs/";
    return withStore(ctx, async (store) => {
      const rows: Doc<typeof refsListDefinition>["refs"] = [];
      if ("HEAD".startsWith(prefix) || prefix === "refs/") {
        const target = await store.context.refs.readSymbolic("HEAD");
        const oid = (await store.context.refs.read("HEAD")) ?? null;
        const head: Doc<typeof refsListDefinition>["refs"][number] = { ref: "HEAD", oid };
        if (target !== undefined) head.symbolic = target;
        rows.push(head);
      }
      const listed = prefix.startsWith("refs/") || prefix === "" ? await store.context.refs.list(prefix === "" ? "refs/" : prefix) : [];
      for (const r of listed) rows.push({ ref: r.ref, oid: r.oid });
      const doc: Doc<typeof refsListDefinition> = { type: "refs_list", schema_version: 1, prefix, refs: rows };
      return outcome(refsListDefinition, doc, (out) => {
        const c = out.colors;
        out.data(formatTable(rows.map((r) => [r.oid === null ? "(unborn)" : c.yellow(shortOid(r.oid)), r.symbolic === undefined ? r.ref : `${r.ref} -> ${r.symbolic}`])));
      });
    });
  },
};

const tag: CommandSpec = {
  usage: "tag <name> <rev>",
  summary: "create refs/tags/NAME at a snapshot (refuses to move an existing tag unless --force)",
  options(cmd) {
    cmd.option("-f, --force", "move the tag if it exists");
  },
  examples: [
    ["snap tag v1 HEAD", "tag the current snapshot"],
    ["snap tag v1 HEAD~1 --force", "move an existing tag"],
  ],
  async run(ctx, [name, rev], opts) {
    const ref = `refs/tags/${name}`;
    return withStore(ctx, async (store) => {
      const oid = await store.resolve(rev!);
      try {
        await store.context.refs.transaction([{ ref, expect: opts.force === true ? "any" : "absent", set: oid }], { reason: `snap tag ${name} ${rev}` });
      } catch (err) {
        if (err instanceof Error && (err as { code?: unknown }).code === "ref_expect_mismatch" && opts.force !== true) {
          throw new SnapError("ref_expect_mismatch", `tag ${name} already exists`, { hint: "pick another name, or pass --force to move it", data: { ref }, cause: err });
        }
        throw err;
      }
      const doc: Doc<typeof tagResultDefinition> = { type: "tag_result", schema_version: 1, ref, snapshot_oid: oid };
      return outcome(tagResultDefinition, doc, (out) => out.data(`${ref} -> ${out.colors.yellow(shortOid(oid))}`));
    });
  },
};

export const refsCommands: CommandSpec[] = [refs, tag];
