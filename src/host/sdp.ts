/**
 * The little SDP surgery the host does on its answer: keep only the chosen
 * video codec (plus its RTX and the redundancy formats), so libwebrtc has no
 * other codec to send. Done as simple-peer's `sdpTransform` because the host
 * is the answerer and wrtc's answer otherwise follows the offer's order.
 */

/** Formats that are not codecs of their own and ride along with the chosen one. */
const AUXILIARY = new Set(['red', 'ulpfec', 'flexfec-03']);

interface Section {
  lines: string[];
}

function sections(sdp: string): { head: string[]; media: Section[] } {
  const lines = sdp.split(/\r\n|\n/).filter((l, i, all) => l !== '' || i < all.length - 1);
  const head: string[] = [];
  const media: Section[] = [];
  for (const line of lines) {
    if (line.startsWith('m=')) media.push({ lines: [line] });
    else if (media.length > 0) media.at(-1)!.lines.push(line);
    else head.push(line);
  }
  return { head, media };
}

function rtpmaps(section: Section): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of section.lines) {
    const m = /^a=rtpmap:(\d+) ([^/]+)\//.exec(line);
    if (m) map.set(m[1]!, m[2]!);
  }
  return map;
}

/** Video codec names in the order the SDP lists them, without RTX and redundancy formats. */
export function videoCodecsOf(sdp: string): string[] {
  const video = sections(sdp).media.find((s) => s.lines[0]!.startsWith('m=video'));
  if (!video) return [];
  const names = rtpmaps(video);
  const order = video.lines[0]!.split(' ').slice(3);
  const out: string[] = [];
  for (const pt of order) {
    const name = names.get(pt)?.toUpperCase();
    if (name && name !== 'RTX' && !AUXILIARY.has(name.toLowerCase()) && !out.includes(name)) out.push(name);
  }
  return out;
}

/**
 * Removes every video codec but `codec` from each video section (with the
 * RTX formats of the removed ones). Returns the SDP unchanged if the section
 * does not carry `codec`.
 */
export function keepOnlyVideoCodec(sdp: string, codec: string): string {
  const { head, media } = sections(sdp);
  for (const section of media) {
    const mline = section.lines[0]!.split(' ');
    if (mline[0] !== 'm=video') continue;
    const names = rtpmaps(section);
    const keep = new Set<string>();
    for (const [pt, name] of names) if (name.toUpperCase() === codec.toUpperCase() || AUXILIARY.has(name.toLowerCase())) keep.add(pt);
    if (![...keep].some((pt) => names.get(pt)!.toUpperCase() === codec.toUpperCase())) continue;
    for (const line of section.lines) {
      const m = /^a=fmtp:(\d+) .*apt=(\d+)/.exec(line);
      if (m && names.get(m[1]!)?.toUpperCase() === 'RTX' && keep.has(m[2]!)) keep.add(m[1]!);
    }
    section.lines[0] = [...mline.slice(0, 3), ...mline.slice(3).filter((pt) => keep.has(pt))].join(' ');
    section.lines = section.lines.filter((line) => {
      const m = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+)[ ]/.exec(line);
      return !m || keep.has(m[1]!);
    });
  }
  return [...head, ...media.flatMap((s) => s.lines), ''].join('\r\n');
}

/**
 * Caps the video bitrate in a description with `b=AS` (kbps) and `b=TIAS`
 * (bps), replacing any there. Applied to the client's offer on our side:
 * libwebrtc limits what it *sends* by the remote description's bandwidth.
 * (RTCRtpSender.setParameters would be the modern way, but in
 * @roamhq/wrtc 0.10 it rejects every call with InvalidStateError, even with
 * unchanged parameters: measured.)
 */
export function withVideoBitrate(sdp: string, kbps: number): string {
  const { head, media } = sections(sdp);
  for (const section of media) {
    if (!section.lines[0]!.startsWith('m=video')) continue;
    const rest = section.lines.slice(1).filter((l) => !l.startsWith('b=AS:') && !l.startsWith('b=TIAS:'));
    // RFC 4566 order: m=, i=, c=, b=; so after the c= line (or straight after m= when there is none).
    const at = rest.findIndex((l) => l.startsWith('c='));
    rest.splice(at + 1, 0, `b=AS:${Math.round(kbps)}`, `b=TIAS:${Math.round(kbps * 1000)}`);
    section.lines = [section.lines[0]!, ...rest];
  }
  return [...head, ...media.flatMap((s) => s.lines), ''].join('\r\n');
}
