/**
 * PLACE FOR THE SHAPED-LINK ROW (issue 12), not built here.
 *
 * The row is the encoded pipeline over a 5 Mbit/s link (tc tbf) with 1 %
 * loss (nftables `numgen random mod 100 < 1 drop`) between the client and the
 * host in a network namespace. It is being built by another engineer as
 * tests/host/shaped-link.test.ts with a netns helper; when that helper lands,
 * this module runs `runStreams` with the client on the far side of the veth
 * pair and returns a StreamRow like the others, and BENCHMARKS.md's "Shaped
 * link" section gets its figures. Until then the run records that it was not
 * measured, so results.json never suggests otherwise.
 */

export interface ShapedLinkResult {
  measured: false;
  link: { rate_mbit: number; loss_pct: number };
  why: string;
}

/** The shaped link's planned parameters (the issue's). */
export const SHAPED_LINK = { rateMbit: 5, lossPct: 1 } as const;

export function shapedLink(): ShapedLinkResult {
  return {
    measured: false,
    link: { rate_mbit: SHAPED_LINK.rateMbit, loss_pct: SHAPED_LINK.lossPct },
    why: 'not measured yet: waits for the network-namespace helper of tests/host/shaped-link.test.ts (being built separately)',
  };
}
