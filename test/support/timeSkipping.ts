/** The Temporal time-skipping test server, from .tools/ (installed by scripts/setup.sh), never downloaded. */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporalTestServerPath } from '../../src/embedded/binaries';
import { installTemporalRuntime } from '../../src/workers/components';

export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  installTemporalRuntime('ERROR');
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
  });
}
