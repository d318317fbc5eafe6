/**
 * A shaped link for tests (issue 12 §3): a network namespace for the client
 * end, joined to the root namespace by a veth pair, with a token-bucket
 * rate cap on what the root side sends into it and random loss on what
 * arrives there. Everything the test sends stays on this pair: the /30 is
 * routed to the veth only, and the namespace has no other way out.
 *
 * What lives where, and why:
 * - the cap is a `tbf` qdisc on the root side's veth (the host's egress):
 *   only a sender-side qdisc queues, and queueing (delay growing, then tail
 *   drop) is what a real bottleneck does and what the receiver's
 *   delay-based estimate reacts to;
 * - the loss is an nftables table *inside* the namespace (the client's
 *   ingress): it drops the same packets in the same direction, touches no
 *   root-namespace firewall, and dies with the namespace if a run crashes;
 * - this kernel has no netem (ENVIRONMENT.md), so there is no delay here:
 *   the path's RTT is the veth's, well under a millisecond;
 * - the client runs inside the namespace (`ip netns exec`;
 *   launchChromiumInNamespace for Chromium), the host in the test process
 *   bound to `hostAddress`.
 *
 * Cleanup: `close()` removes the table, the veth and the namespace; an exit
 * hook does the same (best effort) if the test never gets to it; and
 * `removeStaleLinks()` deletes namespaces of this prefix left by runs whose
 * process is gone. Deleting the namespace alone would do (its veth end
 * takes the peer and its qdisc with it, the table goes with the namespace),
 * each step is still spelled out so a half-built link is undone too.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS } from '../../../src/demo/desktop.js';

const execFileAsync = promisify(execFile);

/** iproute2's `ip`, by absolute path: Playwright wants one for `executablePath` (launchChromiumInNamespace). */
export const IP = '/usr/sbin/ip';
/** Every namespace these helpers make is named `<prefix><pid>-<n>`: the pid tells a crashed run's from a live one. */
export const NETNS_PREFIX = 'backlot-t-';
/** The /30s of the links are taken from this /16 (private; used only on the veth pairs made here). */
const SUBNET_PREFIX = '10.203';
/** CAP_NET_ADMIN's bit in /proc/self/status CapEff (linux/capability.h). */
const CAP_NET_ADMIN = 12;
/** A shaping command that takes longer has hung. */
const COMMAND_TIMEOUT_MS = 10_000;

/** A token-bucket cap (tc-tbf(8)): the rate, the bucket, and how long a packet may wait in the queue. */
export interface RateCap {
  rateKbit: number;
  burstKbit: number;
  latencyMs: number;
}

export interface ShapedLinkOptions {
  /** Per cent of UDP packets arriving in the namespace that are dropped (0 for none). */
  lossPercent: number;
  /** The cap from the start; none if left out. */
  cap?: RateCap;
}

/** What the root side's qdisc has done, from `tc -s`. */
export interface QdiscCounters {
  sentBytes: number;
  sentPackets: number;
  /** Packets the cap dropped (queue full: waited longer than `latencyMs`). */
  dropped: number;
}

export interface ShapedLink {
  /** The client's namespace: run programs in it with `ip netns exec <namespace>`. */
  readonly namespace: string;
  /** The root side's address: the host binds here. */
  readonly hostAddress: string;
  /** The namespace side's address: the client's only address besides loopback. */
  readonly clientAddress: string;
  readonly hostDevice: string;
  readonly clientDevice: string;
  /** Puts a cap on the host → client direction, or changes the one there (`tc qdisc add` / `change`). */
  setCap(cap: RateCap): Promise<void>;
  /** Takes the cap off (`tc qdisc del`); the link runs at veth speed. */
  liftCap(): Promise<void>;
  /** The cap in force, if any. */
  cap(): RateCap | undefined;
  /** The cap's counters since it was (last) put on; zeros when there is none. */
  qdiscCounters(): Promise<QdiscCounters>;
  /** Packets the loss rule has dropped so far. */
  lossDropped(): Promise<number>;
  /** Removes the table, the veth pair and the namespace. Idempotent. */
  close(): Promise<void>;
}

async function run(cmd: string, args: string[], input?: string): Promise<string> {
  if (input === undefined) {
    const { stdout } = await execFileAsync(cmd, args, { timeout: COMMAND_TIMEOUT_MS });
    return stdout;
  }
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: COMMAND_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
    child.stdin?.end(input);
  });
}

