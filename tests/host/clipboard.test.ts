/** The X11 clipboard between two X clients on Xvfb, and the policy gate. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SESSION_POLICY } from '../../src/shared/policy.js';
import { clipboardRefusal } from '../../src/host/clipboard/clipboard.js';
import { MAX_SELECTION_BYTES, X11Clipboard } from '../../src/host/clipboard/x11-clipboard.js';
import { startXvfb, type Xvfb } from './helpers/xvfb.js';

let xvfb: Xvfb;
beforeAll(async () => {
  xvfb = await startXvfb('640x480');
});
afterAll(async () => {
  await xvfb?.stop();
});

describe('X11 clipboard', () => {
  it('hands text to other applications and notices what they copy, without echoing its own', async () => {
    const agent = await X11Clipboard.open(xvfb.display);
    const app = await X11Clipboard.open(xvfb.display);
    const seenByAgent: string[] = [];
    const seenByApp: string[] = [];
    agent.watch((t) => seenByAgent.push(t));
    app.watch((t) => seenByApp.push(t));
    try {
      await agent.write('from the artist: héllo ✓ 日本');
      await expect.poll(() => seenByApp, { timeout: 5_000 }).toEqual(['from the artist: héllo ✓ 日本']);
      await app.write('copied on the workstation');
      await expect.poll(() => seenByAgent, { timeout: 5_000 }).toEqual(['copied on the workstation']);
      await new Promise((r) => setTimeout(r, 200));
      expect(seenByApp).toEqual(['from the artist: héllo ✓ 日本']);
      await expect(agent.write('x'.repeat(MAX_SELECTION_BYTES + 1))).rejects.toMatchObject({ code: 'ERR_CLIPBOARD_TOO_LARGE' });
    } finally {
      await agent.close();
      await app.close();
    }
  });
});

describe('clipboard policy', () => {
  it('allows only the policy direction and size, counting UTF-8 bytes', () => {
    const p = { ...DEFAULT_SESSION_POLICY, clipboardMaxBytes: 4 };
    expect(clipboardRefusal({ ...p, clipboard: 'both' }, 'client-to-host', 'éé')).toBeUndefined();
    expect(clipboardRefusal({ ...p, clipboard: 'both' }, 'client-to-host', 'ééé')).toBe('ERR_CLIPBOARD_TOO_LARGE');
    expect(clipboardRefusal({ ...p, clipboard: 'off' }, 'host-to-client', 'a')).toBe('ERR_CLIPBOARD_POLICY');
    expect(clipboardRefusal({ ...p, clipboard: 'host-to-client' }, 'client-to-host', 'a')).toBe('ERR_CLIPBOARD_POLICY');
    expect(clipboardRefusal({ ...p, clipboard: 'client-to-host' }, 'client-to-host', 'a')).toBeUndefined();
  });
});
