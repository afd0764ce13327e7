// A change pushed to several nodes (pushToNodes): applied everywhere, or left pending where a node
// cannot be reached, or refused by one node and then set back on every node that took part of it
// (nothing half-applied), with a 502 naming the node. Fake PJSIP clients: only the decision logic.
import { describe, expect, it } from 'vitest';
import { PbxRefusedError, pushToNodes, type PbxTarget } from '../../../src/admin/pbx-sync.js';
import type { Db } from '../../../src/db/database.js';
import { AriError } from '../../../src/pbx/ari.js';
import type { PjsipConfigClient } from '../../../src/pbx/pjsip-config.js';

type Behaviour = 'ok' | 'refuses' | 'unreachable';

function node(name: string, behaviour: Behaviour, log: string[]): PbxTarget {
  const client: PjsipConfigClient = {
    async putConfigObject(_c, _t, id) {
      if (behaviour === 'refuses' && id === 'new') throw new AriError('ARI asterisk.updateObject failed: HTTP 400: Bad request', 400, 'asterisk.updateObject');
      if (behaviour === 'unreachable') throw new AriError('ARI asterisk.updateObject failed: connect ECONNREFUSED', null, 'asterisk.updateObject');
      log.push(`${name}:${id}`);
    },
    async deleteConfigObject() {},
  };
  return { nodeId: null, node: name, client };
}

const noDb = undefined as unknown as Db;
const apply = (c: PjsipConfigClient) => c.putConfigObject('res_pjsip', 'endpoint', 'new', {});
const undo = (c: PjsipConfigClient) => c.putConfigObject('res_pjsip', 'endpoint', 'old', {});

describe('pushToNodes', () => {
  it('applies the change on every node', async () => {
    const log: string[] = [];
    const fleet = { targets: async () => [node('a', 'ok', log), node('b', 'ok', log)] };
    expect(await pushToNodes(noDb, noDb, fleet, undefined, apply, undo)).toEqual([{ node: 'a', status: 'applied' }, { node: 'b', status: 'applied' }]);
    expect(log.sort()).toEqual(['a:new', 'b:new']);
  });

  it('stores the change and leaves it pending for a node that cannot be reached', async () => {
    const log: string[] = [];
    const fleet = { targets: async () => [node('a', 'ok', log), node('b', 'unreachable', log)] };
    const r = await pushToNodes(noDb, noDb, fleet, undefined, apply, undo);
    expect(r).toEqual([{ node: 'a', status: 'applied' }, { node: 'b', status: 'pending', reason: expect.stringContaining('ECONNREFUSED') }]);
    expect(log).toEqual(['a:new']);
  });

  it('refuses the whole change when one node refuses it, setting back the nodes that took it', async () => {
    const log: string[] = [];
    const fleet = { targets: async () => [node('a', 'ok', log), node('b', 'refuses', log), node('c', 'unreachable', log)] };
    const err = await pushToNodes(noDb, noDb, fleet, undefined, apply, undo).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PbxRefusedError);
    expect((err as PbxRefusedError).status).toBe(502);
    expect((err as Error).message).toMatch(/node "b": .*HTTP 400/);
    expect((err as Error).message).not.toMatch(/node "a"|node "c"/);
    // a took it and was set back; b (refusing) was set back too; c never had it.
    expect(log.sort()).toEqual(['a:new', 'a:old', 'b:old']);
  });
});
