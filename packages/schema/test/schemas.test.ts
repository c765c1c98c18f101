import { describe, expect, it } from "vitest";
import { z } from "zod";
import { canonicalJson } from "../src/canonical.js";
import { SnapError, isSnapError } from "../src/errors.js";
import {
  CURRENT_SCHEMA_VERSION,
  DEFINITIONS,
  SCHEMAS,
  SCHEMA_NAMES,
  artifactSchema,
  cliErrorOf,
  cliErrorSchema,
  entryNameSchema,
  fsckReportSchema,
  isEntryName,
  journalAppendInputSchema,
  parseByType,
  parseVersioned,
  treeSchema,
  verifyReportSchema,
} from "../src/index.js";

const OID_A = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
const OID_B = "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d";

function thrown(fn: () => unknown): SnapError {
  try {
    fn();
  } catch (err) {
    if (isSnapError(err)) return err;
    throw err;
  }
  throw new Error("expected a SnapError, nothing was thrown");
}

const clone = <T>(v: T): T => structuredClone(v);
const STORED = [
  "artifact",
  "tree",
  "manifest",
  "snapshot",
  "release",
  "store_config",
  "lock_owner",
  "ref_txn",
  "journal_event",
  "journal_header",
  "journal_seal",
  "seq_repair",
  "journal_checkpoint_entity",
  "journal_checkpoint_footer",
  "journal_meta",
  "journal_index",
  "snapshot_lease",
  "stat_cache",
  "release_intent",
  "release_target",
  "release_materialization",
];

describe("registry", () => {
  it("registers every schema under its record type, with a current version", () => {
    expect(SCHEMA_NAMES).toEqual([
      "artifact",
      "tree",
      "manifest",
      "snapshot",
      "release",
      "store_config",
      "lock_owner",
      "ref_txn",
      "journal_event",
      "journal_header",
      "journal_seal",
      "journal_note",
      "seq_repair",
      "journal_checkpoint_entity",
      "journal_checkpoint_footer",
      "journal_meta",
      "journal_index",
      "snapshot_lease",
      "stat_cache",
      "release_intent",
      "release_target",
      "release_materialization",
      "verify_report",
      "fsck_report",
      "cli_error",
      "bench_results",
      "reflog_entry",
      "refs_verify_report",
      "refs_snapshot",
      "journal_recovery_report",
      "journal_doctor_report",
      "journal_verify_report",
      "journal_stats_report",
      "gc_report",
      "cli_version",
      "init_result",
      "commit_result",
      "runs_list",
      "log_result",
      "show_result",
      "ls_result",
      "diff_result",
      "lineage_result",
      "release_result",
      "revert_result",
      "releases_list",
      "refs_list",
      "tag_result",
      "doctor_report",
      "journal_append_result",
      "journal_records",
      "journal_follow_event",
      "journal_state",
      "journal_checkpoint_result",
      "journal_archive_result",
      "journal_dump",
    ]);
    expect(new Set(SCHEMA_NAMES).size).toBe(SCHEMA_NAMES.length);
    for (const d of DEFINITIONS) {
      expect(SCHEMAS[d.name]).toBe(d.schema);
      expect(CURRENT_SCHEMA_VERSION[d.name]).toBe(d.version);
      expect(Number.isInteger(d.version) && d.version >= 1).toBe(true);
      expect((d.example as { type: string }).type).toBe(d.name);
    }
  });
});

