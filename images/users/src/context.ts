import type { Outbox } from './outbox.ts';
import type { Sessions } from './sessions.ts';
import type { Store } from './store.ts';
import type { Throttle, ThrottleRule } from './throttle.ts';

/** What the routes work with. */
export interface UsersContext {
  store: Store;
  sessions: Sessions;
  outbox: Outbox;
  clock: () => Date;
  throttle: Throttle;
  signupLimits: { mailsPerAddress: ThrottleRule; perClient: ThrottleRule };
}
