import { performance } from 'node:perf_hooks';
import { StartupTimeline, nodeBootstrapMs } from '../../../local/stack/startup-timeline';

describe('StartupTimeline', () => {
  it('records each step at its clock time, rounded, in the order they ended; at() finds one', () => {
    const times = [12.4, 30.6, 31.2];
    const timeline = new StartupTimeline(() => times.shift() ?? NaN);
    timeline.record('node ready', 7.7);
    expect(timeline.mark('code loaded')).toBe(12);
    timeline.mark('dynamodb tables');
    timeline.mark('healthy');
    expect(timeline.phases).toEqual([
      { phase: 'node ready', atMs: 8 },
      { phase: 'code loaded', atMs: 12 },
      { phase: 'dynamodb tables', atMs: 31 },
      { phase: 'healthy', atMs: 31 },
    ]);
    expect(timeline.at('dynamodb tables')).toBe(31);
    expect(timeline.at('lake open')).toBeUndefined();
  });

  it('counts from the process start by default: a mark is never before Node finished its own start-up', () => {
    const timeline = new StartupTimeline();
    const at = timeline.mark('now');
    expect(at).toBeGreaterThanOrEqual(nodeBootstrapMs());
    expect(Math.abs(at - performance.now())).toBeLessThan(50);
  });

  it('hands out a copy: changing it changes nothing recorded', () => {
    const timeline = new StartupTimeline(() => 1);
    timeline.mark('a');
    (timeline.phases as { phase: string; atMs: number }[]).push({ phase: 'b', atMs: 2 });
    expect(timeline.phases).toEqual([{ phase: 'a', atMs: 1 }]);
  });
});
