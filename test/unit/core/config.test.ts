import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';

describe('configuration from the environment', () => {
  it('has working defaults for the local stack', () => {
    const c = loadConfig({});
    expect(c.ARI_URL).toBe('http://127.0.0.1:8088');
    expect(c.ARI_MAX_SOCKETS).toBe(40);
    expect(c.PORT).toBe(8080);
  });
  it('names the bad variable and says why', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL: must be a URL starting with postgres:/);
    expect(() => loadConfig({ ARI_APP: 'has space' })).toThrow(/ARI_APP/);
  });
  it('reads the report settings and the metrics token', () => {
    const d = loadConfig({});
    expect(d).toMatchObject({ REPORT_EFFECTIVE_TALK_SECONDS: 30, REPORT_SUCCESS_RESULTS: ['sale'] });
    expect(d.METRICS_TOKEN).toBeUndefined();
    const c = loadConfig({ REPORT_EFFECTIVE_TALK_SECONDS: '45', REPORT_SUCCESS_RESULTS: 'sale, appointment', METRICS_TOKEN: 'x'.repeat(16) });
    expect(c).toMatchObject({ REPORT_EFFECTIVE_TALK_SECONDS: 45, REPORT_SUCCESS_RESULTS: ['sale', 'appointment'], METRICS_TOKEN: 'x'.repeat(16) });
    expect(() => loadConfig({ REPORT_SUCCESS_RESULTS: 'Sale!' })).toThrow(/REPORT_SUCCESS_RESULTS: must be comma-separated/);
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN: must be at least 16/);
  });
  it('reads the call writer\'s gather window (ms, 0 to 1000)', () => {
    expect(loadConfig({}).CALL_WRITE_GATHER_MS).toBe(15);
    expect(loadConfig({ CALL_WRITE_GATHER_MS: '0' }).CALL_WRITE_GATHER_MS).toBe(0);
    expect(loadConfig({ CALL_WRITE_GATHER_MS: '50' }).CALL_WRITE_GATHER_MS).toBe(50);
    expect(() => loadConfig({ CALL_WRITE_GATHER_MS: '-1' })).toThrow(/CALL_WRITE_GATHER_MS/);
    expect(() => loadConfig({ CALL_WRITE_GATHER_MS: '2000' })).toThrow(/CALL_WRITE_GATHER_MS/);
    expect(() => loadConfig({ CALL_WRITE_GATHER_MS: 'soon' })).toThrow(/CALL_WRITE_GATHER_MS/);
  });
  it('reads where agents\' browsers reach Asterisk\'s websocket (ws or wss only)', () => {
    expect(loadConfig({}).WEBRTC_WS_URL).toBe('ws://127.0.0.1:8088/ws');
    expect(loadConfig({ WEBRTC_WS_URL: 'wss://pbx.example.com:8089/ws' }).WEBRTC_WS_URL).toBe('wss://pbx.example.com:8089/ws');
    expect(() => loadConfig({ WEBRTC_WS_URL: 'http://pbx.example.com:8088/ws' })).toThrow(/WEBRTC_WS_URL: must be a URL starting with ws:\/\/ or wss:\/\//);
  });
  it('TLS to Asterisk: a CA file that exists, flags, and settings that would do nothing refused', () => {
    const d = loadConfig({});
    expect(d).toMatchObject({ ARI_TLS_REJECT_UNAUTHORIZED: true, AMI_TLS: false, AMI_TLS_REJECT_UNAUTHORIZED: true });
    const ca = fileURLToPath(import.meta.url); // any readable file stands in for a PEM here
    const c = loadConfig({ ARI_URL: 'https://pbx.example:8089', ARI_CA_FILE: ca, AMI_TLS: 'yes', AMI_PORT: '5039', AMI_CA_FILE: ca, AMI_TLS_REJECT_UNAUTHORIZED: '0' });
    expect(c).toMatchObject({ ARI_CA_FILE: ca, AMI_TLS: true, AMI_PORT: 5039, AMI_TLS_REJECT_UNAUTHORIZED: false });
    expect(() => loadConfig({ ARI_URL: 'https://pbx.example:8089', ARI_CA_FILE: '/nonexistent/ca.pem' })).toThrow(/ARI_CA_FILE: must be a readable file/);
    expect(() => loadConfig({ ARI_CA_FILE: ca })).toThrow(/ARI_CA_FILE: applies to an https: ARI_URL only/);
    expect(() => loadConfig({ ARI_TLS_REJECT_UNAUTHORIZED: 'false' })).toThrow(/ARI_TLS_REJECT_UNAUTHORIZED: applies to an https:/);
    expect(() => loadConfig({ AMI_CA_FILE: ca })).toThrow(/AMI_CA_FILE: applies with AMI_TLS=true only/);
    expect(() => loadConfig({ AMI_TLS: 'maybe' })).toThrow(/AMI_TLS: must be true or false/);
  });
  it('names the Asterisk node for the metrics\' node label', () => {
    expect(loadConfig({}).PBX_NODE).toBe('default');
    expect(loadConfig({ PBX_NODE: 'pbx-2.east' }).PBX_NODE).toBe('pbx-2.east');
    expect(() => loadConfig({ PBX_NODE: 'has "quote"' })).toThrow(/PBX_NODE: letters, digits/);
  });
});
