import type { Redis, RedisOptions } from 'ioredis';
import type { AbuseControls } from './abuse/controls';
import type { CampaignDirectory } from './campaigns/directory';
import type { PartnerOrigins } from './campaigns/partner-origins';
import type { Config } from './config';
import type { Database, DatabaseHandle } from './db/client';
import type { OutageLog } from './http/outage-log';
import type { Mailer } from './delivery/mailer';
import type { Logger } from './logger';
import type { PartnerSources } from './privacy/consent';
import type { FieldEncryption } from './db/field-encryption';
import type { SignatureInsert } from './petitions/signature-store';
import type { StatsCache } from './petitions/stats';
import type { CampaignRequests, TallyRequests } from './petitions/tally-requests';
import type { Queues } from './queue/jobs';
import type { RepresentativeDirectory } from './representatives/directory';
import type { Geocoder } from './representatives/geocoder';
import type { DistrictMapCache } from './representatives/map-outline';
import type { LetterTemplateStore } from './letters/template-store';
import type { ApiTokenUsage } from './osdi/tokens';
import type { WebhookWakeups } from './webhooks/wakeups';

/** The database's services other than its query handle (which is the context's `db`). */
export type DatabaseServices = Pick<
  DatabaseHandle,
  'driver' | 'staffDb' | 'copyOut' | 'lock' | 'ping'
>;

/**
 * The context, in slices by what needs them. Services take the members they use
 * (`Pick<AppContext, 'db' | 'logger'>`); routes take the web context; jobs the worker context.
 * All of it is built once per platform by `openPlatform`: per-platform state lives here, never in
 * module-level maps.
 */

/** Settings and the log: everything needs them. */
export interface CoreContext {
  config: Config;
  logger: Logger;
}

/** The data: the database and the keys that seal supporters' personal data in it. */
export interface DataContext {
  /**
   * What the database offers besides queries: its driver, COPY out, advisory locks, a ping, and the
   * staff console's bounded pool. Queries go through `db`, the one query handle on the context.
   */
  database: DatabaseServices;
  /** The database's query handle (in the staff console, its bounded pool: see staff/routes.ts). */
  db: Database;
  /** Seals and opens supporters' personal data in the database, and hashes email addresses for look-ups. */
  encryption: FieldEncryption;
}

/** Redis, the queues, and the requests that coalesce before they reach them. */
export interface QueueContext {
  redis: Redis;
  queues: Queues;
  tallyRequests: TallyRequests;
  /** Asks the workers to send a campaign's owed signer emails, coalesced per campaign (src/privacy/notices.ts). */
  noticeRequests: CampaignRequests;
  /** Asks the webhook worker to send the events just committed (src/webhooks). */
  webhookWakeups: WebhookWakeups;
}

/** What web and worker processes both read, kept in memory and refreshed. */
export interface DirectoryContext {
  campaigns: CampaignDirectory;
  stats: StatsCache;
  representatives: RepresentativeDirectory;
  /** Each campaign's letter templates: its own from the database, else those in `templates/letters`. */
  letterTemplates: LetterTemplateStore;
  /** The forms' fill-time tokens, the CAPTCHA, the per-email limits and the discard counts (src/abuse). */
  abuse: AbuseControls;
}

/** What only requests use. */
export interface WebOnlyContext {
  /** Requests failed by an outage (the database, Redis), logged one line per interval per kind. */
  outages: OutageLog;
  /** The signing form's insert, prepared once (src/petitions/sign-petition.ts). */
  signatureInsert: SignatureInsert;
  /** The address geocoder, when one is configured (GEOCODER). */
  geocoder: Geocoder | undefined;
  /** Campaigns' partners by source code, held a few seconds (the signing and letter forms ask). */
  partnerSources: PartnerSources;
  /** The origins allowed to call the JSON API from a browser (CORS). */
  partnerOrigins: PartnerOrigins;
  /** OSDI API tokens' use, counted in memory and written every few seconds. */
  apiTokenUsage: ApiTokenUsage;
  /** The map outline of the active representative data, read once for the dashboard and the scorecard. */
  districtMaps: DistrictMapCache;
}

/** What both kinds of process have. */
export interface SharedContext extends CoreContext, DataContext, QueueContext, DirectoryContext {}

/** The whole context, as routes and the app get it. */
export interface AppContext extends SharedContext, WebOnlyContext {}

/**
 * What a job's `perform` is given (src/<feature>/jobs/): the platform's context, and what belongs
 * to the worker of the job's queue. Built by `workerContexts` (src/worker-context.ts).
 */
export interface WorkerContext extends SharedContext {
  /** Connection options for BullMQ workers, which open their own blocking connections. */
  redisConnection: RedisOptions;
  /** The queue's outgoing mail (a pool of its own per queue), made on first use. */
  mailer: Mailer;
  /** What a job keeps for as long as its queue's worker runs (batchers, say): made on the first call with `key`. */
  kept<T>(key: string, make: () => T): T;
}
