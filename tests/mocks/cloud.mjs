// Fakes of the cloud backends, speaking their real wire formats, for the black-box tests:
//
//   const bedrock = await startBedrock({ accessKeyId, secretAccessKey, sessionToken, bearer });
//       POST /model/{id}/invoke | /invoke-with-response-stream | /count-tokens, each request's
//       SigV4 signature recomputed from the bytes received (or the bearer checked); streams are
//       `application/vnd.amazon.eventstream` frames with CRCs, written split across TCP writes.
//   const google = await startGoogle({ serviceAccount, expiresIn });
//       POST /token verifies the RS256 JWT (or the refresh token) and issues access tokens;
//       POST /v1/projects/{p}/locations/{r}/publishers/anthropic/models/{m}:rawPredict |
//       :streamRawPredict | count-tokens:rawPredict check the bearer.
//   const foundry = await startFoundry({ key, tenant, clientId, clientSecret });
//       POST /{tenant}/oauth2/v2.0/token (Entra client credentials) and /anthropic/v1/messages.
//
// Every fake records `requests` ({method, path, headers, body (Buffer), json}) and takes
// `setMode(fn)`: fn(rec) returns a spec ({kind: 'error', status, ...}, {kind: 'exception', ...})
// or undefined for the default answer.

import crypto from 'node:crypto';
import http from 'node:http';
import zlib from 'node:zlib';

import { MOCK_COUNT_TOKENS, messageBody, sseEvents } from './backend.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();

// ---------------------------------------------------------------------------------------------
// AWS event stream (application/vnd.amazon.eventstream)

/** One frame: string headers (type 7), payload, prelude and message CRC32 (zlib's IEEE CRC). */
export function encodeFrame(headers, payload) {
    const parts = Object.entries(headers).map(([name, value]) => {
        const n = Buffer.from(name);
        const v = Buffer.from(value);
        const b = Buffer.alloc(1 + n.length + 1 + 2 + v.length);
        b[0] = n.length;
        n.copy(b, 1);
        b[1 + n.length] = 7;
        b.writeUInt16BE(v.length, 2 + n.length);
        v.copy(b, 4 + n.length);
        return b;
    });
    const hb = Buffer.concat(parts);
    const body = Buffer.from(payload);
    const prelude = Buffer.alloc(12);
    prelude.writeUInt32BE(16 + hb.length + body.length, 0);
    prelude.writeUInt32BE(hb.length, 4);
    prelude.writeUInt32BE(zlib.crc32(prelude.subarray(0, 8)), 8);
    const msg = Buffer.concat([prelude, hb, body]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(msg));
    return Buffer.concat([msg, crc]);
}

/** A `chunk` event carrying one Anthropic stream event (its JSON text), with random padding. */
export function chunkFrame(eventJson) {
    const p = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJ'.slice(0, 1 + Math.floor(Math.random() * 30));
    const payload = JSON.stringify({ bytes: Buffer.from(eventJson).toString('base64'), p });
    return encodeFrame({ ':event-type': 'chunk', ':content-type': 'application/json', ':message-type': 'event' },
        payload);
}

/** An `exception` message, e.g. exceptionFrame('throttlingException', 'Too many tokens'). */
export function exceptionFrame(type, message) {
    return encodeFrame({ ':exception-type': type, ':content-type': 'application/json', ':message-type': 'exception' },
        JSON.stringify({ message }));
}

/** Decodes frames (checking both CRCs) into [{headers, payload}] — an independent reader. */
export function decodeFrames(buf) {
    const out = [];
    let off = 0;
    while (off < buf.length) {
        const total = buf.readUInt32BE(off);
        const hlen = buf.readUInt32BE(off + 4);
        if (zlib.crc32(buf.subarray(off, off + 8)) !== buf.readUInt32BE(off + 8)) throw new Error('prelude crc');
        if (zlib.crc32(buf.subarray(off, off + total - 4)) !== buf.readUInt32BE(off + total - 4)) throw new Error('message crc');
        const headers = {};
        let h = off + 12;
        while (h < off + 12 + hlen) {
            const n = buf[h];
            const name = buf.subarray(h + 1, h + 1 + n).toString();
            const len = buf.readUInt16BE(h + 2 + n);
            headers[name] = buf.subarray(h + 4 + n, h + 4 + n + len).toString();
            h += 4 + n + len;
        }
        out.push({ headers, payload: buf.subarray(off + 12 + hlen, off + total - 4) });
        off += total;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// SigV4, recomputed independently of the relay's signer

function uriEncode(s, keepSlash) {
    let out = '';
    for (const byte of Buffer.from(s)) {
        const c = String.fromCharCode(byte);
        if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) out += c;
        else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
    }
    return out;
}

function canonicalQuery(query) {
    if (!query) return '';
    return query.split('&').filter(Boolean).map((kv) => {
        const eq = kv.indexOf('=');
        const k = decodeURIComponent(eq < 0 ? kv : kv.slice(0, eq));
        const v = eq < 0 ? '' : decodeURIComponent(kv.slice(eq + 1));
        return [uriEncode(k, false), uriEncode(v, false)];
    }).sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : (a[0] < b[0] ? -1 : 1)))
        .map(([k, v]) => `${k}=${v}`).join('&');
}

