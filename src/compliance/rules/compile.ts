// Turns a validated policy into the shape the rules evaluate fast: windows as minute ranges per
// weekday, overlays picked per (region, segment). Cached per policy object, which is immutable.
import type { Cap, Overlay, Policy, Rest } from '../policy.js';
import type { RuleOrigin } from './caps.js';
import { compileClosedDates, compileWindows, regionMatches, type ClosedDates, type WindowSet } from './windows.js';

/** The rules of one policy that apply to one callee region and contact segment. */
export interface PolicyView {
  windowSets: WindowSet[];
  closed: ClosedDates;
  caps: { cap: Cap; origin: RuleOrigin }[];
  rests: { rest: Rest; cap: Cap | undefined; origin: RuleOrigin }[];
}

interface CompiledPolicy {
  views: Map<string, PolicyView>;
  capsById: Map<string, Cap>;
}

const compiled = new WeakMap<Policy, CompiledPolicy>();

function compile(p: Policy): CompiledPolicy {
  const capsById = new Map<string, Cap>();
  const all: Overlay[] = [p, ...Object.values(p.regions), ...Object.values(p.segments)];
  for (const o of all) for (const c of o.caps) if (c.id !== undefined) capsById.set(c.id, c);
  return { views: new Map(), capsById };
}

function buildView(p: Policy, c: CompiledPolicy, region: string | null, segment: string | null): PolicyView {
  const view: PolicyView = { windowSets: [], closed: compileClosedDates(p.holidays, p.blackouts, region), caps: [], rests: [] };
  const add = (o: Overlay, where: string, label: string): void => {
    const origin = { policy: p.name, where };
    if (o.windows !== undefined) view.windowSets.push(compileWindows(label, o.windows));
    for (const cap of o.caps) view.caps.push({ cap, origin });
    for (const rest of o.rests) view.rests.push({ rest, cap: rest.cap === undefined ? undefined : c.capsById.get(rest.cap), origin });
  };
  add(p, '', p.name);
  // Less specific regions first ("US" before "US-FL"): all matching overlays apply.
  const regions = Object.entries(p.regions).filter(([k]) => regionMatches(k, region)).sort(([a], [b]) => a.length - b.length);
  for (const [k, o] of regions) add(o, ` in ${k}`, `${p.name} region ${k}`);
  const seg = segment === null ? undefined : p.segments[segment];
  if (seg !== undefined) add(seg, ` for segment ${segment}`, `${p.name} segment ${segment}`);
  return view;
}

export function policyView(p: Policy, region: string | null, segment: string | null): PolicyView {
  let c = compiled.get(p);
  if (c === undefined) {
    c = compile(p);
    compiled.set(p, c);
  }
  const key = `${region ?? ''}\u0000${segment ?? ''}`;
  let v = c.views.get(key);
  if (v === undefined) {
    v = buildView(p, c, region, segment);
    if (c.views.size > 1000) c.views.clear();
    c.views.set(key, v);
  }
  return v;
}
