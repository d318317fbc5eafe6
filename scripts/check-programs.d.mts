/** Types for scripts/check-programs.mjs (imported by tests/repo/programs.test.ts). */
export interface ProgramEntry {
  name: string;
  package: string;
  for?: string;
  /** Why it is listed although nothing in src/, tests/, bench/ or scripts/ starts it. */
  indirect?: string;
}
export type BuildCheck = { program: string } | { header: string } | { pkgConfig: string };
export interface BuildEntry {
  package: string;
  for?: string;
  checks: BuildCheck[];
}
export interface ProgramList {
  programs: ProgramEntry[];
  build: BuildEntry[];
}
/** .ci/programs.json. */
export declare const LIST_PATH: string;
/** Reads and validates a program list; throws naming the entry that is wrong. */
export declare function readProgramList(path?: string): ProgramList;
/** Every Debian package the list names, each once, in list order. */
export declare function debianPackages(list: ProgramList): string[];
/** What this machine lacks of the list (empty: all there). */
export declare function checkList(list: ProgramList, listName?: string): { message: string; package: string; install: boolean }[];
