// The slice of npm asterisk-manager (untyped, callback-only JavaScript) that src/pbx/ami.ts uses.
declare module 'asterisk-manager' {
  import type { EventEmitter } from 'node:events';

  /** Keys are lower-cased header names; a header repeated in one message becomes an array. */
  export type AmiMessage = Record<string, string | string[] | Record<string, string> | undefined>;

  export interface AmiManager extends Pick<EventEmitter, 'on' | 'once' | 'removeListener' | 'removeAllListeners' | 'emit'> {
    options: { port: number; host: string; username: string; password: string; events: boolean };
    connect(port: number, host: string, callback?: (err: unknown) => void): void;
    login(callback?: (err: AmiMessage | undefined) => void): void;
    action(action: Record<string, string>, callback?: (err: AmiMessage | undefined, res: AmiMessage) => void): string;
    disconnect(callback?: () => void): void;
    isConnected(): boolean;
  }

  const Manager: new (port: number | undefined, host: string, username: string, password: string, events: boolean) => AmiManager;
  export default Manager;
}
