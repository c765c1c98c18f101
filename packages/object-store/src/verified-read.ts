/**
 * Verified streaming reads. Each chunk is hashed as it passes; the last chunk is held back
 * until the digest of everything has been compared with the oid, so a consumer never
 * receives the end of a corrupt object: the stream errors with object_corrupt first.
 * (cacache's integrity stream errors only after handing out every byte.)
 */
import { createOidHasher, SnapError } from "@snap/schema";

export async function* verifiedChunks(
  oid: string,
  chunks: AsyncIterable<Uint8Array>,
  onCorrupt: (actual: string) => void,
): AsyncGenerator<Uint8Array> {
  const hasher = createOidHasher();
  let held: Uint8Array | undefined;
  for await (const chunk of chunks) {
    if (chunk.byteLength === 0) continue;
    hasher.update(chunk);
    if (held !== undefined) yield held;
    held = chunk;
  }
  const actual = hasher.digest();
  if (actual !== oid) {
    onCorrupt(actual);
    throw corruptError(oid, actual);
  }
  if (held !== undefined) yield held;
}

export function corruptError(oid: string, actual: string): SnapError {
  return new SnapError("object_corrupt", `object ${oid} is corrupt: its bytes hash to ${actual}`, {
    data: { oid, actual_oid: actual },
    hint: "put the same content again to repair it, or restore it from a copy; `verify()` lists every corrupt object",
  });
}
