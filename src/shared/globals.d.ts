// src/shared is compiled without DOM or Node types, so that using either is a
// type error. These two globals exist in every runtime we target (browsers,
// Node >= 11, Electron), so they are declared here, narrowly.
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: ArrayBufferView | ArrayBuffer): string;
}
