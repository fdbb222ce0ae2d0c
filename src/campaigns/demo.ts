import type { Database } from '../db/client';
import { campaigns } from '../db/schema';

export const DEMO_CAMPAIGN_SLUG = 'ban-facial-recognition';

const demoCampaign = {
  slug: DEMO_CAMPAIGN_SLUG,
  title: 'Ban police use of facial recognition',
  summary:
    'Face surveillance lets police identify and track anyone who walks down a street, joins a protest ' +
    'or visits a clinic. It misidentifies people, most often people of colour, and has already led to ' +
    'wrongful arrests. Tell your lawmakers at every level to ban it.',
  petitionText: [
    'To our city councils, our state legislatures and the United States Congress:',
    'Police departments are using facial recognition to put names to faces captured by street cameras, ' +
      'body cameras, social media and driver licence photos. No one asked for our consent, no court ' +
      'reviews most of these searches, and the people searched are rarely told.',
    'The technology gets faces wrong, and it gets some faces wrong far more often than others. People ' +
      'have been arrested and jailed because software matched them to a crime they had nothing to do ' +
      'with. Even when it works as sold, it gives police a power no democracy should hand over: to ' +
      'follow anyone, anywhere, without a warrant and without their knowledge.',
    'Rules and audits cannot fix a tool built for mass identification. We call on you to ban the use ' +
      'of facial recognition by police and the agencies that share data with them:',
    '• Local officials: pass ordinances that forbid city agencies, including the police, from acquiring ' +
      'or using facial recognition, or from asking others to run searches for them.',
    '• State lawmakers: enact a statewide ban that covers every law-enforcement agency and the state ' +
      'databases of driver licence and ID photos.',
    '• Members of Congress: stop federal funding of police facial recognition and ban its use by ' +
      'federal agencies.',
    "Our faces are not evidence waiting to be collected. Protect everyone's right to move, speak and " +
      'gather without being tracked.',
  ].join('\n\n'),
  goal: 100_000,
  // The same petition for Spanish readers (staff edit both in the campaign's settings).
  translations: {
    es: {
      title: 'Prohibir el reconocimiento facial en manos de la policía',
      summary:
        'La vigilancia facial permite a la policía identificar y seguir a cualquier persona que camina por la calle, ' +
        'participa en una protesta o visita una clínica. Confunde a las personas, sobre todo a las personas de color, y ' +
        'ya ha llevado a arrestos injustos. Pida a sus legisladores, en todos los niveles, que la prohíban.',
      petitionText: [
        'A nuestros concejos municipales, a nuestras legislaturas estatales y al Congreso de los Estados Unidos:',
        'Los departamentos de policía usan el reconocimiento facial para ponerles nombre a los rostros que captan las ' +
          'cámaras de la calle, las cámaras corporales, las redes sociales y las fotos de las licencias de conducir. Nadie ' +
          'nos pidió permiso, ningún tribunal revisa la mayoría de estas búsquedas y casi nunca se avisa a las personas buscadas.',
        'Esta tecnología se equivoca con los rostros, y con algunos rostros se equivoca mucho más que con otros. Hay personas ' +
          'que han sido arrestadas y encarceladas porque un programa las relacionó con un delito que no tenía nada que ver con ' +
          'ellas. Incluso cuando funciona como prometen, le da a la policía un poder que ninguna democracia debería entregar: ' +
          'seguir a cualquiera, a cualquier parte, sin orden judicial y sin que lo sepa.',
        'Ninguna norma ni auditoría puede arreglar una herramienta hecha para identificar a las masas. Les pedimos que ' +
          'prohíban el uso del reconocimiento facial por parte de la policía y de las agencias que comparten datos con ella:',
        '• Autoridades locales: aprueben ordenanzas que prohíban a las agencias municipales, incluida la policía, adquirir ' +
          'o usar reconocimiento facial, o pedir a otros que hagan búsquedas por ellas.',
        '• Legisladores estatales: aprueben una prohibición estatal que abarque a todas las agencias del orden público y las ' +
          'bases de datos estatales de fotos de licencias de conducir y de identificaciones.',
        '• Miembros del Congreso: dejen de financiar con fondos federales el reconocimiento facial policial y prohíban su uso ' +
          'por parte de las agencias federales.',
        'Nuestros rostros no son pruebas a la espera de ser recogidas. Protejan el derecho de todas las personas a moverse, ' +
          'expresarse y reunirse sin ser vigiladas.',
      ].join('\n\n'),
    },
  },
};

/** Creates the demo campaign on first start; leaves it alone when it exists (staff may edit it). */
export async function ensureDemoCampaign(db: Database): Promise<void> {
  await db.insert(campaigns).values(demoCampaign).onConflictDoNothing({ target: campaigns.slug });
}
