/**
 * What PostgreSQL's busy backends are doing, sampled from pg_stat_activity during a phase: on CPU, or waiting
 * (on a lock, for the WAL to reach disk, for the client…). A cheap way to see whether the database is the limit
 * and, if so, whether it computes or queues.
 */
import type pg from 'pg';

export interface WaitProfile {
  samples: number;
  /** Busy backends seen per sample, on average. */
  meanActive: number;
  /** Share of busy-backend observations per state (`CPU` when not waiting), in percent, largest first. */
  percent: Record<string, number>;
}

export class WaitSampler {
  private readonly counts = new Map<string, number>();
  private samples = 0;
  private observations = 0;
  private running = true;
  private readonly loop: Promise<void>;

  /** `applicationNames`: only backends of these (e.g. `drason` for Drason's pools); undefined: all client backends. */
  constructor(
    private readonly client: pg.Client,
    private readonly applicationNames?: string[],
    everyMs = 50,
  ) {
    this.loop = (async () => {
      while (this.running) {
        await this.sample().catch(() => undefined);
        await new Promise((r) => setTimeout(r, everyMs));
      }
    })();
  }

  private async sample(): Promise<void> {
    const { rows } = await this.client.query<{ wait: string; n: number }>(
      `select coalesce(wait_event_type || ':' || wait_event, 'CPU') as wait, count(*)::int as n
         from pg_stat_activity
        where state = 'active' and backend_type = 'client backend' and pid <> pg_backend_pid()
          and ($1::text[] is null or application_name = any($1::text[]))
        group by 1`,
      [this.applicationNames ?? null],
    );
    this.samples += 1;
    for (const r of rows) {
      this.counts.set(r.wait, (this.counts.get(r.wait) ?? 0) + r.n);
      this.observations += r.n;
    }
  }

  async stop(): Promise<WaitProfile> {
    this.running = false;
    await this.loop;
    const percent = [...this.counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([wait, n]) => [wait, Math.round((100 * n) / Math.max(1, this.observations))] as const);
    return { samples: this.samples, meanActive: Math.round((100 * this.observations) / Math.max(1, this.samples)) / 100, percent: Object.fromEntries(percent) };
  }
}

export function describeWaits(w: WaitProfile): string {
  return `${w.meanActive} busy backends on average; ${Object.entries(w.percent)
    .map(([k, p]) => `${k} ${p}%`)
    .join(', ')}`;
}
