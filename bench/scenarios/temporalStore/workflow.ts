/**
 * The temporal-store benchmark's workflow: what a mailbox workflow does with a bounce, reduced to Temporal's part of it
 * (take a signal, run one local activity in that workflow task, wait again). Bounded: it continues-as-new every 500.
 */
import { condition, continueAsNew, defineSignal, proxyLocalActivities, setHandler } from '@temporalio/workflow';

export const tickSignal = defineSignal<[number]>('tick');
const { handled } = proxyLocalActivities<{ handled(n: number): Promise<void> }>({ startToCloseTimeout: '10 seconds' });

export async function signalCycleWorkflow(): Promise<void> {
  let waiting = 0;
  setHandler(tickSignal, () => {
    waiting += 1;
  });
  for (let run = 0; run < 500; ) {
    await condition(() => waiting > 0);
    const n = waiting;
    waiting = 0;
    run += n;
    await handled(n);
  }
  await continueAsNew<typeof signalCycleWorkflow>();
}
