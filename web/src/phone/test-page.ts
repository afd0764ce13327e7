// A bare page around the browser phone, for its end-to-end test before the console embeds it:
// start(config) keeps the configuration in sessionStorage, so that after a reload the page
// starts the phone again by itself, as the console does from GET /api/v1/agents/:id/phone.
import { createPhone, type Phone, type PhoneConfig, type PhoneEvents } from './phone.js';

const KEY = 'dialwell-phone-test-config';

interface PhoneTest {
  phone: Phone | null;
  /** When each event first happened (performance.timeOrigin-based ms since the epoch). */
  marks: Partial<Record<keyof PhoneEvents | 'registered' | 'started', number>>;
  ended: string[];
  start(config: PhoneConfig): void;
}

declare global {
  interface Window {
    phoneTest: PhoneTest;
  }
}

const view = document.createElement('pre');
view.setAttribute('aria-live', 'polite');
document.body.append(view);

const t: PhoneTest = {
  phone: null,
  marks: {},
  ended: [],
  start(config) {
    sessionStorage.setItem(KEY, JSON.stringify(config));
    const phone = createPhone(config);
    t.phone = phone;
    t.marks.started = Date.now();
    phone.on('state', (s) => {
      if (s.registered) t.marks.registered ??= Date.now();
      view.textContent = JSON.stringify(s, null, 2);
    });
    phone.on('connected', () => (t.marks.connected ??= Date.now()));
    phone.on('audio', () => (t.marks.audio ??= Date.now()));
    phone.on('ended', (e) => t.ended.push(e.cause));
    phone.start();
  },
};
window.phoneTest = t;

const saved = sessionStorage.getItem(KEY);
if (saved) t.start(JSON.parse(saved) as PhoneConfig);
