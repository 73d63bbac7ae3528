// The requests a mock server recorded, and waits for one of them: shared by the mock backend
// (backend.mjs) and the cloud fakes (fake-http.mjs).
//
//   const log = requestLog('mock backend');
//   log.add(rec);                        // as each request arrives
//   await log.waitFor((r) => r.path === '/x', 5000);

export function requestLog(who) {
    const requests = [];
    const waiters = new Set();
    return {
        requests,
        /** Records `rec` and settles the waits it matches. */
        add(rec) {
            requests.push(rec);
            for (const w of [...waiters]) w.check();
        },
        /** Resolves with the first recorded request matching pred (default: any) within timeoutMs. */
        waitFor(pred = () => true, timeoutMs = 5000) {
            return new Promise((resolve, reject) => {
                const w = {
                    check() {
                        const hit = requests.find(pred);
                        if (hit) { clearTimeout(timer); waiters.delete(w); resolve(hit); }
                    },
                };
                const timer = setTimeout(() => {
                    waiters.delete(w);
                    reject(new Error(`${who}: no matching request within ${timeoutMs} ms ` +
                        `(seen: ${requests.map((r) => `${r.method} ${r.url}`).join(', ') || 'none'})`));
                }, timeoutMs);
                waiters.add(w);
                w.check();
            });
        },
    };
}
