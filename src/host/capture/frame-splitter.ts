/**
 * Splits a byte stream of back-to-back fixed-size raw frames (ffmpeg's
 * rawvideo output) into whole frames, whatever the chunk boundaries are.
 */

export class FrameSplitter {
  private readonly frame: Uint8Array;
  private filled = 0;

  /**
   * @param frameSize bytes per frame (W*H*3/2 for I420)
   * @param onFrame called for each complete frame. The array is reused for
   *   the next frame: copy it if it must outlive the call.
   */
  constructor(
    readonly frameSize: number,
    private readonly onFrame: (frame: Uint8Array) => void,
  ) {
    if (!Number.isInteger(frameSize) || frameSize <= 0) throw new RangeError(`frame size must be a positive integer, got ${frameSize}`);
    this.frame = new Uint8Array(frameSize);
  }

  /** Feeds the next chunk of the stream. */
  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(this.frameSize - this.filled, chunk.length - offset);
      this.frame.set(chunk.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === this.frameSize) {
        this.filled = 0;
        this.onFrame(this.frame);
      }
    }
  }

  /** Bytes of an incomplete frame held back, waiting for the rest. */
  get pending(): number {
    return this.filled;
  }
}
