/** What machine produced the numbers: CPU, cores, memory, load, and tool versions. */
import { execFileSync } from 'node:child_process';
import { cpus, hostname, loadavg, release, totalmem } from 'node:os';
import { CHROMIUM } from './browsers.js';

function version(cmd: string, args: string[], pattern: RegExp): string | null {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    return pattern.exec(out)?.[1] ?? out.split('\n')[0]!.trim();
  } catch {
    return null;
  }
}

export interface MachineInfo {
  hostname: string;
  cpu_model: string;
  cores: number;
  memory_gb: number;
  kernel: string;
  load_average_at_start: number[];
  node: string;
  chromium: string | null;
  ffmpeg: string | null;
  xvfb: string | null;
  /** Debian package versions of the peers (null: not installed). */
  peers: Record<string, string | null>;
  started_at: string;
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    hostname: hostname(),
    cpu_model: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    load_average_at_start: loadavg().map((v) => Math.round(v * 100) / 100),
    node: process.version,
    chromium: version(CHROMIUM, ['--version'], /Chromium ([\d.]+)/),
    ffmpeg: version('ffmpeg', ['-version'], /ffmpeg version (\S+)/),
    xvfb: version('dpkg-query', ['-W', '-f', '${Version}', 'xvfb'], /(.+)/),
    peers: Object.fromEntries(['x11vnc', 'novnc', 'websockify', 'xpra'].map((p) => [p, version('dpkg-query', ['-W', '-f', '${Version}', p], /(.+)/)])),
    started_at: new Date().toISOString(),
  };
}
