/**
 * Human output: colour (only when enabled), aligned tables, short oids, relative times and
 * byte sizes. Nothing here decides whether colour is on; `Output` does (TTY, NO_COLOR,
 * --no-color, --json).
 */
import { shortOid as schemaShortOid } from "@snap/schema";

export interface Colors {
  readonly enabled: boolean;
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

function sgr(open: number, close: number, enabled: boolean): (s: string) => string {
  return enabled ? (s) => `\u001b[${open}m${s}\u001b[${close}m` : (s) => s;
}

export function createColors(enabled: boolean): Colors {
  return {
    enabled,
    bold: sgr(1, 22, enabled),
    dim: sgr(2, 22, enabled),
    red: sgr(31, 39, enabled),
    green: sgr(32, 39, enabled),
    yellow: sgr(33, 39, enabled),
    cyan: sgr(36, 39, enabled),
  };
}

// eslint-disable-next-line no-control-regex
const ANSI_PATTERN = /\u001b\[[0-9;]*m/g;

/** The printed width of a string, ignoring colour escapes. */
export function visibleWidth(s: string): number {
  return [...s.replace(ANSI_PATTERN, "")].length;
}

/** The 12-character abbreviation of an oid; anything that is not an oid is returned as is. */
export function shortOid(oid: string, n = 12): string {
  return /^[0-9a-f]{64}$/.test(oid) ? schemaShortOid(oid, n) : oid;
}

export type Align = "left" | "right";

/**
 * Rows as aligned columns separated by two spaces; the last column is not padded. With a
 * header, the header row is printed first (bold when colour is on).
 */
export function formatTable(rows: readonly (readonly string[])[], options: { header?: readonly string[]; align?: readonly Align[]; colors?: Colors } = {}): string {
  const all = options.header === undefined ? rows : [options.header, ...rows];
  if (all.length === 0) return "";
  const columns = Math.max(...all.map((r) => r.length));
  const widths: number[] = [];
  for (let c = 0; c < columns; c++) widths.push(Math.max(...all.map((r) => visibleWidth(r[c] ?? ""))));
  const lines = all.map((row, i) => {
    const cells = row.map((cell, c) => {
      const pad = " ".repeat((widths[c] ?? 0) - visibleWidth(cell));
      if (c === row.length - 1 && options.align?.[c] !== "right") return cell;
      return options.align?.[c] === "right" ? pad + cell : cell + pad;
    });
    const line = cells.join("  ").trimEnd();
    return i === 0 && options.header !== undefined && options.colors !== undefined ? options.colors.bold(line) : line;
  });
  return `${lines.join("\n")}\n`;
}

const UNITS: [number, string][] = [
  [365 * 24 * 3600, "year"],
  [30 * 24 * 3600, "month"],
  [7 * 24 * 3600, "week"],
  [24 * 3600, "day"],
  [3600, "hour"],
  [60, "minute"],
  [1, "second"],
];

/** "3 minutes ago", "just now", "in 2 hours" (clock skew), relative to `now`. */
export function relativeTime(iso: string, now: number = Date.now()): string {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return iso;
  const seconds = Math.round((now - then) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 5) return "just now";
  for (const [size, unit] of UNITS) {
    if (abs >= size) {
      const n = Math.floor(abs / size);
      const text = `${n} ${unit}${n === 1 ? "" : "s"}`;
      return seconds >= 0 ? `${text} ago` : `in ${text}`;
    }
  }
  return "just now";
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[i]}`;
}

/** "1 object", "3 objects". */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
