// The slice of npm ari-client (untyped JavaScript, a dev dependency) that bench/ari-overhead.ts uses to compare it with src/pbx/ari.ts.
declare module 'ari-client' {
  import type { EventEmitter } from 'node:events';

  type Params = Record<string, unknown>;
  type Operation = (params?: Params) => Promise<unknown>;

  export interface AriClient extends EventEmitter {
    channels: Record<'originate' | 'hangup' | 'get' | 'list' | 'play' | 'answer' | 'setChannelVar' | 'continueInDialplan', Operation>;
    bridges: Record<'create' | 'destroy' | 'addChannel' | 'removeChannel' | 'record' | 'get' | 'list' | 'play', Operation>;
    recordings: Record<'stop' | 'getStored' | 'deleteStored' | 'getStoredFile' | 'listStored' | 'getLive', Operation>;
    playbacks: Record<'stop' | 'get', Operation>;
    applications: Record<'get' | 'list' | 'filter' | 'subscribe', Operation>;
    asterisk: Record<'getInfo' | 'updateObject' | 'deleteObject' | 'getObject' | 'ping', Operation>;
    endpoints: Record<'list' | 'get', Operation>;
    start(apps: string | string[], subscribeAll?: boolean): Promise<void>;
    stop(): void;
  }

  const ari: { connect(url: string, user: string, password: string): Promise<AriClient> };
  export default ari;
}
