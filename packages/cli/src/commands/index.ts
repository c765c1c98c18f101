/** Every command the program registers, in the order `snap --help` lists them. */
import type { CommandGroup, CommandSpec } from "../program.js";
import { historyCommands } from "./history.js";
import { journalGroup } from "./journal.js";
import { initCommand, maintenanceCommands } from "./maintenance.js";
import { refsCommands } from "./refs.js";
import { releaseCommands } from "./release.js";

export const COMMANDS: { top: CommandSpec[]; groups: CommandGroup[] } = {
  top: [initCommand, ...historyCommands, ...releaseCommands, ...refsCommands, ...maintenanceCommands],
  groups: [journalGroup],
};