/** Why shaped links cannot be made here (not root, no CAP_NET_ADMIN, no `ip`, no network namespaces), or undefined when they can. */
export async function shapedLinkUnavailable(): Promise<string | undefined> {
  if (process.platform !== 'linux') return `network namespaces are Linux only (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'not root: creating network namespaces and qdiscs needs root';
  const status = await readFile('/proc/self/status', 'utf8');
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (capEff === undefined || (BigInt(`0x${capEff}`) & (1n << BigInt(CAP_NET_ADMIN))) === 0n) return 'no CAP_NET_ADMIN (a container without it cannot make namespaces or qdiscs)';
  const probe = `${NETNS_PREFIX}${process.pid}-probe`;
  try {
    await run(IP, ['netns', 'add', probe]);
  } catch (err) {
    // No iproute2 is a machine set up wrong (.ci/programs.json lists it), not a reason to skip: the test fails on it.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return `network namespaces unsupported here (ip netns add: ${(err as Error).message.trim()})`;
  }
  await run(IP, ['netns', 'delete', probe]).catch(() => undefined);
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it just is not ours.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function namespaces(): Promise<string[]> {
  const out = await run(IP, ['netns', 'list']);
  return out.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((n) => n !== '');
}

/** Deletes the namespaces (and with them their veth pairs, qdiscs and tables) of earlier runs whose process has exited; returns their names. */
export async function removeStaleLinks(): Promise<string[]> {
  const stale = (await namespaces()).filter((name) => {
    if (!name.startsWith(NETNS_PREFIX)) return false;
    const pid = Number(/^(\d+)-/.exec(name.slice(NETNS_PREFIX.length))?.[1]);
    return Number.isInteger(pid) && pid !== process.pid && !isAlive(pid);
  });
  for (const name of stale) await run(IP, ['netns', 'delete', name]).catch(() => undefined);
  return stale;
}

/** A /30 of SUBNET_PREFIX no interface here uses yet: [network's third octet, fourth octet]. */
async function freeSubnet(): Promise<[number, number]> {
  const used = new Set(
    (await run(IP, ['-o', '-4', 'addr', 'show']))
      .split('\n')
      .map((l) => new RegExp(`inet ${SUBNET_PREFIX.replace('.', '\\.')}\\.(\\d+)\\.(\\d+)/`).exec(l))
      .filter((m) => m !== null)
      .map((m) => `${m[1]}.${Number(m[2]) & ~3}`),
  );
  // Start where this pid points, so two runs at once rarely even look at the same /30.
  const start = process.pid % (256 * 64);
  for (let i = 0; i < 256 * 64; i++) {
    const n = (start + i) % (256 * 64);
    const third = n >> 6;
    const fourth = (n & 63) << 2;
    if (!used.has(`${third}.${fourth}`)) return [third, fourth];
  }
  throw new Error(`no free /30 in ${SUBNET_PREFIX}.0.0/16`);
}

let linkCount = 0;
const open = new Map<string, () => void>();
let exitHooked = false;

/** Best effort at exit: a test that crashed out of its afterAll still leaves no namespace behind. */
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const undo of open.values()) undo();
  });
}

function tbfArgs(cap: RateCap): string[] {
  return ['tbf', 'rate', `${cap.rateKbit}kbit`, 'burst', `${cap.burstKbit}kbit`, 'latency', `${cap.latencyMs}ms`];
}

/** Builds the namespace, the veth pair, the loss table and (if asked) the cap. */
export async function createShapedLink(options: ShapedLinkOptions): Promise<ShapedLink> {
  const n = linkCount++;
  const namespace = `${NETNS_PREFIX}${process.pid}-${n}`;
  // Interface names are at most 15 characters (IFNAMSIZ): "bl" + pid (up to 7 digits) + "-" + n + side.
  const hostDevice = `bl${process.pid}-${n}h`;
  const clientDevice = `bl${process.pid}-${n}c`;
  const table = `backlot_loss_${process.pid}_${n}`;
  const [third, fourth] = await freeSubnet();
  const hostAddress = `${SUBNET_PREFIX}.${third}.${fourth + 1}`;
  const clientAddress = `${SUBNET_PREFIX}.${third}.${fourth + 2}`;
  let current: RateCap | undefined;
  let closed = false;

  const undoSync = () => {
    // Synchronous for the exit hook; every step may already be undone.
    for (const args of [['link', 'del', hostDevice], ['netns', 'delete', namespace]]) {
      try {
        execFileSync(IP, args, { stdio: 'ignore', timeout: COMMAND_TIMEOUT_MS });
      } catch {
        // Already gone.
      }
    }
  };
  hookExit();
  open.set(namespace, undoSync);

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await run(IP, ['netns', 'exec', namespace, 'nft', 'delete', 'table', 'inet', table]).catch(() => undefined);
    await run(IP, ['link', 'del', hostDevice]).catch(() => undefined);
    await run(IP, ['netns', 'delete', namespace]).catch(() => undefined);
    open.delete(namespace);
  };

  try {
    await run(IP, ['netns', 'add', namespace]);
    await run(IP, ['link', 'add', hostDevice, 'type', 'veth', 'peer', 'name', clientDevice]);
    await run(IP, ['link', 'set', clientDevice, 'netns', namespace]);
    await run(IP, ['addr', 'add', `${hostAddress}/30`, 'dev', hostDevice]);
    await run(IP, ['link', 'set', hostDevice, 'up']);
    await run(IP, ['-n', namespace, 'addr', 'add', `${clientAddress}/30`, 'dev', clientDevice]);
    await run(IP, ['-n', namespace, 'link', 'set', clientDevice, 'up']);
    await run(IP, ['-n', namespace, 'link', 'set', 'lo', 'up']);
    if (options.lossPercent > 0) {
      // UDP only: ICE, DTLS, SCTP and RTP all ride on it; ARP is left alone so the link itself never flaps.
      const rules = [
        `table inet ${table} {`,
        '  chain ingress {',
        '    type filter hook input priority filter; policy accept;',
        `    iifname "${clientDevice}" meta l4proto udp numgen random mod 100 < ${options.lossPercent} counter drop`,
        '  }',
        '}',
        '',
      ].join('\n');
      await run(IP, ['netns', 'exec', namespace, 'nft', '-f', '-'], rules);
    }
    if (options.cap) {
      await run('tc', ['qdisc', 'add', 'dev', hostDevice, 'root', ...tbfArgs(options.cap)]);
      current = options.cap;
    }
  } catch (err) {
    await close();
    throw err;
  }

  return {
    namespace,
    hostAddress,
    clientAddress,
    hostDevice,
    clientDevice,
    async setCap(cap) {
      await run('tc', ['qdisc', current ? 'change' : 'add', 'dev', hostDevice, 'root', ...tbfArgs(cap)]);
      current = cap;
    },
    async liftCap() {
      if (!current) return;
      await run('tc', ['qdisc', 'del', 'dev', hostDevice, 'root']);
      current = undefined;
    },
    cap: () => current,
    async qdiscCounters() {
      if (!current) return { sentBytes: 0, sentPackets: 0, dropped: 0 };
      const [q] = JSON.parse(await run('tc', ['-s', '-j', 'qdisc', 'show', 'dev', hostDevice, 'root'])) as { bytes?: number; packets?: number; drops?: number }[];
      return { sentBytes: q?.bytes ?? 0, sentPackets: q?.packets ?? 0, dropped: q?.drops ?? 0 };
    },
    async lossDropped() {
      if (options.lossPercent <= 0) return 0;
      const out = await run(IP, ['netns', 'exec', namespace, 'nft', '-j', 'list', 'table', 'inet', table]);
      const items = (JSON.parse(out) as { nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[] }).nftables;
      return items.flatMap((i) => i.rule?.expr ?? []).reduce((sum, e) => sum + (e.counter?.packets ?? 0), 0);
    },
    close,
  };
}

/**
 * Headless Chromium inside `namespace`: Playwright starts `ip netns exec
 * <namespace> chromium …` and talks to it over the inherited pipes (fds 3
 * and 4), so driving it needs no network. Playwright's own arguments go
 * before the caller's, where `ip` would take them for its own, so they are
 * all left out (ignoreDefaultArgs) and the few that matter given here.
 * `--disable-features=WebRtcHideLocalIpsWithMdns` is always on: a host on
 * libdatachannel resolves no mDNS candidate names; no loopback flag is
 * needed, the path is the veth.
 */
export function launchChromiumInNamespace(namespace: string, profile: string, args: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: IP,
    ignoreDefaultArgs: true,
    args: [
      'netns',
      'exec',
      namespace,
      CHROMIUM,
      '--headless',
      '--remote-debugging-pipe',
      `--user-data-dir=${profile}`,
      '--no-startup-window',
      '--mute-audio',
      // Timers and rendering at full speed although nothing is visible: samplers and frame stamps depend on it.
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
      '--disable-field-trial-config',
      ...CHROMIUM_FLAGS,
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      ...args,
    ],
  });
}
