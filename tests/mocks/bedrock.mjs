// A fake of Amazon Bedrock Runtime for the black-box tests, speaking its wire format
// (docs: /work/shared/reference/anthropic-wire.md §5):
//
//   const bedrock = await startBedrock({ accessKeyId, secretAccessKey, sessionToken });  // SigV4
//   const bedrock = await startBedrock({ bearer: 'bedrock-api-key' });                   // API key
//
//   POST /model/{modelId}/invoke                       → the Anthropic Message JSON
//   POST /model/{modelId}/invoke-with-response-stream  → application/vnd.amazon.eventstream frames,
//        one `chunk` event per Anthropic stream event, written split across TCP writes (a frame in
//        two pieces, several frames in one write, a frame's tail with the next one's head)
//   POST /model/{modelId}/count-tokens                 → {"inputTokens": N}
//
// Every request's SigV4 signature is recomputed from the bytes received, as AWS does, and a wrong
// one answered 403 InvalidSignatureException. The body must be what InvokeModel takes: no
// `model` or `stream`, `anthropic_version: "bedrock-2023-05-31"`, no Claude Code billing line
// (Bedrock refuses each with a 400 ValidationException).
//
// Added to each record: op ('invoke' | 'invoke-with-response-stream' | 'count-tokens'),
// modelIdWire (the path segment as received), modelId (decoded), authError (null when the
// signature or key was accepted), sent (the event JSON texts streamed, in order), frames (their
// encoded frames), inner / innerJson (CountTokens: the decoded InvokeModel body).
//
// Modes (fake.setMode(spec | rec => spec)):
//   { kind: 'error', type: 'ThrottlingException', message, status, typeSuffix, messageKey }
//        an error before the stream: status from BEDROCK_ERRORS, header x-amzn-ErrorType
//        (type + typeSuffix, e.g. ':http://internal.amazon.com/coral/com.amazon.coral.service/'),
//        body {"message": …} (messageKey 'Message' for the capitalised variant)
//   { kind: 'exception', after: N, type: 'throttlingException', message }  N chunks, then an
//        exception message (:message-type exception) and the end of the body
//   { kind: 'truncate', after: N }   N chunks, then 10 bytes of the next frame and the end
//   { kind: 'stream', events, text } the default stream with other content

import crypto from 'node:crypto';
import zlib from 'node:zlib';

import { MOCK_COUNT_TOKENS, messageBody, sseEvents } from './backend.mjs';
import { sendJson, startFake, writeInPieces } from './fake-http.mjs';

export const BEDROCK_VERSION = 'bedrock-2023-05-31';

export const BEDROCK_ERRORS = Object.freeze({
    ValidationException: 400,
    ServiceQuotaExceededException: 400,
    AccessDeniedException: 403,
    ResourceNotFoundException: 404,
    ModelTimeoutException: 408,
    ModelErrorException: 424,
    ThrottlingException: 429,
    ModelNotReadyException: 429,
    InternalServerException: 500,
    ServiceUnavailableException: 503,
});

export const SIGNATURE_MISMATCH = 'The request signature we calculated does not match the signature you provided. ' +
    'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

// ---------------------------------------------------------------------------------------------
// CRC32 (IEEE, reflected 0xEDB88320): zlib.crc32 where Node has it, else a table.

const CRC_TABLE = (() => {
    const t = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
        let c = n;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1;
        t[n] = c >>> 0;
    }
    return t;
})();

export function crc32(buf) {
    return typeof zlib.crc32 === 'function' ? zlib.crc32(buf) : crc32Table(buf);
}

/** The table-driven CRC32 used when zlib.crc32 is missing (Node < 20.15). */
export function crc32Table(buf) {
    let c = 0xFFFFFFFF;
    for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xFF] ^ (c >>> 8);
    return (c ^ 0xFFFFFFFF) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Event-stream frames

/**
 * One message: `headers` { name: string } as type-7 (string) headers in the given order,
 * `payload` string | Buffer; prelude (total length, headers length, CRC32 of those 8 bytes),
 * headers, payload, CRC32 of everything before it.
 */
export function encodeFrame(headers, payload) {
    const hb = Buffer.concat(Object.entries(headers).map(([name, value]) => {
        const n = Buffer.from(name, 'utf8');
        const v = Buffer.from(value, 'utf8');
        const b = Buffer.alloc(1 + n.length + 1 + 2 + v.length);
        b[0] = n.length;
        n.copy(b, 1);
        b[1 + n.length] = 7;
        b.writeUInt16BE(v.length, 2 + n.length);
        v.copy(b, 4 + n.length);
        return b;
    }));
    const body = Buffer.from(payload);
    const prelude = Buffer.alloc(12);
    prelude.writeUInt32BE(12 + hb.length + body.length + 4, 0);
    prelude.writeUInt32BE(hb.length, 4);
    prelude.writeUInt32BE(crc32(prelude.subarray(0, 8)), 8);
    const msg = Buffer.concat([prelude, hb, body]);
    const tail = Buffer.alloc(4);
    tail.writeUInt32BE(crc32(msg));
    return Buffer.concat([msg, tail]);
}