/**
 * The signature AWS computes for a request: `path` as received on the wire (percent-encoded once;
 * canonicalised by encoding it once more, as for every service but S3), `headers` with lower-case
 * names.
 */
export function sigv4Signature({ method, path, query = '', headers, signedHeaders, body, secret, amzDate, region, service }) {
    const canonicalHeaders = signedHeaders.map((h) => `${h}:${String(headers[h]).trim().replace(/\s+/g, ' ')}\n`).join('');
    const creq = [method, uriEncode(path, true), canonicalQuery(query), canonicalHeaders, signedHeaders.join(';'),
        sha256(body)].join('\n');
    const date = amzDate.slice(0, 8);
    const sts = ['AWS4-HMAC-SHA256', amzDate, `${date}/${region}/${service}/aws4_request`, sha256(creq)].join('\n');
    const kDate = hmac('AWS4' + secret, date);
    const kSigning = hmac(hmac(hmac(kDate, region), service), 'aws4_request');
    return crypto.createHmac('sha256', kSigning).update(sts).digest('hex');
}

/** Checks a received request's SigV4 header: null when valid, else why not. */
export function checkSigV4(rec, { accessKeyId, secretAccessKey, sessionToken, region, service = 'bedrock' }) {
    const auth = rec.headers.authorization ?? '';
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) return `no SigV4 Authorization header: ${auth}`;
    const [, akid, date, reg, svc, signed, sig] = m;
    if (akid !== accessKeyId) return `unknown access key ${akid}`;
    if (reg !== region || svc !== service) return `scope ${reg}/${svc}, expected ${region}/${service}`;
    const amzDate = rec.headers['x-amz-date'];
    if (!amzDate || amzDate.slice(0, 8) !== date) return 'x-amz-date missing or not the credential date';
    const signedHeaders = signed.split(';');
    for (const need of ['host', 'x-amz-date', ...(sessionToken ? ['x-amz-security-token'] : [])]) {
        if (!signedHeaders.includes(need)) return `${need} not signed`;
    }
    if (sessionToken && rec.headers['x-amz-security-token'] !== sessionToken) return 'wrong session token';
    if (rec.headers['x-amz-content-sha256'] && rec.headers['x-amz-content-sha256'] !== sha256(rec.body)) {
        return 'x-amz-content-sha256 does not match the body';
    }
    const q = rec.url.indexOf('?');
    const expected = sigv4Signature({
        method: rec.method, path: q < 0 ? rec.url : rec.url.slice(0, q), query: q < 0 ? '' : rec.url.slice(q + 1),
        headers: rec.headers, signedHeaders, body: rec.body, secret: secretAccessKey, amzDate, region, service,
    });
    return expected === sig ? null : 'The request signature we calculated does not match the signature you provided.';
}

// ---------------------------------------------------------------------------------------------
// Shared plumbing

