// simple-peer's prebuilt browser bundle (Buffer and stream polyfills included);
// it has the same API as the package's main entry, typed by @types/simple-peer.
declare module 'simple-peer/simplepeer.min.js' {
  import SimplePeer from 'simple-peer';
  export default SimplePeer;
}