const PADDING = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0';

/** A `chunk` event carrying one Anthropic stream event (its JSON text) and `p` padding. */
export function chunkFrame(eventJson, padLength = 1 + crypto.randomInt(PADDING.length - 1)) {
    const payload = JSON.stringify({ bytes: Buffer.from(eventJson, 'utf8').toString('base64'), p: PADDING.slice(0, padLength) });
    return encodeFrame({ ':event-type': 'chunk', ':content-type': 'application/json', ':message-type': 'event' }, payload);
}

/** An exception message, e.g. exceptionFrame('throttlingException', 'Too many tokens…'). */
export function exceptionFrame(type, message) {
    return encodeFrame({ ':exception-type': type, ':content-type': 'application/json', ':message-type': 'exception' },
        JSON.stringify({ message }));
}

/** The event JSON texts of one streamed answer (each Bedrock chunk carries one). */
export function streamEventJsons(model, opts) {
    return sseEvents(model, opts).map((e) => e.split('\n')[1].slice('data: '.length));
}

/** What the relay must make of chunks carrying `jsons`: `event: <type>\ndata: <json>\n\n` each. */
export function expectedSse(jsons) {
    return jsons.map((j) => `event: ${JSON.parse(j).type}\ndata: ${j}\n\n`).join('');
}

// ---------------------------------------------------------------------------------------------
// SigV4 (AWS Signature Version 4), as the service recomputes it

const hex = (b) => Buffer.from(b).toString('hex');
const sha256Hex = (data) => crypto.createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding of every byte except A-Z a-z 0-9 - _ . ~ (and '/' when keepSlash). */
export function uriEncode(s, keepSlash = false) {
    let out = '';
    for (const byte of Buffer.from(s, 'utf8')) {
        const c = String.fromCharCode(byte);
        if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) out += c;
        else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
    }
    return out;
}

/**
 * The canonical URI of a path as received on the wire, for every service but S3: dot segments
 * resolved, then each byte URI-encoded once more with '/' kept — so ':' becomes %3A and a '%2F'
 * on the wire becomes %252F.
 */
export function canonicalUri(wirePath) {
    const out = [];
    for (const seg of wirePath.split('/').slice(1)) {
        if (seg === '.') continue;
        if (seg === '..') { out.pop(); continue; }
        out.push(seg);
    }
    return uriEncode('/' + out.join('/'), true);
}

/** Query pairs decoded from the wire, re-encoded, sorted by key then value, joined by '&'. */
export function canonicalQuery(query) {
    if (!query) return '';
    const dec = (s) => decodeURIComponent(s.replace(/\+/g, '%20'));
    return query.split('&').filter(Boolean).map((kv) => {
        const eq = kv.indexOf('=');
        return [uriEncode(dec(eq < 0 ? kv : kv.slice(0, eq))), uriEncode(eq < 0 ? '' : dec(kv.slice(eq + 1)))];
    }).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
        .map(([k, v]) => `${k}=${v}`).join('&');
}

/** name → value for each signed header: values of repeated headers joined by ',', each trimmed with inner runs of spaces collapsed. */
function headerValues(rawHeaders) {
    const out = {};
    for (let i = 0; i < rawHeaders.length; i += 2) {
        const name = rawHeaders[i].toLowerCase();
        const value = String(rawHeaders[i + 1]).trim().replace(/ +/g, ' ');
        out[name] = name in out ? `${out[name]},${value}` : value;
    }
    return out;
}

/**
 * The steps of a SigV4 signature. `rawHeaders`: [name, value, …] as received (or an object);
 * `path` as on the wire; `bodyHash` defaults to sha256(body).
 * Returns { canonicalRequest, stringToSign, signature }.
 */
export function sigv4({ method, path, query = '', rawHeaders, signedHeaders, body = '', bodyHash, secret, amzDate, region, service }) {
    const pairs = Array.isArray(rawHeaders) ? rawHeaders : Object.entries(rawHeaders).flat();
    const values = headerValues(pairs);
    const canonicalRequest = [
        method,
        canonicalUri(path),
        canonicalQuery(query),
        signedHeaders.map((h) => `${h}:${values[h] ?? ''}\n`).join(''),
        signedHeaders.join(';'),
        bodyHash ?? sha256Hex(body),
    ].join('\n');
    const date = amzDate.slice(0, 8);
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, `${date}/${region}/${service}/aws4_request`,
        sha256Hex(canonicalRequest)].join('\n');
    const kSigning = hmac(hmac(hmac(hmac('AWS4' + secret, date), region), service), 'aws4_request');
    return { canonicalRequest, stringToSign, signature: hex(hmac(kSigning, stringToSign)) };
}

