// Which number a call presents, by rule: a call back to a contact who had called the hotline shows
// the hotline they called (rule A.8); otherwise, with local presence, a pool number in the
// callee's area code (NANP) or country; otherwise the campaign's default. Numbers at their daily
// cap are passed over.
export interface CallerIdCandidate {
  number: string;
  isHotline: boolean;
  dailyCap: number | null;
  usedToday: number;
}

export interface CallerIdChoice {
  number: string | null;
  rule: 'hotline-called' | 'local-presence' | 'campaign-default' | 'pool' | 'none-under-cap';
}

function prefixOf(e164: string): string {
  // NANP: country code and area code (+1 305); elsewhere the first digits after the plus.
  return e164.startsWith('+1') ? e164.slice(0, 5) : e164.slice(0, 4);
}

export function chooseCallerId(
  callee: string,
  opts: { defaultNumber: string; pool: readonly CallerIdCandidate[]; localPresence: boolean; calledHotline: string | null },
): CallerIdChoice {
  const all: CallerIdCandidate[] = [...opts.pool];
  if (!all.some((c) => c.number === opts.defaultNumber)) all.push({ number: opts.defaultNumber, isHotline: false, dailyCap: null, usedToday: 0 });
  const usable = (c: CallerIdCandidate) => c.dailyCap === null || c.usedToday < c.dailyCap;
  if (opts.calledHotline) {
    const hotline = all.find((c) => c.number === opts.calledHotline && c.isHotline);
    // The customer must see the number they called: not subject to the pool's daily caps.
    if (hotline) return { number: hotline.number, rule: 'hotline-called' };
  }
  if (opts.localPresence) {
    const local = all
      .filter((c) => !c.isHotline && usable(c) && prefixOf(c.number) === prefixOf(callee))
      .sort((a, b) => a.usedToday - b.usedToday)[0];
    if (local) return { number: local.number, rule: 'local-presence' };
  }
  const def = all.find((c) => c.number === opts.defaultNumber)!;
  if (usable(def)) return { number: def.number, rule: 'campaign-default' };
  const other = all.filter((c) => !c.isHotline && usable(c)).sort((a, b) => a.usedToday - b.usedToday)[0];
  if (other) return { number: other.number, rule: 'pool' };
  return { number: null, rule: 'none-under-cap' };
}
