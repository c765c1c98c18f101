import { describe, expect, it } from "vitest";
import { ERROR_CODES, ERROR_CODE_LIST, SnapError, isErrorCode, isSnapError } from "../src/errors.js";

describe("SnapError", () => {
  it("toJSON carries code and message, and hint and data only when present", () => {
    expect(new SnapError("ref_not_found", "no such ref").toJSON()).toEqual({ code: "ref_not_found", message: "no such ref" });
    const full = new SnapError("ref_expect_mismatch", "refs/heads/main moved", {
      hint: "rebase the build",
      data: { expected: "a", found: "b" },
    });
    expect(JSON.parse(JSON.stringify(full))).toEqual({
      code: "ref_expect_mismatch",
      message: "refs/heads/main moved",
      hint: "rebase the build",
      data: { expected: "a", found: "b" },
    });
  });

  it("is an Error with name SnapError, its exit class, and the cause it was given", () => {
    const cause = new Error("EIO");
    const err = new SnapError("object_corrupt", "bad bytes", { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("SnapError");
    expect(err.exitCode).toBe(4);
    expect(err.cause).toBe(cause);
    expect(new SnapError("ref_locked", "held").exitCode).toBe(3);
    expect(new SnapError("invalid_argument", "bad").exitCode).toBe(2);
  });
});

describe("isSnapError", () => {
  it("recognizes SnapErrors, also structurally (another copy of this package), optionally by code", () => {
    const err = new SnapError("closed", "closed");
    expect(isSnapError(err)).toBe(true);
    expect(isSnapError(err, "closed")).toBe(true);
    expect(isSnapError(err, "io_error")).toBe(false);
    const fromOtherCopy = Object.assign(new Error("x"), { name: "SnapError", code: "io_error" });
    expect(isSnapError(fromOtherCopy, "io_error")).toBe(true);
  });

  it("rejects other errors, unknown codes and non-objects", () => {
    expect(isSnapError(new Error("x"))).toBe(false);
    expect(isSnapError(Object.assign(new Error("x"), { name: "SnapError", code: "no_such_code" }))).toBe(false);
    expect(isSnapError(null)).toBe(false);
    expect(isSnapError("SnapError")).toBe(false);
  });
});

describe("ERROR_CODES", () => {
  it("gives every code an exit class 1-4 and a one-line meaning, and names are snake_case", () => {
    expect(ERROR_CODE_LIST.length).toBeGreaterThan(0);
    for (const code of ERROR_CODE_LIST) {
      expect(code).toMatch(/^[a-z][a-z0-9_]*$/);
      expect([1, 2, 3, 4]).toContain(ERROR_CODES[code].exit);
      expect(ERROR_CODES[code].meaning).toMatch(/^[^\n]{10,}$/);
      expect(isErrorCode(code)).toBe(true);
    }
    expect(isErrorCode("toString")).toBe(false);
  });
});
