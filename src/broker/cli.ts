/** `backlot-broker`: run the broker, or prepare its directory entries. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from './config.js';
import { hashPassword } from './passwords.js';
import { startBroker } from './server.js';
import { MemoryDirectory } from './store.js';
import { newToken, tokenDigest } from './tokens.js';

const USAGE = `usage:
  backlot-broker serve --config broker.json     run the broker
  backlot-broker hash-password                  read a password on stdin, print its scrypt hash
  backlot-broker new-host-secret                print a new host secret and the digest to put in the directory`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      const { values } = parseArgs({ args: rest, options: { config: { type: 'string' } }, strict: true });
      if (!values.config) {
        console.error(USAGE);
        return 2;
      }
      const { config, directory } = loadConfig(values.config);
      const broker = await startBroker({
        directory: new MemoryDirectory(directory),
        host: config.host,
        port: config.port,
        iceServers: config.iceServers,
        ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
        ...(config.webRoot ? { webRoot: config.webRoot } : {}),
        ...(config.tls ? { tls: { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) } } : {}),
      });
      const stop = (): void => void broker.close().then(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      return new Promise(() => undefined);
    }
    case 'hash-password': {
      const password = await readStdin();
      if (!password) {
        console.error('empty password');
        return 2;
      }
      console.log(await hashPassword(password));
      return 0;
    }
    case 'new-host-secret': {
      const secret = newToken();
      console.log(JSON.stringify({ secret, secretDigest: tokenDigest(secret) }, null, 2));
      return 0;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`backlot-broker: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
