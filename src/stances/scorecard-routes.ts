import { Router, type Response } from 'express';
import type { AppContext } from '../context';
import { STANCES, type Campaign } from '../db/schema';
import { translatorOf } from '../http/i18n';
import { campaignTexts } from '../campaigns/texts';
import type { Translator } from '../i18n/translations';
import { noCampaign } from '../petitions/routes';
import { officeDescription } from '../representatives/labels';
import { isTargeted, peopleByKey, personAsOfficial, type Person } from '../representatives/people';
import { projectPoint } from '../graphics/district-map';
import { renderStateMap, type BanStatus } from '../graphics/state-map';
import { activeZipCentres } from '../representatives/store';
import { fipsByUsps, isStateCode, uspsByFips } from '../representatives/us-states';
import { stanceWords } from './stance-words';
import { listBills, listPlaces, listStances } from './store';

/**
 * The public scorecard of a campaign: where a ban has passed, the bills in play, and where
 * officials stand, filterable by state; only what staff published. A page drawn on the server (a
 * map of the states and the places, from the imported districts; no script) and the same data as
 * JSON; both cacheable for a few minutes, one copy per language.
 */

const MAX_AGE_SECONDS = 300;

async function scorecardData(ctx: AppContext, campaign: Campaign, state: string | undefined) {
  const [stances, bills, places] = await Promise.all([
    listStances(ctx.db, campaign.id, { publishedOnly: true }),
    listBills(ctx.db, campaign.id, { publishedOnly: true }),
    listPlaces(ctx.db, campaign.id, { publishedOnly: true }),
  ]);
  const people = await peopleByKey(ctx.db, campaign.id, [
    ...stances.map((stance) => stance.personKey),
    ...bills.flatMap((bill) => bill.sponsors),
  ]);
  const officials = stances.flatMap((stance) => {
    const person = people.get(stance.personKey);
    // An official no longer in the data (gone at the last import) is not shown.
    if (!person || (state && person.state !== state)) return [];
    return [{ stance, person }];
  });
  return { stances, bills, places, people, officials };
}

const cacheable = (res: Response) => {
  // A `?lng=` choice sets a cookie: that answer is for its asker only.
  res.setHeader(
    'Cache-Control',
    res.getHeader('Set-Cookie') ? 'private, max-age=0' : `public, max-age=${MAX_AGE_SECONDS}`,
  );
  res.vary('Cookie');
};

const stateFilter = (value: unknown): string | undefined => {
  const code = typeof value === 'string' ? value.trim().toUpperCase() : '';
  return isStateCode(code) ? code : undefined;
};

const personJson = (person: Person, tr: Translator) => ({
  id: person.key,
  name: person.name,
  office: person.office,
  role: officeDescription(personAsOfficial(person), tr),
  state: person.state || null,
  district: person.district,
  party: person.party,
});

export function scorecardApi(ctx: AppContext): Router {
  const router = Router();
  router.get('/campaigns/:slug/scorecard', async (req, res) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) return void noCampaign(res);
    const tr = translatorOf(res);
    const state = stateFilter(req.query.state);
    const data = await scorecardData(ctx, campaign, state);
    cacheable(res);
    res.json({
      campaign: campaign.slug,
      state: state ?? null,
      places: data.places.map((place) => ({
        kind: place.kind,
        name: place.name,
        state: place.state,
        /** A ZIP code in the place, where staff gave one: where the map puts its marker. */
        zip: place.zip,
        passedOn: place.passedOn,
        url: place.url,
      })),
      bills: data.bills.map((bill) => ({
        jurisdiction: bill.jurisdiction,
        number: bill.number,
        title: bill.title,
        status: bill.status,
        url: bill.url,
        sponsors: bill.sponsors.flatMap((key) => {
          const person = data.people.get(key);
          return person ? [personJson(person, tr)] : [];
        }),
      })),
      officials: data.officials.map(({ stance, person }) => ({
        ...personJson(person, tr),
        stance: stance.stance,
        source: {
          kind: stance.sourceKind,
          url: stance.sourceUrl,
          text: stance.sourceText,
          date: stance.statedOn,
        },
      })),
    });
  });
  return router;
}

/** The insets of the map, as the page names them. */
const INSET_KEYS = ['ak', 'hi', 'dc', 'pr', 'vi', 'gu', 'mp', 'as'] as const;

