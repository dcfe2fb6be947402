/** The shapes the console reads from the public JSON API (src/api/routes/*.ts) and the console session endpoints. */

export type Role = 'admin' | 'operator' | 'viewer';

export interface Session {
  organizationId: string;
  organizationName: string;
  role: Role;
  keyName: string;
  csrfToken: string;
}

export type EntityState = 'healthy' | 'warning' | 'paused' | 'recovering';
export type EntityKind = 'mailbox' | 'domain';
export type Mode = 'observe' | 'suggest' | 'enforce';

export interface AutomationStopped {
  at: string;
  reason: string;
}

export interface EngineFields {
  state: EntityState;
  riskScore: number;
  pauseReason: string | null;
  cooldownUntil: string | null;
  stateChangedAt: string | null;
  automationStopped: AutomationStopped | null;
  workflowId: string;
  temporalUrl: string | null;
}

export interface WindowCounts {
  sent: number;
  hardBounces: number;
  failures: number;
  reputationBlocks?: number;
}

export interface Rates {
  hardBounceRate: number;
  failureRate: number;
  reputationRate?: number;
}

export type WindowName = '1h' | '24h' | '7d';

export interface HealthFields extends EngineFields {
  windows: Record<WindowName, WindowCounts>;
  rates: Record<WindowName, Rates>;
  velocity: { hardBounceRate: number; failureRate: number };
}

export interface Mailbox extends HealthFields {
  email: string;
  domain: string;
  deletedExternally: boolean;
}

export interface Domain extends HealthFields {
  domain: string;
  degradedMailboxes: string[];
  mailboxes: string[];
  mailboxCount: number;
}

export interface Campaign extends HealthFields {
  campaignId: string;
  name: string;
  status: string;
  deletedExternally: boolean;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface CampaignHold {
  holder: string;
  reason: string;
  since: string;
  applied: boolean;
}

export interface Overview {
  leads: { held: number; active: number; paused: number; completed: number };
  unrouted: number;
  heldReasons: { campaignId: string | null; reason: string; leads: number }[];
  quarantinedSources: { source: string; reason: string; since: string }[];
  pausedDomains: (EngineFields & { domain: string; degradedMailboxes: string[] })[];
  pausedMailboxes: (EngineFields & { email: string })[];
  pausedCampaigns: (EngineFields & { campaignId: string; name: string; status: string; degradedMailboxes: string[]; holds: CampaignHold[] })[];
  automationStopped: { entityType: 'mailbox' | 'campaign' | 'domain'; entityId: string; at: string; reason: string; workflowId: string; temporalUrl: string | null }[];
  mode: Mode;
  integrations: { smartlead: { status: 'configured' | 'broken' | 'not_configured'; brokenReason: string | null } };
  attention: string[];
}

export interface RoutingRule {
  name: string;
  when: { persona?: string | string[]; minScore?: number; maxScore?: number };
  campaignId: string;
}

export interface RoutingRules {
  version: number;
  rules: RoutingRule[];
  updatedAt: string | null;
}

export interface SeriesPoint {
  start: string;
  sent: number;
  hardBounces: number;
  failures: number;
  hardBounceRate: number | null;
  failureRate: number | null;
}

export interface Series {
  entity: unknown;
  window: '24h' | '7d';
  bucketMinutes: number;
  points: SeriesPoint[];
}

export interface AuditEntry {
  id: string;
  at: string;
  entityType: string;
  entityId: string;
  action: string;
  actor: string;
  mode: string;
  outcome?: string | null;
  trigger: {
    signals?: string[];
    metric?: string;
    observed?: unknown;
    threshold?: unknown;
    window?: string;
    before?: unknown;
    after?: unknown;
    [key: string]: unknown;
  };
  engineVersion: string;
  settingsVersion: number;
  message: string;
}

export interface AuditVerification {
  ok: boolean;
  checked: number;
  unsealed: number;
  sealedThrough?: string | null;
  headHash?: string | null;
  message?: string;
  firstBroken?: {
    auditId: string;
    at: string | null;
    entityType: string | null;
    entityId: string | null;
    action: string | null;
    reason: string;
    detail?: string;
  };
}

export interface RatePair {
  warning: number;
  pause: number;
}

export interface Thresholds {
  minSample: number;
  hardBounceRate: RatePair;
  failureRate: RatePair;
  reputationRate: RatePair;
  velocity: { warning: number };
  sustainMinutes: number;
  cooldownMinutes: number;
  maxCooldownMinutes: number;
  probationMinutes: number;
  campaignDegradedMailboxes: number;
  domainDegradedMailboxes: number;
  escalationLoopPauses: number;
  gateMaxRiskScore: number;
}

export interface Settings {
  mode: Mode;
  settingsVersion: number;
  thresholds: Thresholds;
  updatedAt: string | null;
}

export interface FieldProblem {
  path: string;
  message: string;
}