describe.each(DEFINITIONS.map((d) => [d.name, d] as const))("%s", (name, d) => {
  it("accepts its example, unchanged, and the example is storable canonical JSON", () => {
    const parsed = parseVersioned(d.schema, clone(d.example));
    expect(parsed).toEqual(d.example);
    expect(() => canonicalJson(parsed)).not.toThrow();
  });

  it("accepts every version from 1 up to the current one", () => {
    for (let v = 1; v <= d.version; v++) {
      expect(() => parseVersioned(d.schema, { ...clone(d.example), schema_version: v })).not.toThrow();
    }
  });

  it("refuses a newer schema_version with schema_version_unsupported (found, supported)", () => {
    const err = thrown(() => parseVersioned(d.schema, { ...clone(d.example), schema_version: d.version + 1 }));
    expect(err.code).toBe("schema_version_unsupported");
    expect(err.data).toEqual({ type: name, found: d.version + 1, supported: d.version });
  });

  it.each([
    ["schema_version 0", { schema_version: 0 }, "schema_version"],
    ["a fractional schema_version", { schema_version: 1.5 }, "schema_version"],
    ["a string schema_version", { schema_version: "1" }, "schema_version"],
    ["another type", { type: "something_else" }, "type"],
  ])("refuses %s with schema_invalid and the issue path", (_what, patch, path) => {
    const err = thrown(() => parseVersioned(d.schema, { ...clone(d.example), ...patch }));
    expect(err.code).toBe("schema_invalid");
    expect(err.data.type).toBe(name);
    expect((err.data.issues as { path: string }[]).map((i) => i.path)).toContain(path);
  });

  it("refuses the example without each required field", () => {
    const shape = (d.schema as unknown as z.ZodObject).shape;
    const required = Object.keys(shape).filter((k) => !shape[k]!.safeParse(undefined).success);
    expect(required).toEqual(expect.arrayContaining(["type", "schema_version"]));
    for (const key of required) {
      const broken = clone(d.example) as Record<string, unknown>;
      delete broken[key];
      const err = thrown(() => parseVersioned(d.schema, broken));
      expect(err.code).toBe("schema_invalid");
      expect((err.data.issues as { path: string }[]).some((i) => i.path === key)).toBe(true);
    }
  });

  it("refuses a non-object", () => {
    for (const value of [null, [], "artifact", 1]) expect(thrown(() => parseVersioned(d.schema, value)).code).toBe("schema_invalid");
  });

  if (STORED.includes(name)) {
    it("is a stored record: refuses unknown fields (a new field needs a new schema_version)", () => {
      const err = thrown(() => parseVersioned(d.schema, { ...clone(d.example), extra: 1 }));
      expect(err.code).toBe("schema_invalid");
    });
  }

  it("is found by parseByType", () => {
    expect(parseByType(clone(d.example))).toEqual(d.example);
  });
});

