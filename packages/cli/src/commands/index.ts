/** Every command the program registers, in the order `snap --help` lists them. */
import type { CommandGroup, CommandSpec } from "../program.js";
import { journalGroup } from "./journal.js";

export const COMMANDS: { top: CommandSpec[]; groups: CommandGroup[] } = {
  top: [],
  groups: [journalGroup],
};
