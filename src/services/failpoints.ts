// Fault injection for crash tests: armed with a point's name (`skuld orders` reads it from
// SKULD_FAILPOINT), the process kills itself with SIGKILL (no cleanup, no flush, as a power cut
// or an OOM kill would) the first time it reaches that point. Not a setting: nothing but a crash
// test has a reason to arm one.

/** The points: after an owed call is recorded (orders), and after its answer came, before it is recorded. */
export const failpoints = ['orders:owed', 'orders:answered', 'purchases:answered'] as const;

export type Failpoint = (typeof failpoints)[number];

export type FailpointHook = (point: Failpoint) => void;

/** The hook for the armed point (a name that is no point arms none). */
export function killAt(armed: string | undefined): FailpointHook {
  if (!(failpoints as readonly string[]).includes(armed ?? '')) return () => undefined;
  return (point) => {
    if (point === armed) process.kill(process.pid, 'SIGKILL');
  };
}