const AUTH_RE = /^AWS4-HMAC-SHA256 Credential=([^/,]+)\/(\d{8})\/([^/,]+)\/([^/,]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/**
 * Checks a recorded request's SigV4 Authorization header as AWS would. Returns null when it is
 * accepted, else { status, type, message } (the error AWS answers). `requireSigned`: headers the
 * signature must cover (AWS itself only insists on host and x-amz-date; the relay promises more).
 */
export function verifySigV4(rec, {
    accessKeyId, secretAccessKey, sessionToken, region = 'us-east-1', service = 'bedrock',
    requireSigned = ['content-type', 'host', 'x-amz-content-sha256', 'x-amz-date'], maxSkewMs = 5 * 60_000,
    now = Date.now(),
}) {
    const auth = rec.headers.authorization;
    if (!auth) return { status: 403, type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
    const m = AUTH_RE.exec(auth);
    if (!m) {
        return { status: 403, type: 'IncompleteSignatureException',
            message: `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization=${auth.split(' ')[0]}` };
    }
    const [, akid, date, reg, svc, signed, sig] = m;
    const bad = (message, type = 'InvalidSignatureException') => ({ status: 403, type, message });
    if (akid !== accessKeyId) return bad('The security token included in the request is invalid.', 'UnrecognizedClientException');
    if (sessionToken !== undefined && rec.headers['x-amz-security-token'] !== sessionToken) {
        return bad('The security token included in the request is invalid.', 'UnrecognizedClientException');
    }
    if (reg !== region) return bad(`Credential should be scoped to a valid region. `);
    if (svc !== service) return bad(`Credential should be scoped to correct service: '${service}'. `);
    const amzDate = rec.headers['x-amz-date'];
    if (!/^\d{8}T\d{6}Z$/.test(amzDate ?? '')) return bad('Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header.', 'IncompleteSignatureException');
    if (amzDate.slice(0, 8) !== date) return bad(`Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${date}' != '${amzDate.slice(0, 8)}'`);
    const t = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8),
        +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
    if (Math.abs(now - t) > maxSkewMs) return bad(`Signature expired: ${amzDate} is now earlier or later than the allowed window.`);
    const signedHeaders = signed.split(';');
    const sorted = [...signedHeaders].sort();
    if (signedHeaders.some((h, i) => h !== sorted[i])) return bad(SIGNATURE_MISMATCH); // AWS signs them sorted
    const need = [...requireSigned, ...(sessionToken !== undefined ? ['x-amz-security-token'] : [])];
    const missing = need.filter((h) => !signedHeaders.includes(h));
    if (missing.length) return bad(`Signed headers do not cover ${missing.join(', ')} (fake: the relay signs them)`, 'IncompleteSignatureException');
    const claimed = rec.headers['x-amz-content-sha256'];
    if (claimed !== undefined && claimed !== sha256Hex(rec.body)) {
        return { status: 400, type: 'XAmzContentSHA256Mismatch', message: 'The provided \'x-amz-content-sha256\' header does not match what was computed.' };
    }
    const { signature } = sigv4({
        method: rec.method, path: rec.path, query: rec.query, rawHeaders: rec.rawHeaders, signedHeaders,
        body: rec.body, secret: secretAccessKey, amzDate, region, service,
    });
    return signature === sig ? null : bad(SIGNATURE_MISMATCH);
}

// ---------------------------------------------------------------------------------------------
// The fake

const ROUTE = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream|count-tokens)$/;

function awsError(res, status, type, message, { typeSuffix = '', messageKey = 'message' } = {}) {
    sendJson(res, status, { [messageKey]: message }, {
        'x-amzn-errortype': type + typeSuffix,
        'x-amzn-requestid': crypto.randomUUID(),
    });
}

/** Bedrock's check of an InvokeModel body for an Anthropic model: null when acceptable. */
function invokeBodyProblem(text) {
    let body;
    try { body = JSON.parse(text); } catch { return 'Malformed input request, please reformat your input and try again.'; }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'Malformed input request: expected type: JSONObject';
    for (const k of ['model', 'stream']) {
        if (k in body) return `Malformed input request: #: extraneous key [${k}] is not permitted, please reformat your input and try again.`;
    }
    if (!('anthropic_version' in body)) return 'Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again.';
    if (body.anthropic_version !== BEDROCK_VERSION) return `Invalid API version: ${body.anthropic_version}`;
    if (!('max_tokens' in body)) return 'Malformed input request: #: required key [max_tokens] not found, please reformat your input and try again.';
    if (text.includes('x-anthropic-billing-header')) {
        return 'x-anthropic-billing-header is a reserved keyword and may not be used in the system prompt.';
    }
    return null;
}

