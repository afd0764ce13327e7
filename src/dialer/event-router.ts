// Routes ARI events to the session that owns the channel or recording. One map lookup per event
// instead of per-instance listeners (ari-client leaves those registered after a channel is gone).
import type { AriEvent } from '../pbx/ari-types.js';
import { eventChannelId } from '../pbx/ari-types.js';

export type EventHandler = (e: AriEvent) => void;

export class EventRouter {
  private readonly channels = new Map<string, EventHandler>();
  private readonly recordings = new Map<string, EventHandler>();

  constructor(
    /** Events nobody claimed (a channel from before a reconnect, or another process's): the
     * dialer takes such customers over and hangs up stray softphones. */
    private readonly unrouted: EventHandler = () => {},
  ) {}

  onChannel(channelId: string, h: EventHandler): void {
    this.channels.set(channelId, h);
  }

  offChannel(channelId: string): void {
    this.channels.delete(channelId);
  }

  onRecording(name: string, h: EventHandler): void {
    this.recordings.set(name, h);
  }

  offRecording(name: string): void {
    this.recordings.delete(name);
  }

  get size(): number {
    return this.channels.size + this.recordings.size;
  }

  dispatch(e: AriEvent): void {
    let h: EventHandler | undefined;
    if (e.type === 'RecordingStarted' || e.type === 'RecordingFinished' || e.type === 'RecordingFailed') {
      h = this.recordings.get(e.recording.name);
    } else {
      const id = eventChannelId(e);
      if (id !== undefined) h = this.channels.get(id);
    }
    (h ?? this.unrouted)(e);
  }
}
