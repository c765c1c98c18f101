import { describe, expect, it } from "vitest";
import { unifiedDiff } from "../src/index.js";

describe("unified text diff", () => {
  it("is empty for equal contents and shows changed lines with context", () => {
    expect(unifiedDiff("a\nb\n", "a\nb\n")).toBe("");
    const a = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"].join("\n") + "\n";
    const b = a.replace("5\n", "five\n");
    expect(unifiedDiff(a, b, { fromLabel: "x@old", toLabel: "x@new" })).toBe(
      "--- x@old\n+++ x@new\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n",
    );
  });

  it("handles additions to an empty file and binary content", () => {
    expect(unifiedDiff("", "new\n")).toBe("--- a\n+++ b\n@@ -0,0 +1,1 @@\n+new\n");
    expect(unifiedDiff(Buffer.from([0, 1, 2]), Buffer.from([0, 1, 3]))).toBe("Binary files a and b differ\n");
  });

  it("separates distant changes into hunks", () => {
    const lines = Array.from({ length: 30 }, (_, i) => `l${i}`);
    const a = lines.join("\n") + "\n";
    const b = lines.map((l, i) => (i === 2 || i === 25 ? `${l}!` : l)).join("\n") + "\n";
    const d = unifiedDiff(a, b);
    expect(d.match(/^@@/gm)).toHaveLength(2);
    expect(d).toContain("-l2\n+l2!\n");
    expect(d).toContain("-l25\n+l25!\n");
  });
});