async function listen(handler) {
    const requests = [];
    let mode;
    const server = http.createServer(async (req, res) => {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        const body = Buffer.concat(chunks);
        let json;
        try { json = JSON.parse(body.toString('utf8')); } catch { /* not JSON */ }
        const rec = { method: req.method, url: req.url, path: req.url.split('?')[0], headers: req.headers, body, json };
        requests.push(rec);
        try {
            await handler(rec, res, mode?.(rec));
        } catch (err) {
            if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
            res.end(String(err?.stack ?? err));
        }
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address();
    return {
        url: `http://127.0.0.1:${port}`,
        port,
        requests,
        setMode(fn) { mode = fn; },
        reset() { requests.length = 0; mode = undefined; },
        close() { server.closeAllConnections?.(); return new Promise((r) => server.close(() => r())); },
    };
}

function sendJson(res, status, obj, headers = {}) {
    const text = typeof obj === 'string' ? obj : JSON.stringify(obj);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
}

/** The event JSON texts of one streamed answer (what a Bedrock chunk carries, one each). */
export function streamEventJsons(model, opts) {
    return sseEvents(model, opts).map((e) => e.split('\n')[1].slice('data: '.length));
}

// ---------------------------------------------------------------------------------------------
// Bedrock

export const BEDROCK_ERRORS = {
    ValidationException: 400,
    AccessDeniedException: 403,
    ThrottlingException: 429,
    ServiceUnavailableException: 503,
    InternalServerException: 500,
};

/**
 * Modes: {kind: 'error', type: 'ThrottlingException', message} (status from BEDROCK_ERRORS),
 * {kind: 'exception', after: N, type, message} (N chunks, then an exception frame),
 * {kind: 'truncate', after: N} (N chunks, then half a frame and the end of the body).
 */
export async function startBedrock(creds = {}) {
    const fake = await listen(async (rec, res, spec) => {
        const fail = creds.bearer
            ? (rec.headers.authorization === `Bearer ${creds.bearer}` ? null : 'bad bearer token')
            : checkSigV4(rec, { region: 'us-east-1', ...creds });
        if (fail) {
            return sendJson(res, 403, { message: fail }, { 'x-amzn-errortype': 'InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/' });
        }
        if (spec?.kind === 'error') {
            return sendJson(res, BEDROCK_ERRORS[spec.type] ?? 500, { message: spec.message ?? `${spec.type} (fake)` },
                { 'x-amzn-errortype': spec.type, 'x-amzn-requestid': 'fake-req-1' });
        }
        // As Bedrock does: Claude Code's billing line is refused (the relay must strip it).
        if (rec.body.includes('x-anthropic-billing-header')) {
            return sendJson(res, 400, { message: 'x-anthropic-billing-header is a reserved keyword and may not be used in the system prompt.' },
                { 'x-amzn-errortype': 'ValidationException' });
        }
        const m = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream|count-tokens)$/.exec(rec.path);
        if (!m) return sendJson(res, 404, { message: 'UnknownOperationException' }, { 'x-amzn-errortype': 'UnknownOperationException' });
        const modelId = decodeURIComponent(m[1]);
        if (m[2] === 'count-tokens') {
            const inner = JSON.parse(Buffer.from(rec.json.input.invokeModel.body, 'base64').toString('utf8'));
            rec.inner = inner;
            return sendJson(res, 200, { inputTokens: MOCK_COUNT_TOKENS });
        }
        if (m[2] === 'invoke') return sendJson(res, 200, messageBody(modelId));
        res.writeHead(200, {
            'content-type': 'application/vnd.amazon.eventstream',
            'x-amzn-bedrock-content-type': 'application/json',
            'transfer-encoding': 'chunked',
        });
        const jsons = streamEventJsons(modelId, { events: 4 });
        const limit = spec?.after ?? jsons.length;
        rec.sent = jsons.slice(0, limit);
        const frames = rec.sent.map(chunkFrame);
        // Frame 0 alone split in two writes, then two frames in one write, then the rest one by one.
        if (frames.length > 0) {
            const f = frames[0];
            res.write(f.subarray(0, 7));
            await sleep(20);
            res.write(f.subarray(7));
        }
        if (frames.length > 2) res.write(Buffer.concat([frames[1], frames[2]]));
        else if (frames.length > 1) res.write(frames[1]);
        for (const f of frames.slice(3)) {
            await sleep(5);
            res.write(f);
        }
        if (spec?.kind === 'exception') res.write(exceptionFrame(spec.type, spec.message));
        if (spec?.kind === 'truncate') res.write(chunkFrame(jsons[limit] ?? '{}').subarray(0, 10));
        res.end();
    });
    return fake;
}

// ---------------------------------------------------------------------------------------------
// Google: token endpoint (JWT bearer grant, refresh token grant) and Vertex AI

/** A service-account key file's object, with a fresh RSA key; token_uri at `tokenUri`. */
export function makeServiceAccount(tokenUri) {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    return {
        key: {
            type: 'service_account',
            project_id: 'proj-1',
            private_key_id: 'kid-1',
            private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
            client_email: 'relay@proj-1.iam.gserviceaccount.com',
            client_id: '1234',
            token_uri: tokenUri,
        },
        publicKey,
    };
}

function b64urlJson(part) {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

/** Checks an RS256 JWT assertion: null when valid, else why not. */
export function checkJwt(assertion, publicKey, { iss, aud, nowS = Math.floor(Date.now() / 1000) }) {
    const parts = String(assertion).split('.');
    if (parts.length !== 3) return 'not a JWT';
    const header = b64urlJson(parts[0]);
    const claims = b64urlJson(parts[1]);
    if (header.alg !== 'RS256' || header.typ !== 'JWT') return `header ${JSON.stringify(header)}`;
    const ok = crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), publicKey, Buffer.from(parts[2], 'base64url'));
    if (!ok) return 'bad signature';
    if (claims.iss !== iss) return `iss ${claims.iss}`;
    if (claims.aud !== aud) return `aud ${claims.aud}`;
    if (claims.scope !== 'https://www.googleapis.com/auth/cloud-platform') return `scope ${claims.scope}`;
    if (!(claims.iat <= nowS + 60 && claims.exp > nowS && claims.exp - claims.iat <= 3600)) return 'iat/exp';
    return null;
}

