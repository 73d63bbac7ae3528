// Assertions shared by the integration tests.

import assert from 'node:assert/strict';

/** Show the relay's log when an assertion about it fails. */
export function ctx(res, relay) {
    const body = res?.body ? res.body.toString('utf8').slice(0, 600) : '';
    return `status ${res?.status}, headers ${JSON.stringify(res?.headers)}, body ${body}` +
        (relay ? `\n--- relay log (tail) ---\n${relay.logs().slice(-3000)}` : '');
}

/**
 * An error cc-relay made itself: the given status, Content-Type application/json, body
 * {"type":"error","error":{"type":T,"message":M},"request_id":ID} with ID equal to the
 * X-Request-ID response header.
 */
export function assertRelayError(res, status, errorType, relay) {
    assert.equal(res.status, status, `expected HTTP ${status}: ${ctx(res, relay)}`);
    assert.match(String(res.headers['content-type']), /^application\/json\b/,
        `Content-Type of a relay error: ${ctx(res, relay)}`);
    let body;
    assert.doesNotThrow(() => { body = res.json(); }, `error body must be JSON: ${ctx(res, relay)}`);
    assert.equal(body.type, 'error', `body.type: ${ctx(res, relay)}`);
    assert.ok(body.error && typeof body.error === 'object', `body.error: ${ctx(res, relay)}`);
    assert.equal(body.error.type, errorType, `error.type: ${ctx(res, relay)}`);
    assert.equal(typeof body.error.message, 'string');
    assert.ok(body.error.message.length > 0, 'error.message must not be empty');
    const rid = res.headers['x-request-id'];
    assert.ok(rid, `X-Request-ID header on an error: ${ctx(res, relay)}`);
    assert.equal(body.request_id, rid, 'request_id in the body equals the X-Request-ID header');
    return body;
}

/** Header value as the upstream saw it (node lower-cases names). */
export function upstreamHeader(rec, name) {
    return rec.headers[name.toLowerCase()];
}
