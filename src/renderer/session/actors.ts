/** The machine's broker actors: promises for one-shot calls, a callback actor for the live workstation list. */
import { fromCallback, fromPromise } from 'xstate';
import type { SessionGrant, Workstation } from '../../shared/protocol.js';
import { BrokerError, type BrokerApi, type LoginOutcome, type SignedInUser } from '../api/broker.js';
import { WORKSTATION_POLL_MS } from './policy.js';
import type { Failure } from './types.js';

export function toFailure(error: unknown): Failure {
  if (error instanceof BrokerError) return { code: error.code, message: error.message };
  return { code: 'ERR_INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

export const loginActor = fromPromise<LoginOutcome, { broker: BrokerApi; username: string; password: string; brokerUrl?: string }>(({ input }) =>
  input.broker.login(input.username, input.password, input.brokerUrl),
);

/** The remembered sign-in (desktop app); a broker without `resume` has nothing remembered. */
export const resumeActor = fromPromise<SignedInUser | null, { broker: BrokerApi }>(({ input }) => (input.broker.resume ? input.broker.resume() : Promise.resolve(null)));

export const totpActor = fromPromise<SignedInUser, { broker: BrokerApi; code: string }>(({ input }) => input.broker.submitTotp(input.code));

export const grantActor = fromPromise<SessionGrant, { broker: BrokerApi; workstationId: string }>(({ input }) =>
  input.broker.requestSession(input.workstationId),
);

export type PollerEvent = { type: 'workstations.loaded'; workstations: Workstation[] } | { type: 'workstations.failed'; failure: Failure };

/** Lists the workstations now, then every WORKSTATION_POLL_MS, and again on `workstations.refresh`. */
export const workstationPoller = fromCallback<{ type: 'workstations.refresh' }, { broker: BrokerApi }, PollerEvent>(({ input, sendBack, receive }) => {
  let stopped = false;
  let inFlight = false;
  const load = () => {
    if (inFlight || stopped) return;
    inFlight = true;
    input.broker
      .listWorkstations()
      .then((workstations) => !stopped && sendBack({ type: 'workstations.loaded', workstations }))
      .catch((err: unknown) => !stopped && sendBack({ type: 'workstations.failed', failure: toFailure(err) }))
      .finally(() => {
        inFlight = false;
      });
  };
  load();
  const timer = setInterval(load, WORKSTATION_POLL_MS);
  receive(() => load());
  return () => {
    stopped = true;
    clearInterval(timer);
  };
});
