/** The Temporal time-skipping test server, from .tools/ (installed by scripts/setup.sh), never downloaded. */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { temporalTestServerPath } from '../../src/embedded/binaries';
import { installTemporalRuntime } from '../../src/workers/components';
import { SEARCH_ATTRIBUTES } from '../../src/workflows/searchAttributes';

const { IndexedValueType } = temporal.api.enums.v1;

/** A time-skipping environment with Drason's search attributes registered (workflows upsert them). */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  installTemporalRuntime('ERROR');
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
  });
  const types = { Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, Int: IndexedValueType.INDEXED_VALUE_TYPE_INT } as const;
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(Object.entries(SEARCH_ATTRIBUTES).map(([name, type]) => [name, types[type]])),
  });
  return env;
}
