import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Express } from 'express';
import request from 'supertest';
import { formTokenKey, signFormToken, type FormPurpose } from '../../src/abuse/form-token';
import { importRepresentativeData } from '../../src/representatives/import';
import { formFields } from './html';
import type { TestPlatform } from './platform';

export const SLUG = 'ban-facial-recognition';
export const LETTERS_PAGE = `/campaigns/${SLUG}/letters`;

type Agent = ReturnType<typeof request.agent>;
export type Fields = Array<[string, string]>;

/** A form token made with the platform's own key, as if the form had been shown `ageMs` ago. */
export function formTokenAged(t: TestPlatform, purpose: FormPurpose, ageMs: number): string {
  return signFormToken(formTokenKey(t.platform.config.secret), purpose, Date.now() - ageMs);
}

export const formTokenOf = (html: string) => /name="formToken" value="([^"]+)"/.exec(html)?.[1];

export const postLetters = (agent: Agent, fields: Fields) =>
  agent.post(LETTERS_PAGE).type('form').send(new URLSearchParams(fields).toString());

/** Loads the representative fixtures (ZIP 80010 has two offices that take email). */
export async function loadRepresentatives(t: TestPlatform): Promise<void> {
  await importRepresentativeData(
    t.platform.db,
    path.join(__dirname, '..', 'fixtures', 'representatives'),
  );
  await t.platform.representatives.refresh();
}

/** Walks the letter pages from the first step to the preview, as a browser without JavaScript; returns the send form. */
export async function letterPreview(
  app: Express,
  who: { name: string; email: string; zip?: string },
) {
  const agent = request.agent(app);
  const start = await agent.get(LETTERS_PAGE).expect(200);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(start.text)![1]!;
  const startFields = formFields(start.text);
  const targets = await postLetters(agent, [
    ...startFields,
    ['step', 'lookup'],
    ['name', who.name],
    ['email', who.email],
    ['zip', who.zip ?? '80010'],
  ]).expect(200);
  const preview = await postLetters(agent, [
    ...formFields(targets.text),
    ['step', 'preview'],
  ]).expect(200);
  return { agent, csrf, start, preview, fields: formFields(preview.text) };
}

export const replaceField = (fields: Fields, name: string, value: string | undefined): Fields => [
  ...fields.filter(([field]) => field !== name),
  ...(value === undefined ? [] : ([[name, value]] as Fields)),
];

/**
 * A stand-in for a CAPTCHA provider's siteverify: `good` passes, `spent` is refused as already
 * used, `slow` is never answered (until close); every request's form fields are kept.
 */
export async function startFakeSiteverify() {
  const requests: Array<Record<string, string>> = [];
  const held: ServerResponse[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const fields = Object.fromEntries(new URLSearchParams(body));
      requests.push(fields);
      if (fields.response === 'slow') return void held.push(res);
      res.setHeader('content-type', 'application/json');
      if (fields.response === 'good')
        res.end(
          JSON.stringify({
            success: true,
            hostname: 'localhost',
            challenge_ts: new Date().toISOString(),
          }),
        );
      else if (fields.response === 'broken') res.end('<html>bad gateway</html>');
      else
        res.end(
          JSON.stringify({
            success: false,
            'error-codes': [
              fields.response === 'spent' ? 'timeout-or-duplicate' : 'invalid-input-response',
            ],
          }),
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/siteverify`,
    requests,
    async close() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export const CALL_PAGE = `/campaigns/${SLUG}/call`;

/** Looks up ZIP 80010 on the call page, as a browser without JavaScript; returns the results and the report form of `name`'s card. */
export async function callReportForm(app: Express, name = 'Ada Testwell') {
  const agent = request.agent(app);
  const start = await agent.get(CALL_PAGE).expect(200);
  const results = await agent
    .post(CALL_PAGE)
    .type('form')
    .send({ _csrf: /name="_csrf" value="([^"]+)"/.exec(start.text)![1]!, zip: '80010' })
    .expect(200);
  const card = results.text.split('<li class="card"').find((part) => part.includes(name));
  if (!card) throw new Error(`no card for ${name}`);
  return { agent, results, fields: formFields(card.split('</form>')[0]!) };
}

export const postCallReport = (agent: Agent, fields: Fields) =>
  agent.post(`${CALL_PAGE}/report`).type('form').send(new URLSearchParams(fields).toString());
