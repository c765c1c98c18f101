/**
 * Trees: the label space of a manifest as a hierarchy of `tree` objects (one per directory
 * level, entries sorted by name), like git's trees. A snapshot with a million labels and one
 * change writes O(depth) new trees; two roots are compared by skipping equal subtree oids.
 *
 * Write order is children first: a tree object is published only after every object it
 * names, so "a tree is present" implies "its whole subtree is present" (GC keeps that true by
 * treating young objects as mark roots). That lets a writer skip any subtree whose oid the
 * store already has.
 */
import { canonicalBytes, isEntryName, oidOf, SnapError, type Tree, type TreeEntry } from "@snap/schema";
import type { ObjectStore } from "@snap/object-store";
import { assertLabel } from "./label.js";

/** The object-store calls the snapshot code makes (an ObjectStore, or a wrapper that counts). */
export type ObjectIO = Pick<
  ObjectStore,
  "putBytes" | "putStream" | "putFile" | "putObject" | "getBytes" | "getStream" | "getObject" | "has" | "stat" | "list"
>;

interface ArtifactSlot {
  kind: "artifact";
  oid: string;
  /** Read from a stored base tree (not set by a change). */
  fromBase?: true;
}
interface TreeSlot {
  kind: "tree";
  /** Known oid (clean, from a stored tree) or computed oid (after `seal`). */
  oid: string | undefined;
  /** Loaded / edited contents; undefined while the subtree is only known by oid. */
  node: MutableTree | undefined;
  dirty: boolean;
  /** The encoded tree between `seal` (which hashes it) and `persist` (which writes it). */
  bytes?: Uint8Array | undefined;
}
type Slot = ArtifactSlot | TreeSlot;

export interface MutableTree {
  entries: Map<string, Slot>;
}

/** The empty tree object and its oid. */
export const EMPTY_TREE: Tree = { type: "tree", schema_version: 1, entries: [] };
export const EMPTY_TREE_OID = oidOf(canonicalBytes(EMPTY_TREE));

/**
 * Reads a tree object: its bytes verified against `oid` by the object store, then decoded by
 * `decodeTree` (the tree schema's rules and the canonical-encoding check without zod or the
 * generic re-encoder: ~10x cheaper a tree). Bytes it declines go through the store's generic
 * decoder, which reports exactly what is wrong (or reads a newer schema_version it knows).
 */
export async function readTree(store: ObjectIO, oid: string): Promise<Tree> {
  const fast = decodeTree(await store.getBytes(oid));
  if (fast !== undefined) return fast;
  const obj = await store.getObject(oid);
  if (obj.type !== "tree") {
    throw new SnapError("object_invalid", `object ${oid} is a ${obj.type}, not a tree`, { data: { oid, type: obj.type } });
  }
  return obj as unknown as Tree;
}

const OID = /^[0-9a-f]{64}$/;

/**
 * Decodes the stored bytes of a version 1 tree, or returns undefined when they are anything
 * else (another type or version, invalid, or not canonical). Accepts exactly what the tree
 * schema and the canonical encoding accept: entry names (isEntryName) strictly increasing,
 * kinds, oids, and bytes equal to `encodeTree` of the parsed entries (which also rules out
 * any member the schema does not have, and invalid UTF-8).
 */
export function decodeTree(bytes: Uint8Array): Tree | undefined {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { type, schema_version: version, entries } = parsed as { type?: unknown; schema_version?: unknown; entries?: unknown };
  if (type !== "tree" || version !== 1 || !Array.isArray(entries)) return undefined;
  let prev: string | undefined;
  for (const e of entries as unknown[]) {
    if (typeof e !== "object" || e === null) return undefined;
    const { name, kind, oid } = e as { name?: unknown; kind?: unknown; oid?: unknown };
    if (kind !== "artifact" && kind !== "tree") return undefined;
    if (typeof name !== "string" || !isEntryName(name) || (prev !== undefined && !(prev < name))) return undefined;
    if (typeof oid !== "string" || !OID.test(oid)) return undefined;
    prev = name;
  }
  const again = encodeTree(entries as TreeEntry[]);
  return again !== undefined && buf.equals(again) ? (parsed as Tree) : undefined;
}

