/** Where the --json schemas live: every document snap prints is in OUTPUT_DEFINITIONS once. */
import { DEFINITIONS, definitionOf } from "@snap/schema";
import { describe, expect, it } from "vitest";
import { OUTPUT_DEFINITIONS } from "../src/schema.js";

describe("OUTPUT_DEFINITIONS", () => {
  it("has each document type once", () => {
    const names = OUTPUT_DEFINITIONS.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it("uses @snap/schema's registered definitions (the same objects) for every document, with no exceptions", () => {
    const registered = new Set<unknown>(DEFINITIONS);
    for (const d of OUTPUT_DEFINITIONS) {
      expect(registered.has(d), d.name).toBe(true);
      expect(definitionOf(d.schema)?.name, d.name).toBe(d.name);
    }
    expect(OUTPUT_DEFINITIONS.map((d) => d.name)).toEqual(
      expect.arrayContaining(["journal_doctor_report", "journal_verify_report", "journal_stats_report", "gc_report"]),
    );
  });
});
