/**
 * Pipeline fingerprint: sha256 of the canonical JSON of a normalized pipeline definition.
 *
 * Normalization rules (each tested):
 * - Secrets are removed at every depth, by key name, case-insensitively and ignoring `_`, `-`
 *   and `.`: api_key, apikey, token, access_token, auth_token, refresh_token, password,
 *   passwd, pwd, secret, secret_key, client_secret, private_key, credential(s),
 *   authorization, cookie, session_token, bearer, and any key ending in apikey, token,
 *   secret, password, passwd, privatekey, credential or credentials. (`max_tokens` stays:
 *   it ends in "tokens", not "token".)
 * - Machine-local absolute paths are excluded: a string value that is an absolute filesystem
 *   path (`/x…`, `~/…`, `C:\…`, `C:/…`, `\\server\…`, `file://…`) is dropped with its key
 *   (or its array slot). Relative paths stay.
 * - Functions (and classes) become `{"function": name, "source_sha256": sha256(source)}`:
 *   two functions with different bodies give different fingerprints, a rename of a local
 *   variable too; whitespace-identical sources give equal ones.
 * - `undefined` members are dropped; Date -> ISO string; bigint -> decimal string; Map ->
 *   object (keys stringified); Set -> sorted array; typed arrays and Buffers -> sha256 hex;
 *   other class instances -> `{"object_type": constructor name, "state": own enumerable
 *   members}`; NaN/Infinity -> strings. A cycle throws `invalid_argument`.
 */
import { canonicalJson, oidOf, SnapError } from "@snap/schema";

const SECRET_EXACT = new Set([
  "apikey",
  "token",
  "accesstoken",
  "authtoken",
  "refreshtoken",
  "idtoken",
  "sessiontoken",
  "password",
  "passwd",
  "pwd",
  "passphrase",
  "secret",
  "secretkey",
  "clientsecret",
  "privatekey",
  "credential",
  "credentials",
  "authorization",
  "proxyauthorization",
  "cookie",
  "setcookie",
  "bearer",
  "xapikey",
]);
const SECRET_SUFFIX = ["apikey", "token", "secret", "password", "passwd", "privatekey", "credential", "credentials", "secretkey", "accesskey"];

/** True when a member named `key` holds a secret and is left out of the fingerprint. */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[-_.\s]/g, "");
  if (SECRET_EXACT.has(k)) return true;
  return SECRET_SUFFIX.some((s) => k.endsWith(s));
}

/** True when a string value is a machine-local absolute path. */
export function isMachineLocalPath(value: string): boolean {
  return (
    /^\/[^/]/.test(value) ||
    value.startsWith("~/") ||
    /^[A-Za-z]:[\\/]/.test(value) ||
    value.startsWith("\\\\") ||
    value.toLowerCase().startsWith("file://")
  );
}

const DROP = Symbol("drop");

/** The normalized, JSON-safe form of a pipeline definition (what is hashed). */
export function normalizePipeline(definition: unknown): unknown {
  const out = normalize(definition, new Set());
  return out === DROP ? null : out;
}

function normalize(value: unknown, seen: Set<object>): unknown {
  if (value === undefined) return DROP;
  if (value === null || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value)) ? value : String(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return isMachineLocalPath(value) ? DROP : value;
  if (typeof value === "symbol") return DROP;
  if (typeof value === "function") {
    return { function: value.name || "anonymous", source_sha256: oidOf(Function.prototype.toString.call(value)) };
  }
  const obj = value as object;
  if (seen.has(obj)) throw new SnapError("invalid_argument", "pipeline definition contains a cycle", { data: {} });
  seen.add(obj);
  try {
    if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? "Invalid Date" : obj.toISOString();
    if (ArrayBuffer.isView(obj)) return { bytes_sha256: oidOf(new Uint8Array(obj.buffer, obj.byteOffset, obj.byteLength)) };
    if (Array.isArray(obj)) {
      const arr: unknown[] = [];
      for (const item of obj) {
        const n = normalize(item, seen);
        if (n !== DROP) arr.push(n);
      }
      return arr;
    }
    if (obj instanceof Set) {
      const items = [...obj].map((x) => normalize(x, seen)).filter((x) => x !== DROP);
      return items.map((x) => [canonicalJson(x), x] as const).sort((p, q) => (p[0] < q[0] ? -1 : p[0] > q[0] ? 1 : 0)).map((p) => p[1]);
    }
    if (obj instanceof Map) return members([...obj.entries()].map(([k, v]) => [String(k), v]), seen);
    if (obj instanceof RegExp) return { regexp: obj.toString() };
    const proto = Object.getPrototypeOf(obj);
    const plain = proto === null || proto === Object.prototype;
    const state = members(Object.entries(obj), seen);
    if (plain) return state;
    const ctor = (proto as { constructor?: { name?: string } }).constructor;
    return { object_type: ctor?.name ?? "Object", state };
  } finally {
    seen.delete(obj);
  }
}

function members(entries: [string, unknown][], seen: Set<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) {
    if (isSecretKey(k)) continue;
    const n = normalize(v, seen);
    if (n !== DROP) out[k] = n;
  }
  return out;
}

/** The pipeline fingerprint: lowercase hex sha256 of the canonical JSON of the normalized definition. */
export function pipelineFingerprint(definition: unknown): string {
  return oidOf(canonicalJson(normalizePipeline(definition)));
}

/** A projection's config fingerprint: the same rules applied to its config. */
export function configFingerprint(config: unknown): string {
  return pipelineFingerprint(config);
}
