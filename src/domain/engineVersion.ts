/**
 * Version of the decision engine (windows, thresholds, state tables). Recorded on every audit row so a decision
 * can be explained with the rules that made it. Bump when any rule in src/domain changes behaviour.
 */
export const ENGINE_VERSION = '2026.11.0';
