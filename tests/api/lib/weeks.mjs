// weeks.mjs — a strategy week with results, shared by the learning-loop tests:
// a beta user, a project, a cycle and five posts already published (rows made
// in SQL, so no test renders or publishes for it), with tracked clicks, two
// sign-ups and one revenue event on the first post.
import assert from 'node:assert/strict';
import { betaUser, psql } from './harness.mjs';

export const WEEK_PROJECT = {
  name: 'Mama Put Kitchen', project_type: 'business', business_name: 'Mama Put Kitchen',
  category: 'Restaurant', city: 'Lagos', target_audience: 'Office workers nearby',
  primary_offer: 'Party jollof trays', preferred_channels: ['instagram', 'whatsapp'], language_style: 'english',
};
/** The restaurant of the create-flow tests, on every channel. */
export const MAMA_PUT = {
  name: 'Mama Put Kitchen', project_type: 'business', business_name: 'Mama Put Kitchen', category: 'Restaurant',
  city: 'Yaba', target_audience: 'Office workers nearby', primary_offer: 'Jollof rice and small chops',
  preferred_channels: ['instagram', 'tiktok', 'whatsapp'], language_style: 'english',
};
export const WEEK_HOOKS = ['Jollof trays for the office', 'Smoke you can taste', 'Friday lunch sorted', 'Meet our chef', 'Last call for trays'];
const ANGLES = ['offer', 'product', 'social_proof', 'behind_the_scenes', 'last_call'];

/** A user (email), a project and a week (weekStart) of 5 published posts with tracked results. */
export async function publishedWeek(srv, dbUrl, email, weekStart) {
  const c = await betaUser(srv.url, email);
  const p = await c.post('/api/projects', WEEK_PROJECT);
  assert.equal(p.status, 201, p.text);
  const projectId = p.body.project?.id ?? p.body.id;
  const y = await c.post(`/api/projects/${projectId}/strategy-cycles`, { week_start: weekStart });
  const cycleId = y.body.cycle.id;
  const [[uid]] = psql(dbUrl, `SELECT id FROM users WHERE email = '${email}'`);
  const items = WEEK_HOOKS.map((hook, i) => {
    const draft = { channel: i === 3 ? 'whatsapp' : 'instagram', hook, script: [hook, 'Fresh every day', 'Order now'],
      caption: `Caption ${i + 1}`, cta: 'Order now', caption_hint: '', hashtags: [], variants: {}, angle: ANGLES[i] };
    const [[id]] = psql(dbUrl, `INSERT INTO content_items (user_id, project_id, cycle_id, position, source, channel, title,
      draft, status, publish_strategy, publish_status, published_at) VALUES (${uid}, ${projectId}, ${cycleId}, ${i + 1},
      'cycle', '${draft.channel}', 'Post ${i + 1}', '${JSON.stringify(draft).replace(/'/g, "''")}'::jsonb, 'rendered',
      '${i === 3 ? 'manual_export' : 'direct_instagram'}', 'published', now()) RETURNING id`);
    return Number(id);
  });
  const clicks = [12, 5, 3, 0, 1];
  items.forEach((id, i) => clicks[i] && psql(dbUrl, `INSERT INTO tracking_clicks (click_id, content_item_id, project_id,
    clicked_at, visitor_hash) SELECT md5(random()::text), ${id}, ${projectId}, '${weekStart}'::date + 1, 'v' || g
    FROM generate_series(1, ${clicks[i]}) g`));
  psql(dbUrl, `INSERT INTO tracking_events (project_id, kind, event_type, attributed_item_id, attributed_via, amount_minor,
    currency, auth, occurred_at) VALUES (${projectId}, 'conversion', 'signup', ${items[0]}, 'click', NULL, NULL, 'publishable_key', '${weekStart}'::date + 2),
    (${projectId}, 'conversion', 'signup', ${items[0]}, 'click', NULL, NULL, 'publishable_key', '${weekStart}'::date + 2),
    (${projectId}, 'revenue', 'order', ${items[0]}, 'click', 450000, 'NGN', 'secret_key', '${weekStart}'::date + 3)`);
  return { c, projectId, cycleId, items, uid };
}
