import { readdir } from "node:fs/promises";

/** Every `.tmp-*` name under the objects directory (fan-out dirs and the staging dir). */
export async function debrisUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true })) {
    const name = entry.split("/").pop() ?? "";
    if (name.startsWith(".tmp-")) out.push(entry);
  }
  return out;
}
