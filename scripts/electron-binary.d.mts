/** Types for scripts/electron-binary.mjs (imported by tests/main/electron-binary.test.ts). */
export declare const FETCH_FAILURE_MARKER: string;
/** What `npm start` found: a binary to run, or why it runs the web demo instead. */
export type ElectronOutcome = { path: string } | { skipped: string } | { failed: string };
export declare function installedElectron(pkgDir: string, env?: NodeJS.ProcessEnv): string | null;
export declare function downloadFailureReason(stderr: string, exitCode: number | null): string;
export declare function downloadElectron(
  pkgDir: string,
  options?: { env?: NodeJS.ProcessEnv; installScript?: string },
): Promise<{ ok: true } | { ok: false; reason: string }>;
export declare function findElectron(
  pkgDir: string,
  options?: { env?: NodeJS.ProcessEnv; onDownload?: () => void; installScript?: string },
): Promise<ElectronOutcome>;
export declare function webDemoNotice(outcome: { skipped: string } | { failed: string }): string;
