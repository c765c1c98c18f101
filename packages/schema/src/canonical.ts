/**
 * RFC 8785 JSON Canonicalization Scheme (JCS), strict.
 *
 * The canonical form of a value is ECMAScript's JSON.stringify of it with object members
 * sorted by the UTF-16 code units of their names, no whitespace, numbers written by
 * Number.prototype.toString (RFC 8785 §3.2.2.3) and strings escaped as JSON.stringify does
 * (§3.2.2.2). On top of JCS we refuse anything that would silently change meaning:
 * NaN/±Infinity, lone surrogates, undefined, functions, symbols, bigint, cycles, objects that
 * are not plain (Date, Map, class instances), and, unless `safeIntegers: false`, integers
 * beyond ±(2^53-1) (JCS itself writes any double; snap refuses integers other languages would
 * read back differently). -0 is written as 0, as JCS says.
 *
 * Written here rather than taken from npm: `canonicalize`'s current line needs Node 22 and is
 * ESM-only, and this package supports Node 20 and CommonJS.
 */
import { SnapError } from "./errors.js";

export interface CanonicalOptions {
  /** Refuse integers outside ±(2^53-1). Default true: the rule for every object snap stores. */
  safeIntegers?: boolean;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function escapePointerToken(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

function refuse(path: string, reason: string, message: string): never {
  throw new SnapError("canonical_json_invalid", `${message} at ${path === "" ? "the root" : path}`, {
    data: { path, reason },
    hint: "store only plain JSON: objects, arrays, strings, finite numbers, booleans and null",
  });
}

function encodeString(s: string, path: string, what: "string" | "key"): string {
  if (LONE_SURROGATE.test(s)) refuse(path, "lone_surrogate", `${what} holds a lone UTF-16 surrogate`);
  return JSON.stringify(s);
}

function encodeNumber(n: number, path: string, safeIntegers: boolean): string {
  if (!Number.isFinite(n)) refuse(path, "non_finite_number", `${String(n)} is not a JSON number`);
  if (safeIntegers && Number.isInteger(n) && !Number.isSafeInteger(n)) {
    refuse(path, "unsafe_integer", `integer ${String(n)} is beyond ±(2^53-1)`);
  }
  // Number.prototype.toString is the serialization RFC 8785 §3.2.2.3 specifies; it writes -0 as "0".
  return String(n);
}

function encode(value: unknown, path: string, safeIntegers: boolean, parents: Set<object>): string {
  switch (typeof value) {
    case "string":
      return encodeString(value, path, "string");
    case "number":
      return encodeNumber(value, path, safeIntegers);
    case "boolean":
      return value ? "true" : "false";
    case "undefined":
    case "function":
    case "symbol":
    case "bigint":
      return refuse(path, `unsupported_${typeof value}`, `${typeof value} is not a JSON value`);
  }
  if (value === null) return "null";
  const obj = value as object;
  if (parents.has(obj)) refuse(path, "cycle", "value refers to itself");
  parents.add(obj);
  let out: string;
  if (Array.isArray(obj)) {
    const parts: string[] = [];
    for (let i = 0; i < obj.length; i++) parts.push(encode(obj[i], `${path}/${i}`, safeIntegers, parents));
    out = `[${parts.join(",")}]`;
  } else {
    const proto: unknown = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      const name = (obj as { constructor?: { name?: unknown } }).constructor?.name;
      refuse(path, "non_plain_object", `${typeof name === "string" ? name : "object"} is not a plain object`);
    }
    if (Object.getOwnPropertySymbols(obj).length > 0) refuse(path, "symbol_key", "object has symbol keys");
    // Default sort compares UTF-16 code units, exactly the order RFC 8785 §3.2.3 requires.
    const keys = Object.keys(obj).sort();
    const parts: string[] = [];
    for (const key of keys) {
      const childPath = `${path}/${escapePointerToken(key)}`;
      const child = encode((obj as Record<string, unknown>)[key], childPath, safeIntegers, parents);
      parts.push(`${encodeString(key, childPath, "key")}:${child}`);
    }
    out = `{${parts.join(",")}}`;
  }
  parents.delete(obj);
  return out;
}

/** Thrown by the fast encoder at the first problem; the slow one then names it with its path. */
const NOT_PLAIN = Symbol("not plain JSON");

/**
 * The same text as `encode`, without building a JSON-pointer path for every value (most of
 * the cost for trees of thousands of entries): on any problem it throws NOT_PLAIN, and
 * `canonicalJson` runs `encode` to report it with its path.
 */
function encodeFast(value: unknown, safeIntegers: boolean, parents: Set<object>): string {
  switch (typeof value) {
    case "string":
      if (LONE_SURROGATE.test(value)) throw NOT_PLAIN;
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value) || (safeIntegers && Number.isInteger(value) && !Number.isSafeInteger(value))) throw NOT_PLAIN;
      return String(value);
    case "boolean":
      return value ? "true" : "false";
    case "object":
      break;
    default:
      throw NOT_PLAIN;
  }
  if (value === null) return "null";
  const obj = value as object;
  if (parents.has(obj)) throw NOT_PLAIN;
  parents.add(obj);
  let out: string;
  if (Array.isArray(obj)) {
    out = "[";
    for (let i = 0; i < obj.length; i++) out += (i === 0 ? "" : ",") + encodeFast(obj[i], safeIntegers, parents);
    out += "]";
  } else {
    const proto: unknown = Object.getPrototypeOf(obj);
    if ((proto !== Object.prototype && proto !== null) || Object.getOwnPropertySymbols(obj).length > 0) throw NOT_PLAIN;
    const keys = Object.keys(obj).sort();
    out = "{";
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (LONE_SURROGATE.test(key)) throw NOT_PLAIN;
      out += (i === 0 ? "" : ",") + JSON.stringify(key) + ":" + encodeFast((obj as Record<string, unknown>)[key], safeIntegers, parents);
    }
    out += "}";
  }
  parents.delete(obj);
  return out;
}

