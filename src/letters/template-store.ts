import { eq } from 'drizzle-orm';
import type { Database } from '../db/client';
import { letterTemplates } from '../db/schema';
import type { Logger } from '../logger';
import { compileLetterTemplates, loadLetterTemplates, TARGET_LEVELS, validateLetterTemplate, type LetterRenderer, type LetterTemplate, type TargetLevel } from './templates';

const TTL_MS = 10_000;

/**
 * The letter templates each campaign writes with: its own, from the database, where it has them,
 * and the project's `templates/letters` otherwise. Compiled once per campaign and kept a few
 * seconds, so staff edits show within moments. A stored template that does not validate is set
 * aside for the file's (and logged), so a bad edit cannot stop letters.
 */
export class LetterTemplateStore {
  /** The project's own templates, from `templates/letters`. */
  readonly files: Record<TargetLevel, LetterTemplate>;
  readonly defaults: LetterRenderer;
  private readonly cache = new Map<number, { at: number; renderer: Promise<LetterRenderer> }>();

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    files: Record<TargetLevel, LetterTemplate> = loadLetterTemplates(),
  ) {
    this.files = files;
    this.defaults = compileLetterTemplates(files);
  }

  forCampaign(campaignId: number): Promise<LetterRenderer> {
    const cached = this.cache.get(campaignId);
    if (cached && Date.now() - cached.at < TTL_MS) return cached.renderer;
    const renderer = this.compile(campaignId);
    this.cache.set(campaignId, { at: Date.now(), renderer });
    renderer.catch(() => this.cache.delete(campaignId));
    return renderer;
  }

  /** Forgets a campaign's compiled templates, after they were edited. */
  invalidate(campaignId: number): void {
    this.cache.delete(campaignId);
  }

  private async compile(campaignId: number): Promise<LetterRenderer> {
    const stored = await this.db.select().from(letterTemplates).where(eq(letterTemplates.campaignId, campaignId));
    if (stored.length === 0) return this.defaults;
    const sources = { ...this.files };
    for (const template of stored) {
      const problem = validateLetterTemplate(template.subject) ?? validateLetterTemplate(template.body);
      if (problem || !TARGET_LEVELS.includes(template.level)) {
        this.logger.warn({ campaignId, level: template.level, problem }, 'a stored letter template is invalid; using the default one');
        continue;
      }
      sources[template.level] = { subject: template.subject, body: template.body };
    }
    return compileLetterTemplates(sources);
  }
}
