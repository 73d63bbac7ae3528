// A throw-away CA and a server certificate for localhost (SAN DNS:localhost, IP:127.0.0.1), made
// with the openssl CLI into a temporary directory at test time.
//
//   const certs = await makeCerts();   // { dir, caFile, caPem, keyFile, key, certFile, cert, cleanup }
//   const certs = await makeCerts({ serverDays: 0 });   // a server certificate that expires at once

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function openssl(args, cwd) {
    try {
        return await run('openssl', args, { cwd, timeout: 30_000 });
    } catch (err) {
        throw new Error(`openssl ${args.join(' ')} failed: ${err.stderr || err.message}`);
    }
}

export async function makeCerts({ serverDays = 2 } = {}) {
    const dir = await mkdtemp(path.join(tmpdir(), 'cc-relay-certs-'));
    const f = (n) => path.join(dir, n);
    // CA
    await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2',
        '-subj', '/CN=cc-relay test CA', '-keyout', f('ca.key'), '-out', f('ca.pem'),
        '-addext', 'basicConstraints=critical,CA:TRUE',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
    // Server key + CSR
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-subj', '/CN=localhost',
        '-keyout', f('server.key'), '-out', f('server.csr')], dir);
    await writeFile(f('server.ext'), [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '',
    ].join('\n'));
    await openssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
        '-CAcreateserial', '-days', String(serverDays), '-sha256', '-extfile', f('server.ext'),
        '-out', f('server.pem')], dir);
    const [caPem, key, cert] = await Promise.all([
        readFile(f('ca.pem'), 'utf8'), readFile(f('server.key'), 'utf8'), readFile(f('server.pem'), 'utf8'),
    ]);
    return {
        dir,
        caFile: f('ca.pem'),
        caPem,
        keyFile: f('server.key'),
        key,
        certFile: f('server.pem'),
        cert,
        cleanup: () => rm(dir, { recursive: true, force: true }),
    };
}
