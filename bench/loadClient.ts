/** Entry point of the load client's process (started by LoadClientProcess in bench/load.ts): runs jobs sent over IPC. */
import { runLoad, type FromClient, type LoadJob } from './load';

const send = (m: FromClient): void => {
  process.send?.(m);
};

process.on('message', (m: { type: 'run'; id: number; job: LoadJob }) => {
  if (m.type !== 'run') return;
  runLoad(m.job).then(
    (result) => send({ type: 'result', id: m.id, result }),
    (error: unknown) => send({ type: 'error', id: m.id, message: error instanceof Error ? error.message : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
