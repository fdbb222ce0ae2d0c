import type { Database } from '../db/client';
import { partnerOrigins } from '../partners/partner-accounts';

/**
 * The sites browsers may call the JSON API from (CORS): PARTNER_ORIGINS, and every origin staff
 * listed for a partner organisation. Held in memory and re-read every few seconds, so a partner
 * added in the console works within moments in every web process.
 */
export class PartnerOrigins {
  private fromPartners = new Set<string>();

  constructor(
    private readonly db: Database,
    private readonly configured: readonly string[],
  ) {}

  allows(origin: string): boolean {
    return this.configured.includes(origin) || this.fromPartners.has(origin);
  }

  async refresh(): Promise<void> {
    this.fromPartners = new Set(await partnerOrigins(this.db));
  }
}
