import type { Redis } from 'ioredis';
import type { CampaignDirectory } from './campaigns/directory';
import type { PartnerOrigins } from './campaigns/partner-origins';
import type { Config } from './config';
import type { Database, DatabaseHandle } from './db/client';
import type { OutageLog } from './http/outage-log';
import type { Logger } from './logger';
import type { FieldEncryption } from './db/field-encryption';
import type { StatsCache } from './petitions/stats';
import type { TallyRequests } from './petitions/tally-requests';
import type { Queues } from './queue/jobs';
import type { RepresentativeDirectory } from './representatives/directory';
import type { Geocoder } from './representatives/geocoder';
import type { LetterTemplateStore } from './letters/template-store';
import type { ApiTokenUsage } from './osdi/tokens';
import type { WebhookWakeups } from './webhooks/wakeups';

/** What services, routes and workers need; built once by `openPlatform`, passed to each. */
export interface AppContext {
  config: Config;
  logger: Logger;
  /** Requests failed by an outage (the database, Redis), logged one line per interval per kind. */
  outages: OutageLog;
  database: DatabaseHandle;
  db: Database;
  /** Seals and opens supporters' personal data in the database, and hashes email addresses for look-ups. */
  encryption: FieldEncryption;
  redis: Redis;
  queues: Queues;
  tallyRequests: TallyRequests;
  campaigns: CampaignDirectory;
  stats: StatsCache;
  representatives: RepresentativeDirectory;
  /** The address geocoder, when one is configured (GEOCODER). */
  geocoder: Geocoder | undefined;
  /** Each campaign's letter templates: its own from the database, else those in `templates/letters`. */
  letterTemplates: LetterTemplateStore;
  /** The origins allowed to call the JSON API from a browser (CORS). */
  partnerOrigins: PartnerOrigins;
  /** OSDI API tokens' use, counted in memory and written every few seconds. */
  apiTokenUsage: ApiTokenUsage;
  /** Asks the webhook worker to send the events just committed (src/webhooks). */
  webhookWakeups: WebhookWakeups;
}