/** The RFC 8785 canonical JSON text of `value`. Throws SnapError `canonical_json_invalid` (data: path, reason). */
export function canonicalJson(value: unknown, options: CanonicalOptions = {}): string {
  const safeIntegers = options.safeIntegers ?? true;
  try {
    return encodeFast(value, safeIntegers, new Set());
  } catch (err) {
    if (err !== NOT_PLAIN) throw err;
    return encode(value, "", safeIntegers, new Set()); // throws, naming the path
  }
}

/** The UTF-8 bytes of `canonicalJson(value)`: what snap hashes and stores. */
export function canonicalBytes(value: unknown, options: CanonicalOptions = {}): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value, options));
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Parse bytes that must already be canonical JSON: valid UTF-8, valid JSON, no duplicate
 * member names, and byte-for-byte equal to their own canonical re-encoding. Throws SnapError
 * `canonical_json_invalid` with data.reason one of invalid_utf8, invalid_json, duplicate_key,
 * not_canonical (plus the refusals of canonicalJson).
 */
export function parseCanonical(input: Uint8Array | string, options: CanonicalOptions = {}): unknown {
  let text: string;
  if (typeof input === "string") {
    text = input;
  } else {
    try {
      text = strictUtf8.decode(input);
    } catch (cause) {
      throw new SnapError("canonical_json_invalid", "bytes are not valid UTF-8", {
        data: { path: "", reason: "invalid_utf8" },
        cause,
      });
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new SnapError("canonical_json_invalid", `not JSON: ${(cause as Error).message}`, {
      data: { path: "", reason: "invalid_json" },
      cause,
    });
  }
  const again = canonicalJson(parsed, options);
  if (again !== text) {
    const duplicate = findDuplicateKey(text);
    if (duplicate !== undefined) {
      throw new SnapError("canonical_json_invalid", `duplicate member name at ${duplicate}`, {
        data: { path: duplicate, reason: "duplicate_key" },
      });
    }
    let offset = 0;
    while (offset < text.length && text.charCodeAt(offset) === again.charCodeAt(offset)) offset++;
    throw new SnapError("canonical_json_invalid", `JSON is not in canonical form (first difference at character ${offset})`, {
      data: { path: "", reason: "not_canonical", offset },
      hint: "write structured objects with canonicalBytes()",
    });
  }
  return parsed;
}

interface ScanFrame {
  /** JSON Pointer of this object or array. */
  path: string;
  /** Member names seen so far; undefined for an array. */
  keys: Set<string> | undefined;
  /** Element index (arrays) or the pointer token of the current member (objects). */
  position: string;
  expectKey: boolean;
}

/**
 * The JSON Pointer of the first repeated member name in `text` (already known to be valid
 * JSON), or undefined. JSON.parse keeps the last duplicate silently; this scanner does not.
 */
export function findDuplicateKey(text: string): string | undefined {
  const stack: ScanFrame[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const top = stack[stack.length - 1];
    if (c === "{" || c === "[") {
      const path = top === undefined ? "" : `${top.path}/${top.position}`;
      const isObject = c === "{";
      stack.push({ path, keys: isObject ? new Set() : undefined, position: "0", expectKey: isObject });
    } else if (c === "}" || c === "]") {
      stack.pop();
    } else if (c === "," && top !== undefined) {
      if (top.keys === undefined) top.position = String(Number(top.position) + 1);
      else top.expectKey = true;
    } else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (top?.keys !== undefined && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        top.position = escapePointerToken(key);
        if (top.keys.has(key)) return `${top.path}/${top.position}`;
        top.keys.add(key);
        top.expectKey = false;
      }
      i = j;
    }
  }
  return undefined;
}
