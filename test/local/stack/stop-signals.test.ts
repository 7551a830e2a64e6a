import { SIGNAL_STORM_MS, STOP_SIGNALS, StopSignalPolicy } from '../../../local/stack/stop-signals';

/** A policy on a clock the test moves. */
function policyAt(times: number[]): StopSignalPolicy {
  let i = 0;
  return new StopSignalPolicy(SIGNAL_STORM_MS, () => times[i++] ?? NaN);
}

describe('Class: StopSignalPolicy', () => {
  it('the first signal stops cleanly', () => {
    expect(policyAt([5]).receive()).toBe('stop');
  });

  it('signals within the window of the first (a process group signal and npm forwarding it) are the same stop, not "again"', () => {
    const policy = policyAt([100, 101, 100 + SIGNAL_STORM_MS - 1]);
    expect([policy.receive(), policy.receive(), policy.receive()]).toEqual(['stop', 'same-stop', 'same-stop']);
  });

  it('a signal once the window has passed quits at once, even after a storm', () => {
    const policy = policyAt([0, 3, SIGNAL_STORM_MS, SIGNAL_STORM_MS + 5000]);
    expect([policy.receive(), policy.receive(), policy.receive(), policy.receive()]).toEqual(['stop', 'same-stop', 'quit', 'quit']);
  });

  it('stops on Ctrl-C, SIGTERM and a closed terminal', () => {
    expect([...STOP_SIGNALS].sort()).toEqual(['SIGHUP', 'SIGINT', 'SIGTERM']);
  });
});
