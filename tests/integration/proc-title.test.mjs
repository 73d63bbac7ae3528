// Process titles: `ps` tells the master and its workers apart (issue 10), while the short name
// stays `cc-relay` so pgrep and top still find them all.

import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { describe, it } from 'node:test';

import { waitFor } from '../lib/http.mjs';
import { relayOverMock } from '../lib/relay.mjs';

async function cmdline(pid) {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0+$/, '').replaceAll('\0', ' ');
}

async function children(pid) {
    const out = [];
    for (const tid of await readdir(`/proc/${pid}/task`)) {
        const list = (await readFile(`/proc/${pid}/task/${tid}/children`, 'utf8')).trim();
        if (list) out.push(...list.split(/\s+/).map(Number));
    }
    return out;
}

describe('process titles', { timeout: 30_000 }, () => {
    let relay;
    relayOverMock((b, r) => { relay = r; }, (backend) => ({
        server: { workers: 2 },
        providers: [{ name: 'mock', type: 'anthropic', enabled: true, base_url: backend.url }],
    }));

    it('names the master with its config and each worker with its slot and generation', async () => {
        const master = relay.proc.pid;
        assert.equal(await cmdline(master), `cc-relay: master ${relay.configFile}`);
        const workers = await waitFor(async () => {
            const kids = await children(master);
            return kids.length === 2 ? kids : null;
        }, { what: 'two workers' });
        const titles = (await Promise.all(workers.map(cmdline))).sort();
        assert.deepEqual(titles, ['cc-relay: worker 0 gen 1', 'cc-relay: worker 1 gen 1']);
        for (const pid of [master, ...workers]) {
            assert.equal((await readFile(`/proc/${pid}/comm`, 'utf8')).trim(), 'cc-relay');
        }
    });
});