function treeObject(node: MutableTree): Tree {
  const names = [...node.entries.keys()].sort(compareNames);
  const entries: TreeEntry[] = [];
  for (const name of names) {
    const slot = node.entries.get(name) as Slot;
    if (slot.oid === undefined) throw new SnapError("internal", `tree entry ${name} has no oid`);
    entries.push({ name, kind: slot.kind, oid: slot.oid });
  }
  return { type: "tree", schema_version: 1, entries };
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * The canonical JSON bytes of a tree with these entries (sorted, valid), written directly: a
 * tree's shape is fixed (keys entries < schema_version < type; kind < name < oid), so the
 * generic encoder's key sorting and checks are not needed (~2.5 µs an entry there: 25 ms to
 * seal 10k labels). Undefined when a name holds a surrogate code unit: the generic encoder
 * decides those (it refuses lone ones). A test checks it against the generic encoder on
 * random names.
 */
export function encodeTree(entries: readonly TreeEntry[]): Buffer | undefined {
  let out = '{"entries":[';
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as TreeEntry;
    if (SURROGATE.test(e.name)) return undefined;
    out += `${i === 0 ? "" : ","}{"kind":"${e.kind}","name":${JSON.stringify(e.name)},"oid":"${e.oid}"}`;
  }
  return Buffer.from(`${out}],"schema_version":1,"type":"tree"}`, "utf8");
}

/** The canonical JSON bytes of `treeObject(node)` (what a tree's oid is the hash of). */
export function treeBytes(node: MutableTree): Uint8Array {
  const tree = treeObject(node);
  return encodeTree(tree.entries) ?? canonicalBytes(tree);
}

/** Tree entries sort by UTF-16 code units, the order canonical JSON uses for keys. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A change to apply to a tree: a label set to an artifact oid, or removed (`null`). */
export type TreeChanges = Iterable<readonly [label: string, artifactOid: string | null]>;

export interface TreeWriteResult {
  /** Root tree oid. */
  root: string;
  /** Tree oids this call published (new objects). */
  written: string[];
  /** Tree oids the store already had, whose subtrees were therefore skipped. */
  present: string[];
  /** Tree oids read from the base. */
  read: number;
  /**
   * Artifact oids the changes placed in the trees this call wrote (what a caller must know
   * exist). Entries carried over unchanged from the base tree are not listed: they exist as
   * long as the base root does, which the caller keeps reachable (a commit checks under its
   * lock that the parent snapshot is still the branch head).
   */
  artifactsInWritten: string[];
}

/**
 * Applies `changes` to the tree at `baseRoot` (or to an empty tree) and writes the new trees.
 * Reads O(changes x depth) base trees and writes at most that many new ones.
 * Label conflicts (`a` as an artifact and `a/b`) throw `label_invalid`.
 */
export async function updateTree(
  store: ObjectIO,
  baseRoot: string | undefined,
  changes: TreeChanges,
  options: { labelsChecked?: boolean } = {},
): Promise<TreeWriteResult> {
  const check = options.labelsChecked !== true;
  let read = 0;
  const load = async (slot: TreeSlot): Promise<MutableTree> => {
    if (slot.node) return slot.node;
    const node: MutableTree = { entries: new Map() };
    if (slot.oid !== undefined && slot.oid !== EMPTY_TREE_OID) {
      read++;
      const tree = await readTree(store, slot.oid);
      for (const e of tree.entries) {
        node.entries.set(e.name, e.kind === "artifact" ? { kind: "artifact", oid: e.oid, fromBase: true } : { kind: "tree", oid: e.oid, node: undefined, dirty: false });
      }
    }
    slot.node = node;
    return node;
  };
  const root: TreeSlot = { kind: "tree", oid: baseRoot, node: undefined, dirty: true };
  for (const [label, oid] of changes) {
    if (check) assertLabel(label); // a build transaction checked each label when it was recorded
    const segments = label.split("/");
    let slot = root;
    const path: TreeSlot[] = [root];
    let missing = false;
    for (let i = 0; i < segments.length - 1; i++) {
      const node = slot.node ?? (await load(slot));
      const name = segments[i] as string;
      let next = node.entries.get(name);
      if (next === undefined) {
        if (oid === null) {
          missing = true;
          break;
        }
        next = { kind: "tree", oid: undefined, node: { entries: new Map() }, dirty: true };
        node.entries.set(name, next);
      } else if (next.kind === "artifact") {
        if (oid === null) {
          missing = true;
          break;
        }
        conflict(label, segments.slice(0, i + 1).join("/"));
      }
      slot = next as TreeSlot;
      path.push(slot);
    }
    if (missing) continue;
    const node = slot.node ?? (await load(slot));
    const leaf = segments[segments.length - 1] as string;
    const existing = node.entries.get(leaf);
    if (oid === null) {
      if (existing === undefined || existing.kind === "tree") continue;
      node.entries.delete(leaf);
    } else {
      // A directory whose labels this change set removed (a directory became a file) is gone.
      if (existing?.kind === "tree" && !emptied(existing)) conflict(label, label);
      if (existing?.kind === "artifact" && existing.oid === oid) continue;
      node.entries.set(leaf, { kind: "artifact", oid });
    }
    for (const p of path) p.dirty = true;
  }
  if (!root.node) await load(root);
  seal(root);
  const written: string[] = [];
  const present: string[] = [];
  const artifactsInWritten: string[] = [];
  await persist(store, root, written, present, artifactsInWritten);
  return { root: root.oid as string, written, present, read, artifactsInWritten };
}

