/** Production worker process: external Postgres and Temporal only. Scale by running more of these. */
import { config } from '../config';
import { startWorkerComponent } from './components';
import { runMain } from './main';
import { externalSettings } from './settings';

runMain('drason-worker', async () => startWorkerComponent(externalSettings(config())));