describe("record-specific rules", () => {
  const artifact = DEFINITIONS[0].example;

  it.each(["../x", "/abs", "a//b", "a/", "./a", "a/./b", "a\\b", "a\u0000b", ""])("artifact refuses the unsafe label %j", (label) => {
    expect(artifactSchema.safeParse({ ...artifact, label }).success).toBe(false);
    expect(artifactSchema.safeParse({ ...artifact, parent_labels: [label] }).success).toBe(false);
  });

  it("artifact accepts nested labels with dots inside segments", () => {
    expect(artifactSchema.safeParse({ ...artifact, label: "a/b.c/..d/e..", parent_labels: [] }).success).toBe(true);
  });

  it("artifact refuses a negative, fractional or unsafe size, a bad oid, and metadata that is not JSON", () => {
    for (const size of [-1, 1.5, 2 ** 53]) expect(artifactSchema.safeParse({ ...artifact, size }).success).toBe(false);
    expect(artifactSchema.safeParse({ ...artifact, content_oid: OID_A.toUpperCase() }).success).toBe(false);
    expect(artifactSchema.safeParse({ ...artifact, metadata: { when: new Date() } }).success).toBe(false);
    expect(artifactSchema.safeParse({ ...artifact, metadata: { n: Number.NaN } }).success).toBe(false);
  });

  it("tree refuses unsorted and duplicate entries and names with a slash", () => {
    const base = { type: "tree", schema_version: 1 };
    const a = { name: "a", kind: "artifact", oid: OID_A };
    const b = { name: "b", kind: "tree", oid: OID_B };
    expect(treeSchema.safeParse({ ...base, entries: [a, b] }).success).toBe(true);
    expect(treeSchema.safeParse({ ...base, entries: [] }).success).toBe(true);
    const unsorted = treeSchema.safeParse({ ...base, entries: [b, a] });
    expect(unsorted.success).toBe(false);
    expect(unsorted.error?.issues[0]?.path).toEqual(["entries", 1, "name"]);
    expect(treeSchema.safeParse({ ...base, entries: [a, { ...b, name: "a" }] }).success).toBe(false);
    expect(treeSchema.safeParse({ ...base, entries: [{ ...a, name: "x/y" }] }).success).toBe(false);
    expect(treeSchema.safeParse({ ...base, entries: [{ ...a, kind: "blob" }] }).success).toBe(false);
  });

  it("tree order is UTF-16 code-unit order, as canonical JSON orders keys", () => {
    const base = { type: "tree", schema_version: 1 };
    const entry = (name: string) => ({ name, kind: "artifact", oid: OID_A });
    expect(treeSchema.safeParse({ ...base, entries: [entry("B"), entry("a"), entry("\ud83d\ude00"), entry("\ufffd")] }).success).toBe(true);
  });

  it("verify_report and fsck_report refuse ok that contradicts their findings", () => {
    const verify = { type: "verify_report", schema_version: 1, ok: true, objects_checked: 1, bytes_checked: 1, corrupt: [] };
    expect(verifyReportSchema.safeParse(verify).success).toBe(true);
    expect(verifyReportSchema.safeParse({ ...verify, ok: false }).success).toBe(false);
    expect(verifyReportSchema.safeParse({ ...verify, corrupt: [{ oid: OID_A, actual_oid: null }] }).success).toBe(false);
    const damaged = { ...verify, damaged_packs: [{ pack: "pack/x.pack", reason: "bad magic" }] };
    expect(verifyReportSchema.safeParse(damaged).success).toBe(false); // ok: true with a damaged pack
    expect(verifyReportSchema.safeParse({ ...damaged, ok: false }).success).toBe(true);
    expect(verifyReportSchema.safeParse({ ...verify, damaged_packs: [] }).success).toBe(true);
    const fsck = { type: "fsck_report", schema_version: 1, ok: true, objects_checked: 0, corrupt: [], missing: [], dangling_refs: [] };
    expect(fsckReportSchema.safeParse(fsck).success).toBe(true);
    expect(
      fsckReportSchema.safeParse({ ...fsck, dangling_refs: [{ ref: "refs/heads/x", target: OID_A, reason: "missing_object" }] }).success,
    ).toBe(false);
  });

  it("store_config requires a uuid store_id and an ISO UTC created_at", () => {
    const config = DEFINITIONS.find((d) => d.name === "store_config")!.example;
    expect(SCHEMAS.store_config.safeParse({ ...config, store_id: "not-a-uuid" }).success).toBe(false);
    expect(SCHEMAS.store_config.safeParse({ ...config, created_at: "yesterday" }).success).toBe(false);
    expect(SCHEMAS.store_config.safeParse({ ...config, created_at: 1763778600000 }).success).toBe(false);
  });

  it("ref values are a 64-hex oid or 'ref: <name>'; ref_txn needs at least one update", () => {
    const txn = DEFINITIONS.find((d) => d.name === "ref_txn")!.example;
    const update = txn.updates[0]!;
    for (const value of [OID_A, "ref: refs/heads/main", null]) {
      expect(SCHEMAS.ref_txn.safeParse({ ...txn, updates: [{ ...update, new: value }] }).success).toBe(true);
    }
    for (const value of [OID_A.toUpperCase(), "ref:refs/heads/main", "ref: a b", "", "main"]) {
      expect(SCHEMAS.ref_txn.safeParse({ ...txn, updates: [{ ...update, new: value }] }).success).toBe(false);
    }
    expect(SCHEMAS.ref_txn.safeParse({ ...txn, updates: [] }).success).toBe(false);
    expect(SCHEMAS.ref_txn.safeParse({ ...txn, updates: [{ ...update, extra: 1 }] }).success).toBe(false);
    const snapshot = DEFINITIONS.find((d) => d.name === "refs_snapshot")!.example;
    expect(SCHEMAS.refs_snapshot.safeParse({ ...snapshot, refs: { HEAD: "refs/heads/main" } }).success).toBe(false);
  });

  it("refs_verify_report refuses ok that contradicts its findings", () => {
    const report = DEFINITIONS.find((d) => d.name === "refs_verify_report")!.example;
    expect(SCHEMAS.refs_verify_report.safeParse({ ...report, ok: true }).success).toBe(false);
    const clean = { ...report, ok: true, mismatches: [] };
    expect(SCHEMAS.refs_verify_report.safeParse(clean).success).toBe(true);
    expect(SCHEMAS.refs_verify_report.safeParse({ ...clean, history_gap: true }).success).toBe(false);
    expect(SCHEMAS.refs_verify_report.safeParse({ ...clean, unreadable: [{ path: "refs/x", reason: "bad" }] }).success).toBe(false);
  });

  it("journal records: append input refines payload rules; journal_note lets unknown fields through, the others do not", () => {
    expect(journalAppendInputSchema.safeParse({ action: "put", item_type: "note", item_id: "n1", payload: { a: 1 } }).success).toBe(true);
    expect(journalAppendInputSchema.safeParse({ action: "delete", item_type: "note", item_id: "n1", payload: 1 }).success).toBe(false);
    expect(
      journalAppendInputSchema.safeParse({ action: "put", item_type: "note", item_id: "n1", payload: 1, payload_ref: { sha256: OID_A, bytes: 1 } })
        .success,
    ).toBe(false);
    const event = DEFINITIONS.find((d) => d.name === "journal_event")!.example;
    expect(SCHEMAS.journal_event.safeParse({ ...event, crc: "XYZ" }).success).toBe(false);
    expect(SCHEMAS.journal_event.safeParse({ ...event, writer: "someone" }).success).toBe(false);
    const note = DEFINITIONS.find((d) => d.name === "journal_note")!.example;
    expect(SCHEMAS.journal_note.safeParse({ ...note, extra: 1 }).success).toBe(true);
    for (const name of ["journal_doctor_report", "journal_verify_report", "journal_stats_report", "journal_recovery_report", "gc_report"] as const) {
      expect(SCHEMAS[name].safeParse({ ...DEFINITIONS.find((d) => d.name === name)!.example, extra: 1 }).success, name).toBe(false);
    }
  });

  it("snapshots records: a lease's base snapshot is an oid or null; gc_report lists removed objects by oid", () => {
    const lease = DEFINITIONS.find((d) => d.name === "snapshot_lease")!.example;
    expect(SCHEMAS.snapshot_lease.safeParse({ ...lease, base_snapshot_oid: OID_A }).success).toBe(true);
    expect(SCHEMAS.snapshot_lease.safeParse({ ...lease, base_snapshot_oid: "abc" }).success).toBe(false);
    expect(SCHEMAS.snapshot_lease.safeParse({ ...lease, pipeline: "a/b" }).success).toBe(false);
    const gc = DEFINITIONS.find((d) => d.name === "gc_report")!.example;
    expect(SCHEMAS.gc_report.safeParse({ ...gc, objects_removed: ["not-an-oid"] }).success).toBe(false);
  });

  it("snapshot and manifest refuse pipeline names that cannot be one ref segment", () => {
    const snapshot = DEFINITIONS.find((d) => d.name === "snapshot")!.example;
    for (const pipeline of ["", ".hidden", "a/b", "main.lock", "-x", "a b"]) {
      expect(SCHEMAS.snapshot.safeParse({ ...snapshot, pipeline }).success).toBe(false);
    }
  });
});