/**
 * `serviceAccount` from makeServiceAccount (its token_uri must be `${url}/token`: pass
 * `tokenPath` and build it after start with google.url), or `authorizedUser`
 * {client_id, client_secret, refresh_token}. `expiresIn`: lifetime of issued tokens (s).
 */
export async function startGoogle({ publicKey, clientEmail, authorizedUser, expiresIn = 3600 } = {}) {
    let issued = 0;
    const valid = new Set();
    let fake;
    fake = await listen(async (rec, res, spec) => {
        if (rec.path === '/token') {
            const form = new URLSearchParams(rec.body.toString('utf8'));
            let why = null;
            if (form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
                why = publicKey ? checkJwt(form.get('assertion'), publicKey, { iss: clientEmail, aud: `${fake.url}/token` })
                    : 'no service account';
            } else if (form.get('grant_type') === 'refresh_token') {
                why = authorizedUser && form.get('refresh_token') === authorizedUser.refresh_token &&
                    form.get('client_id') === authorizedUser.client_id &&
                    form.get('client_secret') === authorizedUser.client_secret ? null : 'bad refresh token';
            } else {
                why = `grant_type ${form.get('grant_type')}`;
            }
            if (why) return sendJson(res, 400, { error: 'invalid_grant', error_description: why });
            const token = `ya29.fake-${++issued}`;
            valid.add(token);
            return sendJson(res, 200, { access_token: token, expires_in: expiresIn, token_type: 'Bearer' });
        }
        const bearer = (rec.headers.authorization ?? '').replace(/^Bearer /, '');
        if (!valid.has(bearer)) {
            return sendJson(res, 401, { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } });
        }
        if (spec?.kind === 'google-error') return sendJson(res, spec.status, spec.body);
        const m = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/anthropic\/models\/([^/:]+):(rawPredict|streamRawPredict)$/.exec(rec.path);
        if (!m) return sendJson(res, 404, { error: { code: 404, message: `no route ${rec.path}`, status: 'NOT_FOUND' } });
        const [, , , model, verb] = m;
        if (model === 'count-tokens') return sendJson(res, 200, { input_tokens: MOCK_COUNT_TOKENS });
        if (verb === 'rawPredict') return sendJson(res, 200, messageBody(model));
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const e of sseEvents(model, { events: 4 })) res.write(e);
        res.end();
    });
    Object.defineProperty(fake, 'tokensIssued', { get: () => issued });
    return fake;
}

// ---------------------------------------------------------------------------------------------
// Microsoft Foundry and Entra ID

export async function startFoundry({ key, tenant = 'tenant-1', clientId = 'client-1', clientSecret = 'secret-1', expiresIn = 3600 } = {}) {
    let issued = 0;
    const valid = new Set();
    const fake = await listen(async (rec, res) => {
        if (rec.path === `/${tenant}/oauth2/v2.0/token`) {
            const form = new URLSearchParams(rec.body.toString('utf8'));
            if (form.get('grant_type') !== 'client_credentials' || form.get('client_id') !== clientId ||
                form.get('client_secret') !== clientSecret || form.get('scope') !== 'https://ai.azure.com/.default') {
                return sendJson(res, 401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
            }
            const token = `eyJ.fake-entra-${++issued}`;
            valid.add(token);
            return sendJson(res, 200, { token_type: 'Bearer', expires_in: expiresIn, ext_expires_in: expiresIn, access_token: token });
        }
        const bearer = (rec.headers.authorization ?? '').replace(/^Bearer /, '');
        const authed = key ? rec.headers['x-api-key'] === key : valid.has(bearer);
        if (!authed) {
            return sendJson(res, 401, { type: 'error', error: { type: 'authentication_error', message: 'invalid credentials (fake Foundry)' } });
        }
        if (rec.path !== '/anthropic/v1/messages') return sendJson(res, 404, { type: 'error', error: { type: 'not_found_error', message: 'Not found' } });
        if (!rec.json?.stream) return sendJson(res, 200, messageBody(rec.json?.model));
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const e of sseEvents(rec.json.model, { events: 4 })) res.write(e);
        res.end();
    });
    Object.defineProperty(fake, 'tokensIssued', { get: () => issued });
    return fake;
}
