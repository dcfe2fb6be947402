/** Production API process: external Postgres and Temporal only. Scale by running more of these behind a balancer. */
import { config } from '../config';
import { startApiComponent } from './components';
import { runMain } from './main';
import { externalSettings } from './settings';

runMain('drason-api', async () => startApiComponent(externalSettings(config())));