describe("parseVersioned and parseByType errors", () => {
  it("summarizes zod issues as {path, code, message} and counts them", () => {
    const err = thrown(() => parseVersioned(artifactSchema, { type: "artifact", schema_version: 1 }));
    const issues = err.data.issues as { path: string; code: string; message: string }[];
    expect(issues.length).toBeGreaterThan(3);
    expect(issues).toContainEqual(expect.objectContaining({ path: "label", code: "invalid_type" }));
    expect(err.data.issue_count).toBe(issues.length);
    expect(err.message).toMatch(/^invalid artifact: /);
  });

  it("a schema that was not declared with defineRecord is a bug (internal)", () => {
    expect(thrown(() => parseVersioned(z.object({}), {})).code).toBe("internal");
  });

  it("parseByType refuses an unknown or missing type with schema_invalid", () => {
    expect(thrown(() => parseByType({ type: "blob", schema_version: 1 })).data).toEqual(
      expect.objectContaining({ type: "blob", known: SCHEMA_NAMES }),
    );
    expect(thrown(() => parseByType({ schema_version: 1 })).code).toBe("schema_invalid");
    expect(thrown(() => parseByType(null)).code).toBe("schema_invalid");
  });
});

describe("cliErrorOf", () => {
  it("wraps a SnapError as a valid cli_error envelope that keeps code, hint and data", () => {
    const envelope = cliErrorOf(new SnapError("ref_expect_mismatch", "moved", { hint: "retry", data: { ref: "refs/heads/main" } }));
    expect(cliErrorSchema.parse(envelope)).toEqual({
      type: "cli_error",
      schema_version: 1,
      ok: false,
      error: { code: "ref_expect_mismatch", message: "moved", hint: "retry", data: { ref: "refs/heads/main" } },
    });
  });

  it("reports anything else as internal, without a stack", () => {
    const envelope = cliErrorOf(new TypeError("x is undefined"));
    expect(envelope.error).toEqual({ code: "internal", message: "x is undefined" });
    expect(cliErrorOf("boom").error).toEqual({ code: "internal", message: "boom" });
  });

  it("cli_error accepts codes this version does not know (a newer snap's), refuses non-codes", () => {
    const e = { type: "cli_error", schema_version: 1, ok: false, error: { code: "future_code", message: "m" } };
    expect(cliErrorSchema.safeParse(e).success).toBe(true);
    expect(cliErrorSchema.safeParse({ ...e, error: { code: "Not A Code", message: "m" } }).success).toBe(false);
    expect(cliErrorSchema.safeParse({ ...e, ok: true }).success).toBe(false);
  });
});

