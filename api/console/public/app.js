// The console's shell: hash routes, the sidebar layout, the error banner, and polling
// that stops when the page changes. Each page is a module in pages/ with
// `render(ctx)`; it fetches through api.js and draws with dom.js.

import { ApiError, currentSession, endSession } from './api.js';
import { destroyCharts } from './charts.js';
import { h, replace } from './dom.js';
import * as callPage from './pages/call.js';
import * as callsPage from './pages/calls.js';
import * as campaignPage from './pages/campaign.js';
import * as campaignsPage from './pages/campaigns.js';
import * as costsPage from './pages/costs.js';
import * as latencyPage from './pages/latency.js';
import * as livePage from './pages/live.js';
import * as signInPage from './pages/sign-in.js';

const routes = [
  { pattern: /^\/campaigns$/, page: campaignsPage, nav: 'campaigns' },
  { pattern: /^\/campaigns\/([^/]+)$/, page: campaignPage, nav: 'campaigns' },
  { pattern: /^\/live$/, page: livePage, nav: 'live' },
  { pattern: /^\/calls$/, page: callsPage, nav: 'calls' },
  { pattern: /^\/calls\/([^/]+)$/, page: callPage, nav: 'calls' },
  { pattern: /^\/costs$/, page: costsPage, nav: 'costs' },
  { pattern: /^\/latency$/, page: latencyPage, nav: 'latency' },
];

const navItems = [
  { id: 'campaigns', label: 'Campaigns', href: '#/campaigns', icon: '▤' },
  { id: 'live', label: 'Live calls', href: '#/live', icon: '◉' },
  { id: 'calls', label: 'Calls', href: '#/calls', icon: '☏' },
  { id: 'costs', label: 'Costs', href: '#/costs', icon: '$' },
  { id: 'latency', label: 'Latency', href: '#/latency', icon: '◔' },
];

const root = /** @type {HTMLElement} */ (document.getElementById('app'));
/** @type {{ temporalUiUrl: string, namespace: string } | null} */
let config = null;
/** Bumped on every navigation: polls and late answers of an older page stop. */
let generation = 0;
/** Shown once on the sign-in page (e.g. why the session ended). */
let signInNotice = '';

export function navigate(hash) {
  if (location.hash === hash) void show();
  else location.hash = hash;
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/campaigns';
  const [path, search = ''] = raw.split('?');
  return { path: path ?? '/campaigns', query: new URLSearchParams(search) };
}

/** A message for a failed request, from the API's problem detail when there is one. */
export function describeError(err) {
  if (err instanceof ApiError) {
    if (err.status === 429) return 'The API is rate limiting this key; the page will catch up in a moment.';
    if (err.status === 403) return `This key’s role may not do that. ${err.problem?.detail ?? ''}`.trim();
    return `${err.problem?.title ?? 'Request failed'} (HTTP ${err.status})${err.problem?.detail ? `: ${err.problem.detail}` : ''}`;
  }
  if (err instanceof TypeError) return 'The API could not be reached. Is it running?';
  return err instanceof Error ? err.message : String(err);
}

function layout(session, active) {
  const banner = h('div', { class: 'banner banner-error', role: 'alert', hidden: true });
  const title = h('h1', { class: 'page-title' });
  const subtitle = h('div', { class: 'page-subtitle' });
  const actions = h('div', { class: 'page-actions' });
  const main = h('div', { class: 'page-body' });
  const signOut = h('button', { class: 'button button-ghost button-small', type: 'button', onclick: () => {
    endSession();
    navigate('#/sign-in');
  } }, 'Sign out');
  const shell = h(
    'div',
    { class: 'shell' },
    h(
      'aside',
      { class: 'sidebar' },
      h('a', { class: 'brand', href: '#/campaigns' }, h('img', { src: 'favicon.svg', alt: '', width: 28, height: 28 }), h('span', {}, 'Kickcall'), h('span', { class: 'brand-tag' }, 'ops')),
      h('nav', { class: 'nav' }, navItems.map((item) => h('a', { class: `nav-item${item.id === active ? ' active' : ''}`, href: item.href, 'aria-current': item.id === active ? 'page' : null }, h('span', { class: 'nav-icon', 'aria-hidden': 'true' }, item.icon), item.label))),
      h(
        'div',
        { class: 'account' },
        h('div', { class: 'account-tenant', title: session.tenantId }, session.tenantName),
        h('div', { class: 'account-key' }, h('span', { class: `role role-${session.role}`, dataset: { role: session.role } }, session.role), h('span', { class: 'account-key-name' }, session.keyName)),
        signOut,
      ),
    ),
    h('main', { class: 'main' }, h('header', { class: 'page-header' }, h('div', {}, title, subtitle), actions), banner, main),
  );
  return { shell, banner, title, subtitle, actions, main };
}

async function loadConfig() {
  if (config) return config;
  const res = await fetch('config.json');
  if (!res.ok) throw new Error(`config.json: HTTP ${res.status}`);
  config = await res.json();
  return config;
}

async function show() {
  const mine = ++generation;
  destroyCharts();
  const { path, query } = parseHash();
  const session = currentSession();
  if (path === '/sign-in' || !session) {
    const notice = signInNotice;
    signInNotice = '';
    replace(root, signInPage.render({ navigate, notice }));
    document.title = 'Sign in · Kickcall console';
    return;
  }
  const route = routes.find((r) => r.pattern.test(path));
  if (!route) return navigate('#/campaigns');
  const params = route.pattern.exec(path)?.slice(1).map(decodeURIComponent) ?? [];
  const view = layout(session, route.nav);
  replace(root, view.shell);
  const isCurrent = () => mine === generation;

  const fail = (err) => {
    if (!isCurrent()) return;
    if (err instanceof ApiError && err.unauthenticated) {
      endSession();
      signInNotice = 'The API no longer accepts this key (revoked or expired). Sign in with another.';
      navigate('#/sign-in');
      return;
    }
    view.banner.textContent = describeError(err);
    view.banner.hidden = false;
  };
  const ok = () => {
    if (isCurrent()) view.banner.hidden = true;
  };

  const ctx = {
    session,
    config: await loadConfig().catch((err) => (fail(err), { temporalUiUrl: '', namespace: 'default' })),
    params,
    query,
    main: view.main,
    actions: view.actions,
    navigate,
    isCurrent,
    setTitle(text, sub = '') {
      view.title.textContent = text;
      view.subtitle.textContent = sub;
      document.title = `${text} · Kickcall console`;
    },
    /** Runs `fn` now and again `ms` after each run ends, while this page is shown. */
    every(ms, fn) {
      const tick = async () => {
        if (!isCurrent()) return;
        try {
          await fn();
          ok();
        } catch (err) {
          fail(err);
        }
        if (isCurrent()) setTimeout(() => void tick(), ms);
      };
      void tick();
    },
    /** Runs an action once, reporting its failure in the banner; resolves to whether it worked. */
    async run(fn) {
      try {
        await fn();
        ok();
        return true;
      } catch (err) {
        fail(err);
        return false;
      }
    },
  };
  route.page.render(ctx);
}

window.addEventListener('hashchange', () => void show());
void show();
