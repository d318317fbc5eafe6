// The `x11` package ships no type declarations; the host agent declares the
// narrow surface it uses in src/host/x11/client.ts and casts at the import.
declare module 'x11';