/** A subtree loaded in this call that holds no artifact any more (seal would prune it). */
function emptied(slot: TreeSlot): boolean {
  if (slot.node === undefined) return slot.oid === EMPTY_TREE_OID;
  for (const child of slot.node.entries.values()) if (child.kind === "artifact" || !emptied(child)) return false;
  return true;
}

function conflict(label: string, at: string): never {
  throw new SnapError("label_invalid", `label ${JSON.stringify(label)} conflicts with ${JSON.stringify(at)}: one name cannot be both an artifact and a directory`, {
    data: { label, conflicts_with: at, reason: "artifact/directory conflict" },
  });
}

/** Computes oids of dirty trees bottom-up (in memory) and prunes emptied subtrees. */
function seal(slot: TreeSlot): void {
  if (!slot.dirty || !slot.node) return;
  for (const [name, child] of slot.node.entries) {
    if (child.kind === "tree" && child.dirty) {
      seal(child);
      if (child.node && child.node.entries.size === 0) slot.node.entries.delete(name);
    }
  }
  slot.bytes = treeBytes(slot.node);
  slot.oid = oidOf(slot.bytes);
}

/** Children first: a tree is published only after every tree it names exists. */
async function persist(store: ObjectIO, slot: TreeSlot, written: string[], present: string[], artifacts: string[]): Promise<void> {
  if (!slot.dirty || !slot.node) return;
  const oid = slot.oid as string;
  if (await store.has(oid)) {
    slot.bytes = undefined;
    present.push(oid);
    return;
  }
  for (const child of slot.node.entries.values()) {
    if (child.kind === "tree") await persist(store, child, written, present, artifacts);
    else if (child.fromBase !== true) artifacts.push(child.oid);
  }
  // The bytes seal hashed (encodeTree's, checked against the generic encoder by a test).
  const result = await store.putBytes(slot.bytes as Uint8Array);
  slot.bytes = undefined;
  if (result.oid !== oid) throw new SnapError("internal", `tree oid ${result.oid} differs from the computed ${oid}`);
  if (result.created) written.push(oid);
}

/**
 * Builds and writes the tree for a complete label -> artifact oid map. Every tree oid is
 * computed in memory; only trees the store does not have are written (children first), and
 * a present tree's subtree is skipped, so a re-commit with few changes writes O(changes x depth).
 */
export async function writeTree(store: ObjectIO, labels: Iterable<readonly [string, string]>): Promise<TreeWriteResult> {
  return updateTree(store, undefined, labels);
}

/** The entry at `label` under `root`: an artifact, a subtree, or undefined. */
export async function lookupLabel(store: ObjectIO, root: string, label: string): Promise<TreeEntry | undefined> {
  assertLabel(label);
  const segments = label.split("/");
  let oid = root;
  for (let i = 0; i < segments.length; i++) {
    const tree = await readTree(store, oid);
    const entry = findEntry(tree.entries, segments[i] as string);
    if (entry === undefined) return undefined;
    if (i === segments.length - 1) return entry;
    if (entry.kind !== "tree") return undefined;
    oid = entry.oid;
  }
  return undefined;
}

/** Binary search in sorted entries. */
export function findEntry(entries: readonly TreeEntry[], name: string): TreeEntry | undefined {
  let lo = 0;
  let hi = entries.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const e = entries[mid] as TreeEntry;
    if (e.name === name) return e;
    if (e.name < name) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/** Every artifact under `root` as [label, artifact oid], in label-segment order. */
export async function* walkTree(store: ObjectIO, root: string, prefix = ""): AsyncGenerator<[string, string]> {
  const tree = await readTree(store, root);
  for (const e of tree.entries) {
    const label = prefix === "" ? e.name : `${prefix}/${e.name}`;
    if (e.kind === "artifact") yield [label, e.oid];
    else yield* walkTree(store, e.oid, label);
  }
}

/** Every tree oid under (and including) `root`, with each artifact oid: for GC and fsck. */
export async function collectTree(store: ObjectIO, root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const [label, oid] of walkTree(store, root)) out.set(label, oid);
  return out;
}
