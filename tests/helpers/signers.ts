import request from 'supertest';
import { hiddenFields } from './html';

export interface SigningOutcome {
  email: string;
  /** The HTTP status, or what went wrong when there was no answer. */
  status: number | string;
}

const ZIPS = ['10001', '60614', '94110', '80010', '98101', '02139'];

/**
 * Supporters signing one after another, through the JSON API and the campaign page's form, until
 * told to stop; every answer is kept with its email address. A request that gets no answer within
 * `timeoutMs` is recorded as `timeout`: a hang is a finding, not a stuck test. The platform must
 * not check the forms' fill time (FORM_MIN_FILL_SECONDS=0).
 */
export class Signers {
  readonly outcomes: SigningOutcome[] = [];
  private stopped = false;
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly base: string,
    private readonly label: string,
    private readonly options: { slug?: string; timeoutMs?: number } = {},
  ) {}

  private get slug(): string {
    return this.options.slug ?? 'ban-facial-recognition';
  }

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 20_000;
  }

  /** Signatures answered as signatures are (202 from the API, 303 from the form). */
  get acknowledged(): number {
    return this.outcomes.filter((outcome) => outcome.status === 202 || outcome.status === 303)
      .length;
  }

  /** The emails of the acknowledged signatures. */
  acknowledgedEmails(): string[] {
    return this.outcomes
      .filter((outcome) => outcome.status === 202 || outcome.status === 303)
      .map((outcome) => outcome.email);
  }

  startApi(id: number): void {
    this.loops.push(
      (async () => {
        for (let i = 0; !this.stopped; i++) {
          const email = `${this.label}-api${id}-${i}@example.org`;
          const status = await fetch(`${this.base}/api/v1/campaigns/${this.slug}/signatures`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              name: `Signer ${id}.${i}`,
              email,
              zip: ZIPS[i % ZIPS.length],
              source: i % 3 === 0 ? 'partner-x' : undefined,
            }),
            signal: AbortSignal.timeout(this.timeoutMs),
          }).then(
            async (res) => {
              await res.arrayBuffer();
              return res.status;
            },
            (error: Error) => (error.name === 'TimeoutError' ? 'timeout' : error.message),
          );
          this.outcomes.push({ email, status });
          // A failed request comes back at once: do not spin.
          if (status !== 202) await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })(),
    );
  }

  /** Opens the page once (cookie, CSRF token, the form's hidden fields), then signs with its form. */
  startForm(id: number): void {
    this.loops.push(
      (async () => {
        const agent = request.agent(this.base);
        const page = await agent.get(`/campaigns/${this.slug}`).expect(200);
        const hidden = hiddenFields(page.text);
        for (let i = 0; !this.stopped; i++) {
          const email = `${this.label}-form${id}-${i}@example.org`;
          const status = await agent
            .post(`/campaigns/${this.slug}/sign`)
            .timeout(this.timeoutMs)
            .type('form')
            .send({
              ...hidden,
              name: `Form Signer ${id}.${i}`,
              email,
              zip: ZIPS[(i + id) % ZIPS.length],
            })
            .then(
              (res) => res.status,
              (error: Error & { timeout?: number }) => (error.timeout ? 'timeout' : error.message),
            );
          this.outcomes.push({ email, status });
          if (status !== 303) await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })(),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}
