import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isSnapError } from "../src/errors.js";
import { assertOid, createOidHasher, isOid, oidOf, shortOid } from "../src/oid.js";

const EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isSnapError(err) ? err.code : "not a SnapError";
  }
  return undefined;
}

describe("oidOf", () => {
  it("is the lowercase hex sha256 of the bytes (FIPS 180-2 vectors)", () => {
    expect(oidOf(new Uint8Array())).toBe(EMPTY);
    expect(oidOf(Buffer.from("abc"))).toBe(ABC);
  });

  it("hashes a string as its UTF-8 bytes", () => {
    expect(oidOf("é€😂")).toBe(oidOf(Buffer.from("é€😂", "utf8")));
    expect(oidOf("abc")).toBe(ABC);
  });
});

describe("isOid / assertOid", () => {
  it("accepts exactly 64 lowercase hex characters", () => {
    expect(isOid(ABC)).toBe(true);
    expect(() => assertOid(ABC)).not.toThrow();
  });

  it.each([
    ["uppercase hex", ABC.toUpperCase()],
    ["63 characters", ABC.slice(1)],
    ["65 characters", `${ABC}0`],
    ["a non-hex character", `g${ABC.slice(1)}`],
    ["surrounding whitespace", ` ${ABC.slice(1)}`],
    ["a trailing newline", `${ABC}\n`],
    ["the empty string", ""],
    ["a number", 42],
    ["null", null],
  ])("refuses %s with oid_invalid", (_what, value) => {
    expect(isOid(value)).toBe(false);
    expect(codeOf(() => assertOid(value))).toBe("oid_invalid");
  });

  it("names what was wrong in the error", () => {
    try {
      assertOid("nope", "content_oid");
      expect.unreachable();
    } catch (err) {
      expect(isSnapError(err, "oid_invalid")).toBe(true);
      expect((err as Error).message).toContain("content_oid");
      expect((err as { data: unknown }).data).toEqual({ value: "nope", type: "string" });
    }
  });
});

describe("shortOid", () => {
  it("abbreviates to 12 characters by default, or to n", () => {
    expect(shortOid(ABC)).toBe("ba7816bf8f01");
    expect(shortOid(ABC, 7)).toBe("ba7816b");
    expect(shortOid(ABC, 64)).toBe(ABC);
  });

  it("refuses a non-oid and an out-of-range length", () => {
    expect(codeOf(() => shortOid("abc"))).toBe("oid_invalid");
    expect(codeOf(() => shortOid(ABC, 3))).toBe("invalid_argument");
    expect(codeOf(() => shortOid(ABC, 65))).toBe("invalid_argument");
    expect(codeOf(() => shortOid(ABC, 7.5))).toBe("invalid_argument");
  });
});

describe("createOidHasher", () => {
  it("gives the same oid for any chunking of the same bytes, and counts them", () => {
    const data = randomBytes(1 << 20);
    const expected = createHash("sha256").update(data).digest("hex");
    for (const chunkSize of [1 << 20, 65536, 4099, 7]) {
      const hasher = createOidHasher();
      for (let i = 0; i < data.length; i += chunkSize) hasher.update(data.subarray(i, i + chunkSize));
      expect(hasher.bytes).toBe(data.length);
      expect(hasher.digest()).toBe(expected);
    }
  });

  it("accepts strings as UTF-8 and chains", () => {
    const hasher = createOidHasher().update("a").update(Buffer.from("b")).update("c");
    expect(hasher.bytes).toBe(3);
    expect(hasher.digest()).toBe(ABC);
    const utf8 = createOidHasher().update("é");
    expect(utf8.bytes).toBe(2);
  });

  it("of nothing is the empty oid", () => {
    expect(createOidHasher().digest()).toBe(EMPTY);
  });

  it("refuses use after digest() with closed", () => {
    const hasher = createOidHasher();
    hasher.digest();
    expect(codeOf(() => hasher.update("x"))).toBe("closed");
    expect(codeOf(() => hasher.digest())).toBe("closed");
  });
});