/**
 * Options: SigV4 credentials { accessKeyId, secretAccessKey, sessionToken, region ('us-east-1'),
 * requireSigned } or { bearer }; { events (text deltas per stream, 4), inputTokens }.
 */
export async function startBedrock(opts = {}) {
    const { bearer, events = 4, inputTokens = MOCK_COUNT_TOKENS } = opts;
    return startFake(async (rec, res, spec) => {
        rec.authError = bearer
            ? (rec.headers.authorization === `Bearer ${bearer}` ? null
                : { status: 403, type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' })
            : verifySigV4(rec, opts);
        if (rec.authError) return awsError(res, rec.authError.status, rec.authError.type, rec.authError.message);

        const m = rec.method === 'POST' ? ROUTE.exec(rec.path) : null;
        if (!m) return awsError(res, 404, 'UnknownOperationException', 'UnknownOperationException');
        rec.modelIdWire = m[1];
        rec.modelId = decodeURIComponent(m[1]);
        rec.op = m[2];

        if (spec?.kind === 'error') {
            return awsError(res, spec.status ?? BEDROCK_ERRORS[spec.type] ?? 500, spec.type,
                spec.message ?? `${spec.type} (fake)`, spec);
        }
        if (!/^application\/json\b/.test(rec.headers['content-type'] ?? '')) {
            return awsError(res, 415, 'UnsupportedMediaTypeException', `Unsupported Media Type: ${rec.headers['content-type']}`);
        }

        if (rec.op === 'count-tokens') {
            const b64 = rec.json?.input?.invokeModel?.body;
            if (typeof b64 !== 'string' || Object.keys(rec.json).length !== 1 || Object.keys(rec.json.input).length !== 1) {
                return awsError(res, 400, 'ValidationException', '1 validation error detected: Value at \'input\' failed to satisfy constraint');
            }
            rec.inner = Buffer.from(b64, 'base64');
            try { rec.innerJson = JSON.parse(rec.inner.toString('utf8')); } catch { /* invokeBodyProblem says why */ }
            const why = invokeBodyProblem(rec.inner.toString('utf8'));
            if (why) return awsError(res, 400, 'ValidationException', why);
            return sendJson(res, 200, { inputTokens: spec?.inputTokens ?? inputTokens },
                { 'x-amzn-requestid': crypto.randomUUID() });
        }

        const why = invokeBodyProblem(rec.body.toString('utf8'));
        if (why) return awsError(res, 400, 'ValidationException', why);

        if (rec.op === 'invoke') {
            const msg = messageBody(rec.modelId);
            return sendJson(res, 200, msg, {
                'x-amzn-requestid': crypto.randomUUID(),
                'x-amzn-bedrock-input-token-count': String(msg.usage.input_tokens),
                'x-amzn-bedrock-output-token-count': String(msg.usage.output_tokens),
                'x-amzn-bedrock-invocation-latency': '321',
            });
        }

        const jsons = streamEventJsons(rec.modelId, { events: spec?.events ?? events, ...(spec?.text ? { text: spec.text } : {}) });
        const count = spec?.after ?? jsons.length;
        rec.sent = jsons.slice(0, count);
        rec.frames = rec.sent.map((j) => chunkFrame(j));
        const tail = [];
        if (spec?.kind === 'exception') tail.push(exceptionFrame(spec.type, spec.message));
        if (spec?.kind === 'truncate') tail.push(chunkFrame(jsons[count] ?? '{"type":"ping"}').subarray(0, 10));
        res.writeHead(200, {
            'content-type': 'application/vnd.amazon.eventstream',
            'x-amzn-bedrock-content-type': 'application/json',
            'x-amzn-requestid': crypto.randomUUID(),
        });
        res.flushHeaders();
        const all = Buffer.concat([...rec.frames, ...tail]);
        // Frame boundaries, then the cuts: inside frame 0's prelude; frames 1 and 2 in one write;
        // frame 3 cut inside its payload and its tail sent with frame 4's first 5 bytes; every
        // later frame on its own.
        const ends = [];
        for (const f of [...rec.frames, ...tail]) ends.push((ends.at(-1) ?? 0) + f.length);
        const cuts = [7, ends[0], ends[2]];
        if (ends.length > 4) cuts.push(ends[2] + Math.floor(rec.frames[3].length / 2), ends[3] + 5, ...ends.slice(4));
        else cuts.push(...ends);
        await writeInPieces(res, all, cuts.filter((c) => c !== undefined));
        res.end();
    });
}