describe("stat_cache versions", () => {
  const def = DEFINITIONS.find((d) => d.name === "stat_cache")!;
  const v2 = def.example as Record<string, unknown>;
  const oid = "a".repeat(64);
  it("reads a version 1 cache (entries with oids, no tree_root)", () => {
    const v1 = { type: "stat_cache", schema_version: 1, pipeline: "main", root: "/d", written_at_ms: 1, entries: [["a", 1, 2, 3, oid, oid]] };
    expect(() => parseVersioned(def.schema, v1)).not.toThrow();
  });
  it("requires tree_root, entry_count and uncached from version 2, and no entries inside the record", () => {
    for (const key of ["tree_root", "entry_count", "uncached"]) {
      const broken = { ...v2 };
      delete broken[key];
      const err = thrown(() => parseVersioned(def.schema, broken));
      expect(err.code).toBe("schema_invalid");
      expect((err.data.issues as { path: string }[]).map((i) => i.path)).toContain(key);
    }
    const withEntries = { ...v2, entries: [["a", 1, 2, 3, oid, oid]] };
    const err = thrown(() => parseVersioned(def.schema, withEntries));
    expect((err.data.issues as { path: string }[]).map((i) => i.path)).toContain("entries");
    expect(thrown(() => parseVersioned(def.schema, { ...v2, entry_count: -1 })).code).toBe("schema_invalid");
    expect(thrown(() => parseVersioned(def.schema, { ...v2, entry_count: 1.5 })).code).toBe("schema_invalid");
  });
});

describe("isEntryName", () => {
  it("agrees with entryNameSchema", () => {
    const names = ["a", "index.html", "é", "😀", ".", "..", "...", ".hidden", "a/b", "a\\b", "a\u0000b", "tab\tname", "del\u007f", "", "x".repeat(255), "x".repeat(256), " ", "-"];
    for (const n of names) expect([n, isEntryName(n)]).toEqual([n, entryNameSchema.safeParse(n).success]);
  });
});