export function scorecardPages(ctx: AppContext): Router {
  const router = Router();
  router.get('/campaigns/:slug/scorecard', async (req, res, next) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) return next();
    const tr = translatorOf(res);
    /** A state's name in the page's language. */
    const stateName = (code: string) => tr.t(`common:states.${code}`, { defaultValue: code });
    const texts = campaignTexts(campaign, tr.language);
    const state = stateFilter(req.query.state);
    const [data, outline] = await Promise.all([
      scorecardData(ctx, campaign, undefined),
      // The page is still worth having without its map: the list of places says it all.
      ctx.districtMaps.outline().catch((error: unknown) => {
        ctx.logger.warn({ err: error }, 'scorecard map could not be built');
        return null;
      }),
    ]);
    const shown = state
      ? data.officials.filter(({ person }) => person.state === state)
      : data.officials;
    const slug = encodeURIComponent(campaign.slug);

    // The map: a statewide ban, else a ban in a city or county, else none yet; a marker at
    // each city or county whose ZIP code the data knows.
    const statewide = new Set(
      data.places.filter((place) => place.kind === 'state').map((place) => place.state),
    );
    const local = new Set(
      data.places.filter((place) => place.kind !== 'state').map((place) => place.state),
    );
    const statusOf = (code: string): BanStatus =>
      statewide.has(code) ? 'statewide' : local.has(code) ? 'local' : 'none';
    const legend: Record<BanStatus | 'marker', string> = {
      statewide: tr.t('stances:scorecard.legendStatewide'),
      local: tr.t('stances:scorecard.legendLocal'),
      none: tr.t('stances:scorecard.legendNone'),
      marker: tr.t('stances:scorecard.legendMarker'),
    };
    let map: { map: string; legend: string } | undefined;
    if (outline) {
      const marked = data.places.filter((place) => place.kind !== 'state' && place.zip);
      const centres = await activeZipCentres(
        ctx.db,
        marked.map((place) => place.zip!),
      );
      const insetLabels = new Map(
        INSET_KEYS.map((key) => [key, tr.t(`stances:scorecard.inset.${key}`)]),
      );
      map = renderStateMap(outline, {
        id: 'state-map',
        title: tr.t('stances:scorecard.mapTitle'),
        description: [
          tr.t('stances:scorecard.mapDescStatewide', { count: statewide.size }),
          tr.t('stances:scorecard.mapDescLocal', {
            count: [...local].filter((code) => !statewide.has(code)).length,
          }),
          tr.t('stances:scorecard.mapDescMarkers'),
        ].join(' '),
        describeState: (fips) => {
          const code = uspsByFips.get(fips);
          if (!code) return undefined;
          const status = statusOf(code);
          return { status, label: `${stateName(code)}: ${legend[status]}` };
        },
        insetLabel: (key) => insetLabels.get(key as (typeof INSET_KEYS)[number]) ?? key,
        markers: marked.flatMap((place) => {
          const centre = centres.get(place.zip!);
          const point =
            centre && projectPoint(fipsByUsps.get(place.state) ?? '', centre.lng, centre.lat);
          if (!point) return [];
          const kind = tr.t(`stances:scorecard.kind.${place.kind}`);
          return [{ x: point[0], y: point[1], label: `${place.name}, ${place.state} (${kind})` }];
        }),
        legend,
      });
    }

    const card = ({ stance, person }: (typeof data.officials)[number]) => ({
      name: person.name,
      role: officeDescription(personAsOfficial(person), tr),
      party: person.party,
      stance: stanceWords(stance, tr),
      // The letter and call pages with this official named: the supporter still gives their
      // address, and the page puts the official first if they represent them (a constituent's word).
      // Only for an office the campaign's letters and calls go to.
      ...(isTargeted(campaign, person)
        ? {
            writeHref: `/campaigns/${slug}/letters?official=${encodeURIComponent(person.key)}`,
            callHref: `/campaigns/${slug}/call?official=${encodeURIComponent(person.key)}`,
          }
        : {}),
    });
    const groups = STANCES.map((stance) => ({
      stance,
      heading: tr.t(`stances:plural.${stance}`),
      officials: shown.filter((each) => each.stance.stance === stance).map(card),
    })).filter((group) => group.officials.length > 0);
    const states = [
      ...new Set(
        data.officials.map(({ person }) => person.state).filter((code) => isStateCode(code)),
      ),
    ]
      .map((code) => ({ code, name: stateName(code), selected: code === state }))
      .sort((a, b) => a.name.localeCompare(b.name, tr.language));

    cacheable(res);
    res.render('scorecard', {
      title: tr.t('stances:scorecard.pageTitle', { title: texts.title }),
      campaign,
      texts,
      map: map?.map,
      mapLegend: map?.legend,
      places: data.places.map((place) => ({
        ...place,
        kindLabel: tr.t(`stances:scorecard.kind.${place.kind}`),
        passed: tr.t('stances:scorecard.passedOn', {
          date: tr.date(`${place.passedOn}T00:00:00Z`),
        }),
      })),
      bills: data.bills.map((bill) => ({
        ...bill,
        statusLabel: tr.t(`stances:scorecard.billStatus.${bill.status}`),
        sponsorCount: tr.t('stances:scorecard.sponsors', { count: bill.sponsors.length }),
        sponsorNames: bill.sponsors.flatMap((key) => data.people.get(key)?.name ?? []).join(', '),
      })),
      groups,
      states,
      state,
    });
  });
  return router;
}
