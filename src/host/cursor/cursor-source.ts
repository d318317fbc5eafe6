/**
 * Where the host's pointer is and what it looks like, so the client can draw
 * the cursor itself (it moves with the artist's hand, not a video frame
 * later). X11 implementation: x11-cursor.ts (XFIXES).
 */

export interface CursorImage {
  /** PNG data URL. */
  png: string;
  hotX: number;
  hotY: number;
}

export interface CursorUpdate {
  /** Desktop pixels. */
  x: number;
  y: number;
  visible: boolean;
  /** Present only when the shape changed since the previous update. */
  image?: CursorImage;
}

export interface CursorSource {
  start(onUpdate: (update: CursorUpdate) => void): void;
  stop(): void;
}
