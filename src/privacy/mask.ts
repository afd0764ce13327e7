// Phone numbers shown to staff hide four digits: the four before the last four
// (+8613812345678 → +86138****5678, as the call-centre rules show it: 138****5678).
export function maskPhone(e164: string): string {
  if (e164.length < 9) return e164.replace(/\d(?=\d{2})/g, '*');
  const end = e164.length - 4;
  return `${e164.slice(0, end - 4)}****${e164.slice(end)}`;
}
