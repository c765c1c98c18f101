import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { canonicalBytes, canonicalJson, findDuplicateKey, parseCanonical } from "../src/canonical.js";
import { isSnapError, type SnapError } from "../src/errors.js";

const FIXTURES = join(import.meta.dirname, "fixtures", "jcs");
const VECTORS = readdirSync(join(FIXTURES, "input")).filter((f) => f.endsWith(".json"));

/** The SnapError `fn` throws (fails the test when it throws nothing or something else). */
function thrown(fn: () => unknown): SnapError {
  try {
    fn();
  } catch (err) {
    if (isSnapError(err)) return err;
    throw err;
  }
  throw new Error("expected a SnapError, nothing was thrown");
}

function double(bits: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${bits}`));
  return view.getFloat64(0);
}

describe("RFC 8785 published test vectors (cyberphone/json-canonicalization testdata)", () => {
  it("ships all six vectors", () => {
    expect(VECTORS.sort()).toEqual(["arrays.json", "french.json", "structures.json", "unicode.json", "values.json", "weird.json"]);
  });

  it.each(VECTORS)("%s: input canonicalizes to exactly the published output bytes", (name) => {
    const input = readFileSync(join(FIXTURES, "input", name), "utf8");
    const expected = readFileSync(join(FIXTURES, "output", name));
    const bytes = canonicalBytes(JSON.parse(input), { safeIntegers: false });
    expect(Buffer.from(bytes).equals(expected)).toBe(true);
  });

  it.each(VECTORS)("%s: the published output is accepted by parseCanonical, the input refused", (name) => {
    const input = readFileSync(join(FIXTURES, "input", name));
    const output = readFileSync(join(FIXTURES, "output", name));
    expect(parseCanonical(output, { safeIntegers: false })).toEqual(JSON.parse(output.toString("utf8")));
    expect(thrown(() => parseCanonical(input, { safeIntegers: false })).data.reason).toBe("not_canonical");
  });

  it("values.json is refused under the default safeIntegers rule: 1E30 is an integer beyond 2^53-1", () => {
    const input = readFileSync(join(FIXTURES, "input", "values.json"), "utf8");
    const err = thrown(() => canonicalJson(JSON.parse(input)));
    expect(err.code).toBe("canonical_json_invalid");
    expect(err.data).toEqual({ path: "/numbers/0", reason: "unsafe_integer" });
  });
});

describe("RFC 8785 Appendix B number serialization", () => {
  const table: [string, string][] = [
    ["0000000000000000", "0"],
    ["8000000000000000", "0"],
    ["0000000000000001", "5e-324"],
    ["8000000000000001", "-5e-324"],
    ["7fefffffffffffff", "1.7976931348623157e+308"],
    ["ffefffffffffffff", "-1.7976931348623157e+308"],
    ["4340000000000000", "9007199254740992"],
    ["c340000000000000", "-9007199254740992"],
    ["4430000000000000", "295147905179352830000"],
    ["44b52d02c7e14af5", "9.999999999999997e+22"],
    ["44b52d02c7e14af6", "1e+23"],
    ["44b52d02c7e14af7", "1.0000000000000001e+23"],
    ["444b1ae4d6e2ef4e", "999999999999999700000"],
    ["444b1ae4d6e2ef4f", "999999999999999900000"],
    ["444b1ae4d6e2ef50", "1e+21"],
    ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
    ["3eb0c6f7a0b5ed8d", "0.000001"],
    ["41b3de4355555553", "333333333.3333332"],
    ["41b3de4355555554", "333333333.33333325"],
    ["41b3de4355555555", "333333333.3333333"],
    ["41b3de4355555556", "333333333.3333334"],
    ["41b3de4355555557", "333333333.33333343"],
    ["becbf647612f3696", "-0.0000033333333333333333"],
    ["43143ff3c1cb0959", "1424953923781206.2"],
  ];

  it.each(table)("0x%s serializes as %s", (bits, expected) => {
    expect(canonicalJson(double(bits), { safeIntegers: false })).toBe(expected);
    expect(canonicalJson({ n: double(bits) }, { safeIntegers: false })).toBe(`{"n":${expected}}`);
  });

  it.each([
    ["7fffffffffffffff", "NaN"],
    ["7ff0000000000000", "Infinity"],
    ["fff0000000000000", "-Infinity"],
  ])("0x%s (%s) is refused", (bits) => {
    const err = thrown(() => canonicalJson(double(bits), { safeIntegers: false }));
    expect(err.data.reason).toBe("non_finite_number");
  });
});

describe("RFC 8785 §3.2.3 member sorting by UTF-16 code units", () => {
  it("orders the RFC's example names: \\r, 1, U+0080, ö, €, U+1F600 (a surrogate pair), U+FB33", () => {
    const value = {
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control\u007f",
      "\u00f6": "Latin Small Letter O With Diaeresis",
    };
    expect(canonicalJson(value)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control\u007f","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it("sorts an astral character before U+FFFD although its UTF-8 bytes sort after", () => {
    expect(canonicalJson({ "\ufffd": 1, "\ud83d\ude00": 2 })).toBe('{"\ud83d\ude00":2,"\ufffd":1}');
  });
});

describe("canonicalJson normalization", () => {
  it("writes -0 as 0, at the root and nested", () => {
    expect(canonicalJson(-0)).toBe("0");
    expect(canonicalJson({ a: [-0] })).toBe('{"a":[0]}');
  });

  it("accepts the largest safe integers and refuses the next ones by default", () => {
    expect(canonicalJson([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER])).toBe("[9007199254740991,-9007199254740991]");
    expect(thrown(() => canonicalJson({ a: 2 ** 53 })).data).toEqual({ path: "/a", reason: "unsafe_integer" });
    expect(thrown(() => canonicalJson({ a: -(2 ** 53) })).data).toEqual({ path: "/a", reason: "unsafe_integer" });
    expect(canonicalJson(2 ** 53, { safeIntegers: false })).toBe("9007199254740992");
  });

  it("keeps non-integers of any magnitude (safeIntegers concerns integers only)", () => {
    expect(canonicalJson([0.1, 1.5e-300, -2.5])).toBe("[0.1,1.5e-300,-2.5]");
  });

  it("escapes control characters as JSON.stringify does and leaves other characters raw", () => {
    expect(canonicalJson("\b\t\n\f\r\u0000\u001f\"\\/\u007f\u2028é")).toBe('"\\b\\t\\n\\f\\r\\u0000\\u001f\\"\\\\/\u007f\u2028é"');
  });

  it("accepts objects without a prototype and valid surrogate pairs", () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare.b = 1;
    bare.a = "\ud83d\ude02";
    expect(canonicalJson(bare)).toBe('{"a":"\ud83d\ude02","b":1}');
  });

  it("produces the UTF-8 encoding of the text as bytes", () => {
    expect(Array.from(canonicalBytes({ "é": "€" }))).toEqual(Array.from(Buffer.from('{"é":"€"}', "utf8")));
  });

  it("is independent of insertion order", () => {
    expect(canonicalJson({ b: { y: 1, x: 2 }, a: 0 })).toBe(canonicalJson({ a: 0, b: { x: 2, y: 1 } }));
  });
});

describe("canonicalJson strictness: values JCS cannot represent faithfully are refused with their JSON path", () => {
  class Point {
    x = 1;
  }
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const withSymbolKey = { a: 1, [Symbol("s")]: 2 };
  // index 1 is a hole
  const sparse = [1, , 3];

  it.each<[string, unknown, string, string]>([
    ["NaN", { n: Number.NaN }, "/n", "non_finite_number"],
    ["Infinity", [Number.POSITIVE_INFINITY], "/0", "non_finite_number"],
    ["-Infinity", Number.NEGATIVE_INFINITY, "", "non_finite_number"],
    ["a lone high surrogate in a string", { s: "a\ud800b" }, "/s", "lone_surrogate"],
    ["a lone low surrogate in a string", ["\udc00"], "/0", "lone_surrogate"],
    ["a lone surrogate in a key", { "k\ud83d": 1 }, "/k\ud83d", "lone_surrogate"],
    ["undefined at the root", undefined, "", "unsupported_undefined"],
    ["undefined as a member", { a: { b: undefined } }, "/a/b", "unsupported_undefined"],
    ["a hole in a sparse array", { list: sparse }, "/list/1", "unsupported_undefined"],
    ["a function", { f: () => 1 }, "/f", "unsupported_function"],
    ["a symbol", [Symbol("x")], "/0", "unsupported_symbol"],
    ["a bigint", { big: 1n }, "/big", "unsupported_bigint"],
    ["a Date", { when: new Date(0) }, "/when", "non_plain_object"],
    ["a Map", { m: new Map() }, "/m", "non_plain_object"],
    ["a class instance", { p: new Point() }, "/p", "non_plain_object"],
    ["a typed array", { b: new Uint8Array(2) }, "/b", "non_plain_object"],
    ["a cycle", cyclic, "/self", "cycle"],
    ["a symbol key", withSymbolKey, "", "symbol_key"],
    ["an integer beyond 2^53-1", { "a/b": { "c~d": 2 ** 60 } }, "/a~1b/c~0d", "unsafe_integer"],
  ])("refuses %s", (_what, value, path, reason) => {
    const err = thrown(() => canonicalJson(value));
    expect(err.code).toBe("canonical_json_invalid");
    expect(err.data).toEqual({ path, reason });
  });

  it("allows the same object twice when it is not a cycle", () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
  });
});

describe("parseCanonical", () => {
  it("returns the value of canonical bytes and accepts a string", () => {
    const text = '{"a":[1,"x",null,true],"b":{"c":0.5}}';
    expect(parseCanonical(Buffer.from(text))).toEqual({ a: [1, "x", null, true], b: { c: 0.5 } });
    expect(parseCanonical(text)).toEqual({ a: [1, "x", null, true], b: { c: 0.5 } });
  });

  it.each([
    ['{"a":1,"a":1}', "/a"],
    ['{"a":1,"a":2}', "/a"],
    ['{"a":1,"\\u0061":2}', "/a"],
    ['{"x":[{"b":1},{"b":1,"b":2}]}', "/x/1/b"],
    ['{"a":"}\\"{","b":{"a":1},"a/b":2,"a/b":3}', "/a~1b"],
  ])("refuses duplicate member names that JSON.parse would silently merge: %s", (text, path) => {
    const err = thrown(() => parseCanonical(Buffer.from(text)));
    expect(err.code).toBe("canonical_json_invalid");
    expect(err.data).toEqual({ path, reason: "duplicate_key" });
  });

  it.each([
    ["whitespace", '{"a": 1}'],
    ["unsorted members", '{"b":1,"a":2}'],
    ["a non-shortest number", '{"a":1.0}'],
    ["an exponent form JCS does not use", "[1E3]"],
    ["a needless escape", '["\\u0041"]'],
    ["an escaped slash", '["\\/"]'],
    ["a trailing newline", "[1]\n"],
    ["a number that does not round-trip", "[333333333.33333329]"],
  ])("refuses JSON that is valid but not canonical: %s", (_what, text) => {
    const err = thrown(() => parseCanonical(Buffer.from(text, "utf8")));
    expect(err.data.reason).toBe("not_canonical");
    expect(typeof err.data.offset).toBe("number");
  });

  it("refuses invalid UTF-8 before parsing", () => {
    const err = thrown(() => parseCanonical(Uint8Array.from([0x22, 0xff, 0x22])));
    expect(err.data.reason).toBe("invalid_utf8");
  });

  it("refuses text that is not JSON, including a leading byte-order mark", () => {
    expect(thrown(() => parseCanonical("{a:1}")).data.reason).toBe("invalid_json");
    expect(thrown(() => parseCanonical(Buffer.from("\ufeff[1]", "utf8"))).data.reason).toBe("invalid_json");
    expect(thrown(() => parseCanonical("")).data.reason).toBe("invalid_json");
  });

  it("refuses escaped lone surrogates, which JSON.parse accepts", () => {
    expect(thrown(() => parseCanonical('["\\ud800"]')).data).toEqual({ path: "/0", reason: "lone_surrogate" });
  });

  it("applies safeIntegers by default and can be relaxed", () => {
    expect(thrown(() => parseCanonical("[9007199254740992]")).data.reason).toBe("unsafe_integer");
    expect(parseCanonical("[9007199254740992]", { safeIntegers: false })).toEqual([2 ** 53]);
  });

  it("round-trips random JSON values: parseCanonical(canonicalBytes(v)) equals v", () => {
    let seed = 0x9e3779b9;
    const rand = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    const chars = ["a", "B", "é", "€", "\u0000", "\n", '"', "\\", "\ud83d\ude02", "\u2028", "/", "~", "1"];
    const randString = (): string => Array.from({ length: Math.floor(rand() * 6) }, () => chars[Math.floor(rand() * chars.length)]).join("");
    const randValue = (depth: number): unknown => {
      const r = rand();
      if (depth > 3 || r < 0.3) {
        const leaf = Math.floor(rand() * 6);
        if (leaf === 0) return null;
        if (leaf === 1) return rand() < 0.5;
        if (leaf === 2) return Math.floor((rand() - 0.5) * 2 ** 53);
        if (leaf === 3) return (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20);
        return randString();
      }
      if (r < 0.6) return Array.from({ length: Math.floor(rand() * 4) }, () => randValue(depth + 1));
      const obj: Record<string, unknown> = {};
      for (let i = Math.floor(rand() * 5); i > 0; i--) obj[randString()] = randValue(depth + 1);
      return obj;
    };
    const LOOSE = { safeIntegers: false };
    for (let i = 0; i < 2000; i++) {
      const value = randValue(0);
      const bytes = canonicalBytes(value, LOOSE);
      expect(parseCanonical(bytes, LOOSE)).toEqual(JSON.parse(JSON.stringify(value)));
      expect(canonicalJson(JSON.parse(Buffer.from(bytes).toString("utf8")), LOOSE)).toBe(Buffer.from(bytes).toString("utf8"));
    }
  });
});

describe("findDuplicateKey", () => {
  it("finds nothing in documents without duplicates, including equal names in different objects", () => {
    expect(findDuplicateKey('{"a":{"a":1},"b":[{"a":1},{"a":2}],"c":"\\"a\\""}')).toBeUndefined();
    expect(findDuplicateKey("[1,2,3]")).toBeUndefined();
  });
});
