import { describe, expect, it } from 'vitest';
import { AgentCoverage, ProgressivePacer } from '../../../src/dialer/pacing/index.js';
import { snapshot } from './snapshot-fixture.js';

/** x serves A and B, y serves A only, z serves B only. */
const serves = (agent: string, campaign: string) =>
  ({ x: ['A', 'B'], y: ['A'], z: ['B'] })[agent as 'x' | 'y' | 'z'].includes(campaign);

describe('AgentCoverage', () => {
  it('a call of one campaign holds a shared agent against the other', () => {
    const c = new AgentCoverage(['x'], serves);
    expect(c.headroom('A', 5)).toBe(1);
    expect(c.headroom('B', 5)).toBe(1);
    expect(c.add('A')).toBe(true);
    expect(c.headroom('B', 5)).toBe(0);
    expect(c.headroom('A', 5)).toBe(0);
    // A call nobody can take is demand without cover.
    expect(c.add('B')).toBe(false);
    expect(c.covered).toBe(1);
  });

  it('moves a call to another agent to make room (augmenting path)', () => {
    const c = new AgentCoverage(['x', 'y'], serves);
    // A's call first takes x; B's call can still be covered by moving A's to y.
    expect(c.add('A')).toBe(true);
    expect(c.headroom('B', 5)).toBe(1);
    expect(c.add('B')).toBe(true);
    expect(c.headroom('A', 5)).toBe(0);
    expect(c.covered).toBe(2);
  });

  it('says which agent can be taken without leaving a call uncovered', () => {
    const c = new AgentCoverage(['x', 'y'], serves);
    c.add('B');
    // B's call can only go to x: an answered A customer should take y.
    expect(c.spare('x')).toBe(false);
    expect(c.spare('y')).toBe(true);
    const d = new AgentCoverage(['x', 'y', 'z'], serves);
    d.add('B');
    // B's call can move to z, so x is spare too.
    expect(d.spare('x')).toBe(true);
  });

  it('matches a call placed on a node only to agents on that node (media never crosses nodes)', () => {
    const nodeOf: Record<string, string> = { x: 'n1', y: 'n2' };
    const c = new AgentCoverage(['x', 'y'], (a, _campaign, node) => node === undefined || nodeOf[a] === node);
    expect(c.headroom('A', 5, 'n1')).toBe(1);
    expect(c.add('A', 'n1')).toBe(true);
    // n1's one agent is taken: another n1 call is not covered, though y (on n2) is ready.
    expect(c.headroom('A', 5, 'n1')).toBe(0);
    expect(c.add('A', 'n1')).toBe(false);
    expect(c.headroom('A', 5, 'n2')).toBe(1);
    // Anywhere: what the nodes can take together.
    expect(c.headroom('A', 5)).toBe(1);
  });

  it('the progressive pacer places what the coverage leaves, not ready minus its own calls', () => {
    const pacer = new ProgressivePacer();
    expect(pacer.decide(snapshot({ agents: { ready: 1, uncoveredReady: 0 } }))).toBe(0);
    expect(pacer.decide(snapshot({ agents: { ready: 3, uncoveredReady: 2 }, calls: { dialingAgeSec: [1, 2, 3] } }))).toBe(2);
  });
});
