// The City Tools dashboard: state (in the page address), fetching (from /api/v1 only) and views.
// Plain modern JavaScript, no library; nothing inline, so the page runs under a strict CSP.

import { barChart, scatterPlot } from '/assets/charts.js';
import { tileMap, LONDON_TILES, LONDON_IDS } from '/assets/tiles.js';

const API = '/api/v1';
const KEY_STORE = 'citytools.key';
const SITE = 'City Tools: London council technology';
const REAL_SOURCES = 'survey,open_data,manual';

/** The filters with a control, in the order they appear in addresses. */
const FILTERS = ['borough', 'service_area', 'supplier', 'system', 'ends_after', 'ends_before', 'hosting', 'data_access', 'source', 'q'];
/** API filters without a control: taken from the address, passed on and shown. */
const EXTRA_FILTERS = ['vendor', 'min_annual_value', 'max_annual_value'];
const ALL_FILTERS = [...FILTERS, ...EXTRA_FILTERS];

const VIEWS = {
  estate: 'Who runs what',
  joint: 'Buy together',
  expertise: 'Peer expertise',
  opportunities: 'Opportunities for SMEs',
  vendors: 'Suppliers and satisfaction',
};
const DEFAULT_VIEW = 'estate';

const slug = (v) => /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(v);
const intIn = (lo, hi) => (v) => /^\d{1,4}$/.test(v) && +v >= lo && +v <= hi;
/** View settings kept in the address (only when they differ from the default). */
const SETTINGS = {
  interval: { def: 'quarter', ok: (v) => v === 'quarter' || v === 'year' },
  window_months: { def: '12', ok: intIn(1, 120) },
  group_by: { def: 'service_area', ok: (v) => v === 'service_area' || v === 'supplier' },
  min_boroughs: { def: '2', ok: intIn(2, 100) },
  expertise_system: { def: '', ok: slug },
  months: { def: '18', ok: intIn(1, 120) },
  footprint_supplier: { def: '', ok: slug },
  measure: { def: 'satisfaction', ok: (v) => v === 'satisfaction' || v === 'value_for_money' },
  estate_page: { def: '1', ok: intIn(1, 9999) },
};

const LABELS = {
  hosting: { on_premises: 'On premises', supplier_hosted: 'Supplier hosted', public_cloud: 'Public cloud', saas: 'Software as a service', hybrid: 'Hybrid', unknown: 'Not known' },
  data_access: { included: 'Included', charged: 'Charged for', unavailable: 'Not available', unknown: 'Not known' },
  procurement_route: { open_tender: 'Open tender', framework: 'Framework', direct_award: 'Direct award', joint_procurement: 'Joint procurement', unknown: 'Not known' },
  source: { survey: 'Survey', open_data: 'Public open data', manual: 'Entered by hand', illustrative: 'Illustrative (invented)' },
};

// ---------------------------------------------------------------------------------------------
// Small helpers

const $ = (sel, root = document) => root.querySelector(sel);

/** An HTML element: attrs (class, text, data-*, aria-*, on<event>), then children. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name === 'text') el.textContent = value;
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const vh = (text) => h('span', { class: 'visually-hidden' }, text);
const nf = new Intl.NumberFormat('en-GB');
const fmtInt = (n) => nf.format(Number(n) || 0);
const pct = (share) => `${(Number(share) * 100).toLocaleString('en-GB', { maximumFractionDigits: share < 0.1 ? 1 : 0 })}%`;

function fmtMoney(value) {
  if (value === null || value === undefined || value === '') return null;
  const n = Number(value);
  if (!Number.isFinite(n)) return String(value);
  const big = Math.abs(n) >= 1000 || Number.isInteger(n);
  return n.toLocaleString('en-GB', { style: 'currency', currency: 'GBP', minimumFractionDigits: big ? 0 : 2, maximumFractionDigits: big ? 0 : 2 });
}
const money = (value) => fmtMoney(value) ?? h('span', { class: 'muted' }, 'not known');

const dateFmt = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
function fmtDate(iso) {
  if (!iso) return null;
  const [y, m, d] = String(iso).slice(0, 10).split('-').map(Number);
  if (!y || !m || !d) return String(iso);
  return dateFmt.format(new Date(Date.UTC(y, m - 1, d)));
}
const dateCell = (iso) => (iso ? h('time', { datetime: iso }, fmtDate(iso)) : h('span', { class: 'muted' }, 'not known'));

function isoDate(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}
function addMonths(iso, months) {
  const [y, m, d] = iso.split('-').map(Number);
  const target = new Date(y, m - 1 + months, 1);
  const last = new Date(target.getFullYear(), target.getMonth() + 1, 0).getDate();
  target.setDate(Math.min(d, last));
  return isoDate(target);
}

/** A query string with literal commas (the API's list separator) for readability. */
function query(params) {
  return Object.entries(params)
    .filter(([k, v]) => v !== undefined && v !== null && (v !== '' || k === 'cursor'))
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v)).replace(/%2C/gi, ',')}`)
    .join('&');
}
function apiUrl(path, params = {}) {
  const qs = query(params);
  return `${API}${path}${qs ? `?${qs}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// The key (sessionStorage only: never the address, never localStorage)

function getKey() {
  try { return sessionStorage.getItem(KEY_STORE) || ''; } catch { return ''; }
}
function setKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_STORE, key);
    else sessionStorage.removeItem(KEY_STORE);
  } catch { /* storage refused: the key lasts until reload */ }
  keyEpoch += 1;
}
let keyEpoch = 0;

// ---------------------------------------------------------------------------------------------
// Fetching

class ApiError extends Error {
  constructor(message, status, url) {
    super(message);
    this.status = status;
    this.url = url;
  }
}
const isAbort = (e) => e && e.name === 'AbortError';
/** A pause that ends early, with an AbortError, when signal aborts. */
const wait = (ms, signal) => new Promise((resolve, reject) => {
  const timer = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(timer); reject(new DOMException('Aborted', 'AbortError')); }, { once: true });
});

async function api(path, params = {}, signal) {
  const url = typeof path === 'string' && path.startsWith(API) ? path : apiUrl(path, params);
  const headers = { Accept: 'application/json' };
  const key = getKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  let res;
  for (let attempt = 1; ; attempt += 1) {
    res = await fetch(url, { headers, signal, credentials: 'same-origin' });
    // A busy database answers 503 with Retry-After: wait a little and ask again, twice at most.
    if (res.status !== 503 || attempt > 2) break;
    const after = Math.min(3, Number(res.headers.get('Retry-After')) || attempt);
    await wait(after * 1000, signal);
  }
  if (!res.ok) {
    let detail = `${res.status} ${res.statusText || 'error'}`;
    try {
      const problem = await res.json();
      detail = problem.detail || problem.title || detail;
    } catch { /* not problem+json */ }
    if (res.status === 401 && key) detail = `${detail.replace(/[.\s]*$/, '')}. Your key was not accepted: choose “Forget key” under Peer expertise to carry on without it.`;
    throw new ApiError(detail, res.status, url);
  }
  const json = await res.json();
  if (signal && signal.aborted) throw new DOMException('Aborted', 'AbortError');
  return json;
}

/** Every record of a catalogue list, following cursors, up to cap. */
async function fetchAll(path, cap = 5000) {
  const items = [];
  let cursor = '';
  for (let guard = 0; guard < 50; guard += 1) {
    const page = await api(path, { per_page: 500, cursor });
    items.push(...page.items);
    cursor = page.meta && page.meta.next_cursor;
    if (!cursor || items.length >= cap) break;
  }
  return items.slice(0, cap);
}

// ---------------------------------------------------------------------------------------------
// State: the page address is the state

let state = parseState(location.search);
const refs = { boroughs: new Map(), areas: new Map(), suppliers: new Map(), systems: new Map(), groups: [] };

function parseState(search) {
  const params = new URLSearchParams(search);
  const filters = {};
  for (const name of ALL_FILTERS) {
    const values = params.getAll(name).map((v) => v.trim()).filter(Boolean);
    if (values.length) filters[name] = values.join(',');
  }
  const view = Object.hasOwn(VIEWS, params.get('view')) ? params.get('view') : DEFAULT_VIEW;
  const settings = {};
  for (const [name, spec] of Object.entries(SETTINGS)) {
    const v = (params.get(name) || '').trim();
    settings[name] = v && spec.ok(v) ? v : spec.def;
  }
  return { filters, view, settings };
}

function stateQuery(s) {
  const params = {};
  for (const name of ALL_FILTERS) if (s.filters[name]) params[name] = s.filters[name];
  if (s.view !== DEFAULT_VIEW) params.view = s.view;
  for (const [name, spec] of Object.entries(SETTINGS)) if (s.settings[name] !== spec.def) params[name] = s.settings[name];
  return query(params);
}

function navigate(next) {
  state = next;
  const qs = stateQuery(state);
  const url = `${location.pathname}${qs ? `?${qs}` : ''}`;
  if (url !== `${location.pathname}${location.search}`) history.pushState(null, '', url);
  syncControls();
  showView();
  load();
}

// New filters start the matrix's authorities from the first page.
const withFilters = (filters) => navigate({ ...state, filters, settings: { ...state.settings, estate_page: '1' } });
const withSetting = (name, value) => navigate({ ...state, settings: { ...state.settings, [name]: value } });

/** The filters as API parameters. */
const apiFilters = (overrides = {}) => {
  const out = { ...state.filters, ...overrides };
  for (const k of Object.keys(out)) if (out[k] === '' || out[k] === null) delete out[k];
  return out;
};

// ---------------------------------------------------------------------------------------------
// Controls

const form = $('#filters');

function option(value, text, attrs = {}) {
  return h('option', { value, ...attrs }, text);
}

/** Select value, adding a temporary option when the address holds something not listed. */
function setSelect(select, value) {
  for (const temp of select.querySelectorAll('option[data-temporary]')) temp.remove();
  value = value || '';
  if (value && ![...select.options].some((o) => o.value === value)) {
    const lower = value.toLowerCase();
    const same = [...select.options].find((o) => o.value.toLowerCase() === lower)
      || [...refs.boroughs.values()].find((b) => (b.gss_code || '').toLowerCase() === lower);
    const label = value.includes(',') ? `${value} (several)` : same ? `${same.text || same.name} (${value})` : `${value} (not in the list)`;
    select.append(option(value, label, { 'data-temporary': 'true' }));
  }
  select.value = value;
}

function fillReferenceControls() {
  const boroughSelect = $('#filter-borough');
  const boroughs = [...refs.boroughs.values()].sort((a, b) => a.name.localeCompare(b.name, 'en-GB'));
  const london = boroughs.filter((b) => LONDON_IDS.has(b.id));
  const others = boroughs.filter((b) => !LONDON_IDS.has(b.id));
  if (others.length) {
    boroughSelect.append(h('optgroup', { label: 'London' }, london.map((b) => option(b.id, b.name))),
      h('optgroup', { label: 'Elsewhere' }, others.map((b) => option(b.id, b.name))));
  } else {
    boroughSelect.append(...boroughs.map((b) => option(b.id, b.name)));
  }

  const areaSelect = $('#filter-service_area');
  for (const group of refs.groups) {
    const children = [...refs.areas.values()].filter((a) => a.parent_id === group.id).sort((a, b) => a.name.localeCompare(b.name, 'en-GB'));
    areaSelect.append(h('optgroup', { label: group.name },
      option(group.id, `${group.name} (all)`),
      children.map((a) => option(a.id, a.name))));
  }

  const suppliers = [...refs.suppliers.values()].sort((a, b) => a.name.localeCompare(b.name, 'en-GB'));
  for (const sel of [$('#filter-supplier'), $('#footprint-supplier')]) sel.append(...suppliers.map((s) => option(s.id, s.name)));

  const systems = [...refs.systems.values()].sort((a, b) => a.name.localeCompare(b.name, 'en-GB'));
  for (const sel of [$('#filter-system'), $('#expertise-system')]) {
    sel.append(...systems.map((s) => {
      const vendor = refs.suppliers.get(s.supplier_id);
      return option(s.id, vendor && !s.name.toLowerCase().includes(vendor.name.toLowerCase()) ? `${s.name} (${vendor.name})` : s.name);
    }));
  }
}

function syncControls() {
  for (const name of FILTERS) {
    const el = form.elements[name];
    if (!el) continue;
    const v = state.filters[name] || '';
    if (el.tagName === 'SELECT') setSelect(el, v);
    else if (el.type === 'date') el.value = /^\d{4}-\d{2}-\d{2}$/.test(v) ? v : '';
    else el.value = v;
  }
  const extras = EXTRA_FILTERS.filter((n) => state.filters[n]);
  const extraBox = $('#extra-filters');
  extraBox.replaceChildren();
  if (extras.length) {
    extraBox.append('Also filtered by (from the page address): ',
      ...extras.flatMap((n, i) => [i ? ', ' : '', h('code', {}, `${n}=${state.filters[n]}`)]),
      '. “Clear filters” removes them.');
  }
  extraBox.hidden = !extras.length;

  const s = state.settings;
  $('#joint-interval').value = s.interval;
  $('#joint-window').value = s.window_months;
  $('#joint-group-by').value = s.group_by;
  $('#joint-min-boroughs').value = s.min_boroughs;
  $('#opportunities-months').value = s.months;
  setSelect($('#expertise-system'), expertiseSystem());
  setSelect($('#footprint-supplier'), footprintSupplier());
  $('#vendors-measure-satisfaction').checked = s.measure === 'satisfaction';
  $('#vendors-measure-value').checked = s.measure === 'value_for_money';
}

const firstOf = (list) => (list || '').split(',').map((v) => v.trim()).filter(Boolean)[0] || '';
const expertiseSystem = () => state.settings.expertise_system || firstOf(state.filters.system);
const footprintSupplier = () => state.settings.footprint_supplier || firstOf(state.filters.supplier);

function readFilters() {
  const filters = {};
  for (const name of FILTERS) {
    const el = form.elements[name];
    const v = el ? String(el.value || '').trim() : '';
    if (v) filters[name] = v;
  }
  for (const name of EXTRA_FILTERS) if (state.filters[name]) filters[name] = state.filters[name];
  return filters;
}

function wireControls() {
  form.addEventListener('change', (e) => {
    if (e.target.name === 'q') return; // words apply on Enter (submit) or when leaving the box
    withFilters(readFilters());
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    withFilters(readFilters());
  });
  $('#filter-q').addEventListener('change', () => withFilters(readFilters()));
  $('#clear-filters').addEventListener('click', () => withFilters({}));
  $('#banner-real-only').addEventListener('click', () => withFilters({ ...state.filters, source: REAL_SOURCES }));

  for (const id of ['joint-controls', 'expertise-controls', 'opportunities-controls', 'footprint-controls', 'vendors-controls']) {
    // Enter in a box submits its form: apply that box's value as a change would.
    $(`#${id}`).addEventListener('submit', (e) => {
      e.preventDefault();
      const el = document.activeElement;
      if (el && el.form === e.target) el.dispatchEvent(new Event('change', { bubbles: true }));
    });
  }
  $('#joint-interval').addEventListener('change', (e) => withSetting('interval', e.target.value));
  $('#joint-group-by').addEventListener('change', (e) => withSetting('group_by', e.target.value));
  const numeric = (el, name, lo, hi) => el.addEventListener('change', () => {
    let v = parseInt(el.value, 10);
    if (!Number.isFinite(v)) v = Number(SETTINGS[name].def);
    v = Math.min(hi, Math.max(lo, v));
    el.value = String(v);
    withSetting(name, String(v));
  });
  numeric($('#joint-window'), 'window_months', 1, 120);
  numeric($('#joint-min-boroughs'), 'min_boroughs', 2, 100);
  numeric($('#opportunities-months'), 'months', 1, 120);
  $('#expertise-system').addEventListener('change', (e) => withSetting('expertise_system', e.target.value));
  $('#footprint-supplier').addEventListener('change', (e) => withSetting('footprint_supplier', e.target.value));
  for (const radio of document.querySelectorAll('input[name="measure"]')) {
    radio.addEventListener('change', (e) => { if (e.target.checked) withSetting('measure', e.target.value); });
  }

  // The key.
  const keyInput = $('#api-key');
  keyInput.value = getKey();
  const useKey = () => {
    const key = keyInput.value.trim();
    if (key === getKey()) return;
    setKey(key);
    showKeyStatus();
    load();
  };
  $('#key-form').addEventListener('submit', (e) => { e.preventDefault(); useKey(); });
  keyInput.addEventListener('change', useKey);
  $('#forget-key').addEventListener('click', () => {
    keyInput.value = '';
    if (!getKey()) { showKeyStatus(); return; }
    setKey('');
    showKeyStatus();
    load();
  });
  showKeyStatus();

  // Tabs.
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  for (const tab of tabs) {
    tab.addEventListener('click', () => openView(tab.id.slice(4)));
    tab.addEventListener('keydown', (e) => {
      const i = tabs.indexOf(tab);
      let j = null;
      if (e.key === 'ArrowRight' || e.key === 'ArrowDown') j = (i + 1) % tabs.length;
      else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') j = (i - 1 + tabs.length) % tabs.length;
      else if (e.key === 'Home') j = 0;
      else if (e.key === 'End') j = tabs.length - 1;
      if (j === null) return;
      e.preventDefault();
      tabs[j].focus();
      openView(tabs[j].id.slice(4));
    });
  }

  $('#joint-more').addEventListener('click', () => moreJoint());
  $('#opportunities-more').addEventListener('click', () => moreOpportunities());
  $('#detail-close').addEventListener('click', () => $('#detail').close());
  $('#detail').addEventListener('close', () => {
    detailController?.abort();
    if (detailReturn && document.contains(detailReturn)) detailReturn.focus();
  });

  window.addEventListener('popstate', () => {
    if ($('#detail').open) $('#detail').close();
    state = parseState(location.search);
    syncControls();
    showView();
    load();
  });
}

function showKeyStatus() {
  $('#api-key-status').textContent = getKey()
    ? 'A key is in use for this browser session: confidence figures and ratings are shown where the API gives them.'
    : 'No key in use.';
}

function openView(view) {
  if (view === state.view) return;
  navigate({ ...state, view });
}

function showView() {
  for (const name of Object.keys(VIEWS)) {
    const on = name === state.view;
    const tab = $(`#tab-${name}`);
    tab.setAttribute('aria-selected', on ? 'true' : 'false');
    tab.tabIndex = on ? 0 : -1;
    $(`#view-${name}`).hidden = !on;
  }
  document.title = `${VIEWS[state.view]} – ${SITE}`;
}

// ---------------------------------------------------------------------------------------------
// Loading: totals and the open view, together; newer loads abort older ones.

let controller = null;
let generation = 0;
let summaryKey = null;
let mixedSources = false; // some illustrative contracts among real ones: then each is tagged
const noteSources = (sources = {}) => {
  mixedSources = Number(sources.illustrative) > 0 && Object.entries(sources).some(([k, n]) => k !== 'illustrative' && n > 0);
};
const illustrativeTag = (c) => (mixedSources && c.source === 'illustrative' ? h('span', { class: 'tag' }, 'illustrative') : null);
const errors = [];

function showErrors() {
  const box = $('#error');
  box.replaceChildren();
  if (!errors.length) { box.hidden = true; return; }
  // One line per distinct problem: a bad filter fails every request the same way.
  const byMessage = new Map();
  for (const { what, message } of errors) {
    if (!byMessage.has(message)) byMessage.set(message, []);
    if (what) byMessage.get(message).push(what);
  }
  box.append(h('h2', { class: 'error-title' }, 'Something went wrong'),
    h('ul', {}, [...byMessage.entries()].map(([message, whats]) => h('li', {}, whats.length === 1 ? `${whats[0]}: ${message}` : message))));
  box.hidden = false;
}
function reportError(e, what) {
  if (isAbort(e)) return;
  const message = e instanceof ApiError ? e.message : `The page could not reach the API (${e && e.message ? e.message : 'network error'}).`;
  errors.push({ what, message });
  showErrors();
}

/** What a view's figures depend on: if unchanged, its panel is not fetched again. */
function viewKey(view) {
  const s = state.settings;
  const extra = {
    estate: [s.estate_page],
    joint: [s.interval, s.window_months, s.group_by, s.min_boroughs],
    expertise: [expertiseSystem()],
    opportunities: [s.months, footprintSupplier(), isoDate(new Date())],
    vendors: [s.measure],
  }[view];
  return JSON.stringify([apiFilters(), extra, keyEpoch]);
}

async function load() {
  const mine = ++generation;
  controller?.abort();
  controller = new AbortController();
  const { signal } = controller;
  document.body.dataset.ready = 'false';
  // Quick successive changes (typing a number, arrowing through tabs) make one set of requests.
  try { await wait(60, signal); } catch { return; }
  errors.length = 0;
  showErrors();
  const view = state.view;
  const panel = $(`#view-${view}`);
  for (const other of document.querySelectorAll('[role="tabpanel"]')) if (other !== panel) other.removeAttribute('aria-busy');

  if (!refsLoaded) {
    await loadReferences();
    if (mine !== generation) return;
  }
  const jobs = [];
  const sKey = JSON.stringify([apiFilters(), keyEpoch]);
  if (sKey !== summaryKey) {
    $('#totals').setAttribute('aria-busy', 'true');
    jobs.push(loadSummary(signal).then(() => { summaryKey = sKey; }, (e) => {
      summaryKey = null;
      if (isAbort(e) || mine !== generation) return;
      reportError(e, 'Headline figures');
      for (const el of document.querySelectorAll('[data-total]')) { el.textContent = '–'; el.dataset.value = ''; }
      $('#top-share').textContent = '';
      $('#illustrative-banner').hidden = true;
    }));
  }
  const key = viewKey(view);
  if (panel.dataset.key !== key) {
    panel.setAttribute('aria-busy', 'true');
    delete panel.dataset.key;
    jobs.push(LOADERS[view](signal).then(() => { if (!errors.length) panel.dataset.key = key; }, (e) => { if (mine === generation) reportError(e); }));
  }
  await Promise.all(jobs);
  if (mine !== generation) return; // a newer load has taken over
  $('#totals').removeAttribute('aria-busy');
  panel.setAttribute('aria-busy', 'false');
  panel.dataset.loadedFor = location.search.slice(1);
  document.body.dataset.ready = 'true';
}

// ---------------------------------------------------------------------------------------------
// Headline totals and the illustrative banner

async function loadSummary(signal) {
  const s = await api('/insights/summary', apiFilters(), signal);
  for (const name of ['contracts', 'authorities', 'suppliers', 'systems']) {
    const el = $(`[data-total="${name}"]`);
    const value = Number(s[name]) || 0;
    el.textContent = fmtInt(value);
    el.dataset.value = String(value);
    el.nextElementSibling.textContent = value === 1 ? name.replace(/ies$/, 'y').replace(/s$/, '') : name;
  }
  const top = s.top || [];
  $('#top-share').textContent = top.length && s.contracts
    ? `The ${top.length === 1 ? 'biggest supplier holds' : `${top.length} biggest suppliers hold`} ${pct(s.top_share)} of these contracts${top[0] ? ` (the largest, ${top[0].supplier_name}, ${pct(top[0].share)})` : ''}.`
    : s.contracts ? '' : 'No contracts match these filters.';
  const invented = Number((s.sources || {}).illustrative) || 0;
  noteSources(s.sources);
  const banner = $('#illustrative-banner');
  if (invented > 0) {
    const all = Number(s.contracts) || 0;
    const some = all && invented < all ? ` of these ${fmtInt(all)}` : '';
    $('#illustrative-text').textContent = `These figures include ${fmtInt(invented)}${some} illustrative (invented) contract${invented === 1 ? '' : 's'}, made up for demonstration. Choose “Real sources only” in Data source to leave them out.`;
    $('#banner-real-only').hidden = state.filters.source === 'illustrative';
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
  $('#live').textContent = `${fmtInt(s.contracts)} contracts match.`;
}

// ---------------------------------------------------------------------------------------------
// Shared bits of views

function table({ id, caption, head, rows, numeric = [], className = '' }) {
  return h('div', { class: 'table-scroll', role: 'region', 'aria-label': caption, tabindex: '0' },
    h('table', { id, class: `data-table ${className}` },
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, head.map((c, i) => h('th', { scope: 'col', class: numeric.includes(i) ? 'num' : null }, c)))),
      h('tbody', {}, rows.map((r) => tableRow(r, numeric, head)))));
}
/** A body row; labels (the column headings) let narrow screens show each row as a card. */
function tableRow(cells, numeric = [], labels = []) {
  return h('tr', {}, cells.map((c, i) => (i === 0
    ? h('th', { scope: 'row' }, c)
    : h('td', { class: numeric.includes(i) ? 'num' : null, 'data-label': labels[i] }, c))));
}
const headsOf = (tableId) => [...document.querySelectorAll(`#${tableId} thead th`)].map((th) => th.textContent);
const note = (text, cls = 'empty') => h('p', { class: cls }, text);

/** Download links and the API requests behind a view. links: [{label, path, params, csv}] */
function takeaway(view, links) {
  const box = $(`[data-takeaway="${view}"]`);
  box.replaceChildren(
    h('h3', {}, 'Take it away'),
    h('ul', { class: 'downloads' }, links.filter((l) => l.csv !== false).map((l) => h('li', {},
      h('a', { class: 'download-csv', href: apiUrl(l.path, { ...l.params, format: 'csv' }), download: '' }, `Download CSV: ${l.label}`),
      ' · ',
      h('a', { class: 'download-xlsx', href: apiUrl(l.path, { ...l.params, format: 'xlsx' }), download: '' }, 'Excel')))),
    h('details', { class: 'api-request' },
      h('summary', {}, 'The API request behind this'),
      h('p', { class: 'hint small' }, 'The same figures as JSON, for scripts and spreadsheets. Add format=csv for CSV, format=xlsx for Excel.'),
      h('ul', {}, links.map((l) => {
        const url = apiUrl(l.path, l.params);
        return h('li', {}, h('span', { class: 'small' }, `${l.label}: `), h('a', { href: url }, h('code', {}, url)));
      }))));
}

const areaName = (id) => (refs.areas.get(id) || {}).name || id;
const boroughName = (id) => (refs.boroughs.get(id) || {}).name || id;
const supplierName = (id) => (refs.suppliers.get(id) || {}).name || id;

// ---------------------------------------------------------------------------------------------
// View: estate (borough x service-area matrix)

const PALETTE_SIZE = 7; // Okabe–Ito, less black; the rest are "other"
const ESTATE_ROWS = 50; // authorities per page of the matrix

/** "Authorities 1–50 of 400" with buttons to the pages before and after, when there are several. */
function estatePager(meta) {
  if (!meta || meta.total <= meta.per_page) return null;
  const first = (meta.page - 1) * meta.per_page + 1;
  const last = Math.min(meta.total, meta.page * meta.per_page);
  const pages = Math.ceil(meta.total / meta.per_page);
  const go = (n) => () => withSetting('estate_page', String(n));
  const button = (label, n, id) => {
    const b = h('button', { type: 'button', class: 'button secondary', id }, label);
    if (n < 1 || n > pages) b.disabled = true; else b.addEventListener('click', go(n));
    return b;
  };
  return h('nav', { class: 'pager', 'aria-label': 'Pages of authorities' },
    h('p', { id: 'estate-range' }, `Authorities ${fmtInt(first)}–${fmtInt(last)} of ${fmtInt(meta.total)}, by name.`),
    button('Previous authorities', meta.page - 1, 'estate-previous'),
    button('Next authorities', meta.page + 1, 'estate-next'));
}

function estateLevel() { return state.filters.service_area ? 'area' : 'group'; }

async function loadEstate(signal) {
  const level = estateLevel();
  const page = Number(state.settings.estate_page || '1');
  const params = { ...apiFilters(), level, ...(page > 1 ? { page: String(page) } : {}), per_page: String(ESTATE_ROWS) };
  const result = $('#estate-result');
  let data;
  try {
    data = await api('/insights/estate', params, signal);
  } catch (e) {
    if (!isAbort(e)) {
      $('#estate-legend').replaceChildren();
      result.replaceChildren(note(e instanceof ApiError && e.status === 404
        ? 'The matrix is not available from this server yet. The other views work.'
        : 'The matrix could not be loaded.'));
      takeaway('estate', [{ label: 'the contracts behind this view', path: '/contracts', params: apiFilters() }]);
    }
    throw e;
  }
  const columns = data.service_areas || [];
  const byBorough = new Map();
  for (const item of data.items || []) {
    if (!byBorough.has(item.borough_id)) byBorough.set(item.borough_id, { name: item.borough_name, cells: new Map() });
    byBorough.get(item.borough_id).cells.set(item.service_area_id, item);
  }
  // Colour the suppliers that are top in the most cells.
  const tally = new Map();
  for (const item of data.items || []) {
    const top = (item.systems || [])[0];
    if (top) tally.set(top.supplier_id, { name: top.supplier_name, n: ((tally.get(top.supplier_id) || {}).n || 0) + 1 });
  }
  const ranked = [...tally.entries()].sort((a, b) => b[1].n - a[1].n || a[1].name.localeCompare(b[1].name));
  const colour = new Map(ranked.slice(0, PALETTE_SIZE).map(([id], i) => [id, i]));

  const legend = $('#estate-legend');
  legend.replaceChildren();
  if (ranked.length) {
    legend.append(h('p', { class: 'legend-title', id: 'estate-legend-title' }, 'Cell colour = supplier of the main system:'),
      h('ul', { 'aria-labelledby': 'estate-legend-title' },
        ranked.slice(0, PALETTE_SIZE).map(([, v], i) => h('li', {}, h('span', { class: `swatch sup-${i}`, 'aria-hidden': 'true' }), v.name)),
        ranked.length > PALETTE_SIZE ? h('li', {}, h('span', { class: 'swatch sup-other', 'aria-hidden': 'true' }), 'Other suppliers') : null));
  }

  const rows = [...byBorough.entries()].sort((a, b) => a[1].name.localeCompare(b[1].name, 'en-GB'));
  if (!rows.length || !columns.length) {
    result.replaceChildren(note('No contracts match these filters.'));
  } else {
    const what = level === 'group' ? 'service area group' : 'service area';
    const caption = `Main system in each ${what}, for ${fmtInt(rows.length)} ${rows.length === 1 ? 'authority' : 'authorities'}. Choose a cell to list its contracts.`;
    const tableEl = h('table', { id: 'estate-matrix', class: 'matrix' },
      h('caption', {}, h('span', { class: 'caption-text' }, caption)),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', class: 'corner' }, 'Authority'),
        columns.map((c) => h('th', { scope: 'col' }, c.name)))),
      h('tbody', {}, rows.map(([bid, b]) => h('tr', {},
        h('th', { scope: 'row' }, b.name),
        columns.map((c) => estateCell(bid, b.name, c, b.cells.get(c.id), colour))))));
    tableEl.addEventListener('click', (e) => {
      const cell = e.target.closest('td.cell');
      const btn = cell && cell.querySelector('button[data-borough]');
      if (btn) openCell(btn);
    });
    result.replaceChildren(h('div', { class: 'table-scroll matrix-scroll', role: 'region', 'aria-label': 'Systems by authority and service area', tabindex: '0' }, tableEl));
  }
  const pager = estatePager(data.meta);
  if (pager) result.append(pager);
  takeaway('estate', [
    { label: 'this matrix', path: '/insights/estate', params },
    { label: 'the contracts behind it', path: '/contracts', params: apiFilters() },
  ]);
}

function estateCell(boroughId, boroughNameText, column, item, colour) {
  if (!item || !item.contracts) return h('td', { class: 'empty-cell' }, h('span', { 'aria-hidden': 'true' }, '–'), vh('None'));
  const systems = item.systems || [];
  const top = systems[0];
  const more = Math.max(0, systems.length - 1) + (Number(item.other_systems) || 0);
  const ci = top && colour.has(top.supplier_id) ? colour.get(top.supplier_id) : 'other';
  const main = top ? (top.system_name || top.supplier_name) : `${fmtInt(item.contracts)} contracts`;
  const others = systems.slice(1).map((s) => s.system_name || s.supplier_name);
  const tip = [`${boroughNameText}, ${column.name}`, top ? `${main}${top.system_name ? ` (${top.supplier_name})` : ''}` : null,
    others.length ? `also ${others.join(', ')}${item.other_systems ? ` and ${item.other_systems} more` : ''}` : null,
    `${fmtInt(item.contracts)} contract${item.contracts === 1 ? '' : 's'}`].filter(Boolean).join('; ');
  return h('td', { class: `cell sup-${ci}` },
    h('button', { type: 'button', class: 'cell-button', 'data-borough': boroughId, 'data-area': column.id, 'data-area-name': column.name, 'data-borough-name': boroughNameText, title: tip },
      vh(`${boroughNameText}, ${column.name}: `),
      h('span', { class: 'cell-system' }, main),
      top && top.system_name ? h('span', { class: 'cell-supplier' }, top.supplier_name) : null,
      more ? h('span', { class: 'cell-more' }, `+${fmtInt(more)} more`) : null,
      vh(`, ${fmtInt(item.contracts)} contract${item.contracts === 1 ? '' : 's'}`)));
}

// The detail panel: a cell's contracts, then one contract.

let detailController = null;
let detailReturn = null;
let detailList = null;

function openCell(btn) {
  detailReturn = btn;
  const dialog = $('#detail');
  const b = btn.dataset.borough, a = btn.dataset.area;
  $('#detail-title').textContent = `${btn.dataset.boroughName}: ${btn.dataset.areaName}`;
  if (!dialog.open) dialog.showModal();
  showCellContracts(b, a);
}

async function showCellContracts(b, a, focusId = null) {
  detailController?.abort();
  detailController = new AbortController();
  const { signal } = detailController;
  const dialog = $('#detail');
  const body = $('#detail-body');
  const params = apiFilters({ borough: b, service_area: a });
  dialog.dataset.ready = 'false';
  body.setAttribute('aria-busy', 'true');
  body.replaceChildren(h('p', { class: 'loading' }, 'Loading contracts…'));
  try {
    const page = await api('/contracts', { ...params, per_page: 50 }, signal);
    const items = page.items || [];
    const total = (page.meta && page.meta.total) || items.length;
    detailList = { b, a };
    body.replaceChildren(
      h('p', {}, items.length < total ? `The first ${fmtInt(items.length)} of ${fmtInt(total)} contracts, by id.` : `${fmtInt(total)} contract${total === 1 ? '' : 's'}. Choose a title for the full record.`),
      table({
        id: 'detail-contracts', caption: 'Contracts in this cell',
        head: ['Title', 'Supplier', 'System', 'Ends', 'Annual value'], numeric: [4],
        rows: items.map((c) => [
          h('button', { type: 'button', class: 'link-button', 'data-contract': c.id, onclick: () => showContract(c.id) }, c.title || `Contract ${c.id}`, illustrativeTag(c)),
          c.supplier_name, c.system_name || h('span', { class: 'muted' }, 'none named'), dateCell(c.end_date), money(c.annual_value_gbp)]),
      }),
      h('p', { class: 'small' },
        h('a', { class: 'download-csv', href: apiUrl('/contracts', { ...params, format: 'csv' }), download: '' }, 'Download these contracts (CSV)'), ' · ',
        h('a', { href: apiUrl('/contracts', params) }, 'The API request (JSON)')));
    if (focusId !== null) body.querySelector(`button[data-contract="${focusId}"]`)?.focus();
  } catch (e) {
    if (isAbort(e)) return;
    body.replaceChildren(h('p', { class: 'error-inline', role: 'alert' }, e.message || 'The contracts could not be loaded.'));
  }
  body.removeAttribute('aria-busy');
  dialog.dataset.ready = 'true';
}

async function showContract(id) {
  detailController?.abort();
  detailController = new AbortController();
  const { signal } = detailController;
  const dialog = $('#detail');
  const body = $('#detail-body');
  dialog.dataset.ready = 'false';
  body.setAttribute('aria-busy', 'true');
  try {
    const c = await api(`/contracts/${encodeURIComponent(id)}`, {}, signal);
    const rows = [
      ['Title', c.title],
      ['Authority', c.borough_name],
      ['Supplier (holds the contract)', c.supplier_name],
      ['System', c.system_name || 'none named'],
      ['Service areas', (c.service_area_ids || []).map(areaName).join(', ')],
      ['Starts', fmtDate(c.start_date) || 'not known'],
      ['Ends', fmtDate(c.end_date) || 'not known'],
      ['Latest end with every extension', fmtDate(c.max_end_date) || 'not known'],
      ['Annual value', fmtMoney(c.annual_value_gbp) || 'not known'],
      ['Total value', fmtMoney(c.total_value_gbp) || 'not known'],
      ['Where it runs', LABELS.hosting[c.hosting] || c.hosting],
      ['How it was bought', LABELS.procurement_route[c.procurement_route] || c.procurement_route],
      c.framework_name ? ['Framework', c.framework_name] : null,
      ['Access to own data', LABELS.data_access[c.data_access] || c.data_access],
      ['Source', LABELS.source[c.source] || c.source],
      c.source_reference ? ['Source reference', c.source_reference] : null,
      c.source_url && /^https?:\/\//.test(c.source_url) ? ['Source link', h('a', { href: c.source_url, rel: 'noopener noreferrer' }, c.source_url)] : null,
      ...['satisfaction', 'value_for_money', 'support_confidence', 'development_confidence'].filter((k) => c[k] !== undefined && c[k] !== null)
        .map((k) => [{ satisfaction: 'Satisfaction', value_for_money: 'Value for money', support_confidence: 'Confidence supporting it', development_confidence: 'Confidence developing it' }[k], `${c[k]} out of 5`]),
      c.notes ? ['Notes', c.notes] : null,
      ['Last updated', fmtDate(c.updated_at) || c.updated_at],
    ].filter(Boolean);
    body.replaceChildren(
      detailList ? h('p', {}, h('button', { type: 'button', class: 'button small secondary', id: 'detail-back', onclick: () => showCellContracts(detailList.b, detailList.a, c.id) }, '← Back to the list')) : null,
      h('h3', { id: 'contract-heading' }, c.title || `Contract ${c.id}`),
      c.source === 'illustrative' ? h('p', { class: 'banner-inline' }, 'This contract is illustrative: invented for demonstration, not a real record.') : null,
      h('dl', { class: 'record', id: 'contract-record', 'data-contract': c.id }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      h('p', { class: 'small' }, h('a', { href: apiUrl(`/contracts/${c.id}`) }, 'This record in the API (JSON)')));
    const back = $('#detail-back');
    (back || $('#contract-heading')).focus();
  } catch (e) {
    if (isAbort(e)) return;
    body.replaceChildren(h('p', { class: 'error-inline', role: 'alert' }, e.message || 'The contract could not be loaded.'));
  }
  body.removeAttribute('aria-busy');
  dialog.dataset.ready = 'true';
}

// ---------------------------------------------------------------------------------------------
// View: joint procurement

let jointNext = null;
let jointParams = null;
let jointRows = 0;

async function loadJoint(signal) {
  const s = state.settings;
  const tParams = { ...apiFilters(), interval: s.interval };
  const jParams = { ...apiFilters(), window_months: s.window_months, group_by: s.group_by, min_boroughs: s.min_boroughs };
  const [timeline, groups] = await Promise.allSettled([
    api('/insights/expiry-timeline', tParams, signal),
    api('/insights/joint-procurement', { ...jParams, per_page: 50 }, signal),
  ]);
  if (signal.aborted) throw new DOMException('Aborted', 'AbortError');

  const chartBox = $('#joint-chart');
  if (timeline.status === 'fulfilled') {
    const items = timeline.value.items || [];
    const word = s.interval === 'year' ? 'year' : 'quarter';
    const total = items.reduce((n, p) => n + (Number(p.contracts) || 0), 0);
    const peak = items.reduce((best, p) => (!best || p.contracts > best.contracts ? p : best), null);
    chartBox.replaceChildren(
      barChart({
        id: 'joint-timeline',
        items: items.map((p) => ({ label: p.period, value: Number(p.contracts) || 0, tip: `${p.period}: ${fmtInt(p.contracts)} contracts end, in ${fmtInt(p.boroughs)} authorities${p.annual_value_gbp ? `, ${fmtMoney(p.annual_value_gbp)} a year` : ''}` })),
        title: `Contracts ending per ${word}`,
        desc: items.length ? `${fmtInt(total)} contracts end over ${fmtInt(items.length)} ${word}s from ${items[0].period} to ${items[items.length - 1].period}; the most, ${fmtInt(peak.contracts)}, in ${peak.period}.` : 'No contracts with an end date match these filters.',
        yLabel: 'Contracts ending',
      }),
      h('details', { class: 'chart-table' }, h('summary', {}, 'Show the chart as a table'),
        table({ id: 'joint-timeline-table', caption: `Contracts ending per ${word}`, head: [word[0].toUpperCase() + word.slice(1), 'Contracts', 'Authorities', 'Annual value'], numeric: [1, 2, 3],
          rows: items.map((p) => [p.period, fmtInt(p.contracts), fmtInt(p.boroughs), money(p.annual_value_gbp)]) })));
  } else {
    chartBox.replaceChildren(note('The chart could not be loaded.'));
    reportError(timeline.reason, 'Contracts ending');
  }

  const result = $('#joint-result');
  if (groups.status === 'fulfilled') {
    const g = groups.value;
    jointParams = jParams;
    jointNext = g.meta && g.meta.next_cursor;
    jointRows = 0;
    result.replaceChildren(table({
      id: 'joint-groups',
      caption: `Authorities whose contracts end within ${s.window_months} months of each other${s.group_by === 'supplier' ? ', by service area and supplier' : ', by service area'}`,
      head: ['Service area', ...(s.group_by === 'supplier' ? ['Supplier'] : []), 'First ends', 'Last ends', 'Authorities', 'Contracts', 'Total annual value', 'The contracts'],
      numeric: s.group_by === 'supplier' ? [5, 6] : [4, 5],
      rows: [],
    }));
    appendJoint(g.items || []);
    $('#joint-summary').textContent = g.meta ? `${fmtInt(g.meta.total)} group${g.meta.total === 1 ? '' : 's'} of at least ${s.min_boroughs} authorities.` : '';
    if (!(g.items || []).length) result.append(note('No groups match. Try a longer window, fewer authorities, or wider filters.'));
  } else {
    jointNext = null;
    result.replaceChildren(note('The groups could not be loaded.'));
    reportError(groups.reason, 'Joint procurement');
  }
  $('#joint-more').hidden = !jointNext;
  takeaway('joint', [
    { label: 'contracts ending per period', path: '/insights/expiry-timeline', params: tParams },
    { label: 'groups of authorities', path: '/insights/joint-procurement', params: jParams },
  ]);
  if (timeline.status === 'rejected' && groups.status === 'rejected') throw new DOMException('handled', 'AbortError');
}

function appendJoint(items) {
  const tbody = $('#joint-groups tbody');
  const bySupplier = state.settings.group_by === 'supplier';
  const labels = headsOf('joint-groups');
  for (const g of items) {
    const names = (g.borough_ids || []).map(boroughName);
    tbody.append(tableRow([
      areaName(g.service_area_id),
      ...(bySupplier ? [g.supplier_id ? supplierName(g.supplier_id) : '—'] : []),
      dateCell(g.first_end_date), dateCell(g.last_end_date),
      h('span', {}, h('strong', {}, `${fmtInt(names.length)}: `), names.join(', ')),
      fmtInt(g.contract_count), money(g.total_annual_value_gbp),
      h('a', { href: g.contracts_url }, 'see contracts', vh(` for ${areaName(g.service_area_id)} ending ${fmtDate(g.first_end_date)} to ${fmtDate(g.last_end_date)}`)),
    ], bySupplier ? [5, 6] : [4, 5], labels));
    jointRows += 1;
  }
}

async function more(button, panel, work) {
  const signal = controller ? controller.signal : undefined;
  const mine = generation;
  button.disabled = true;
  panel.setAttribute('aria-busy', 'true');
  document.body.dataset.ready = 'false';
  try {
    await work(signal);
  } catch (e) {
    reportError(e);
  }
  button.disabled = false;
  if (mine !== generation) return;
  panel.setAttribute('aria-busy', 'false');
  document.body.dataset.ready = 'true';
}

function moreJoint() {
  if (!jointNext) return;
  return more($('#joint-more'), $('#view-joint'), async (signal) => {
    const g = await api('/insights/joint-procurement', { ...jointParams, per_page: 50, cursor: jointNext }, signal);
    appendJoint(g.items || []);
    jointNext = g.meta && g.meta.next_cursor;
    $('#joint-more').hidden = !jointNext;
    $('#live').textContent = `${fmtInt(jointRows)} groups shown.`;
  });
}

// ---------------------------------------------------------------------------------------------
// View: peer expertise

async function loadExpertise(signal) {
  const system = expertiseSystem();
  const result = $('#expertise-result');
  const filters = apiFilters();
  delete filters.system;
  if (!system) {
    result.replaceChildren(note('Choose a system to see which authorities use it.'));
    takeaway('expertise', [{ label: 'systems', path: '/systems', params: {} }]);
    return;
  }
  const params = { ...filters, system };
  let data;
  try {
    data = await api('/insights/expertise', params, signal);
  } catch (e) {
    if (!isAbort(e)) result.replaceChildren(note('The authorities could not be loaded.'));
    throw e;
  }
  const items = data.items || [];
  const withConfidence = Boolean(getKey()) || items.some((i) => i.support_confidence != null || i.development_confidence != null);
  const conf = (v) => (v == null ? h('span', { class: 'muted' }, 'not given') : h('span', { class: 'rating' }, h('span', { class: 'rating-bar', 'data-level': v, 'aria-hidden': 'true' }), `${v} out of 5`));
  result.replaceChildren(
    h('p', { class: 'summary-line' }, items.length
      ? `${fmtInt(items.length)} ${items.length === 1 ? 'authority uses' : 'authorities use'} ${data.system_name || system}.`
      : `No authority uses ${data.system_name || system} under these filters.`),
    table({
      id: 'expertise-table',
      caption: `Authorities using ${data.system_name || system}${withConfidence ? ', most confident first' : ''}`,
      head: ['Authority', 'Contracts', ...(withConfidence ? ['Confidence supporting it', 'Confidence developing it'] : [])],
      numeric: [1],
      rows: items.map((i) => [i.borough_name, fmtInt(i.contracts), ...(withConfidence ? [conf(i.support_confidence), conf(i.development_confidence)] : [])]),
    }),
    withConfidence ? null : note('Confidence figures (1 to 5) are shown to borough officers with a key.', 'hint'));
  takeaway('expertise', [{ label: 'authorities using this system', path: '/insights/expertise', params }]);
}

// ---------------------------------------------------------------------------------------------
// View: SME opportunities

const OPP_PAGE = 25;
let oppNext = null;
let oppParams = null;
let oppShown = 0;

function opportunityWindow() {
  const today = isoDate(new Date());
  const months = Number(state.settings.months) || 18;
  const userAfter = state.filters.ends_after, userBefore = state.filters.ends_before;
  let after = userAfter || today;
  if (!userAfter && userBefore && userBefore < today) after = addMonths(userBefore, -months);
  const before = userBefore || addMonths(after, months);
  return { ends_after: after, ends_before: before, fromFilters: Boolean(userAfter || userBefore) };
}

async function loadOpportunities(signal) {
  const win = opportunityWindow();
  const oParams = { ...apiFilters(), ends_after: win.ends_after, ends_before: win.ends_before };
  const mParams = apiFilters();
  const supplier = footprintSupplier();
  const fParams = apiFilters();
  delete fParams.supplier; // the footprint is of the chosen supplier
  const [opp, market, foot] = await Promise.allSettled([
    api('/insights/opportunities', { ...oParams, per_page: OPP_PAGE, cursor: '' }, signal),
    api('/insights/market-share', mParams, signal),
    supplier ? api(`/suppliers/${encodeURIComponent(supplier)}/footprint`, fParams, signal) : Promise.resolve(null),
  ]);
  if (signal.aborted) throw new DOMException('Aborted', 'AbortError');

  // Contracts ending in the window.
  const result = $('#opportunities-result');
  const summary = $('#opportunities-summary');
  const areasBox = $('#opportunities-areas');
  if (opp.status === 'fulfilled') {
    const o = opp.value;
    const meta = o.meta || {};
    noteSources(o.sources);
    oppParams = oParams;
    oppNext = meta.next_cursor || null;
    oppShown = 0;
    summary.replaceChildren(
      h('strong', { id: 'opportunities-total', 'data-value': meta.total ?? 0 }, `${fmtInt(meta.total)} contract${meta.total === 1 ? '' : 's'}`),
      ` end between ${fmtDate(meta.ends_after || win.ends_after)} and ${fmtDate(meta.ends_before || win.ends_before)}`,
      win.fromFilters ? ' (the dates come from your end-date filters).' : '.');
    result.replaceChildren(table({
      id: 'opportunities-table',
      caption: 'Contracts ending in the window, soonest first',
      head: ['Authority', 'Service area', 'Contract', 'Incumbent supplier', 'System', 'Ends', 'Annual value'],
      numeric: [6],
      rows: [],
    }));
    appendOpportunities(o.items || []);
    if (!(o.items || []).length) result.append(note('No contracts end in this window under these filters.'));
    const areas = [...(o.by_service_area || [])].sort((a, b) => b.contracts - a.contracts || areaName(a.service_area_id).localeCompare(areaName(b.service_area_id)));
    areasBox.replaceChildren(areas.length ? h('details', { class: 'chart-table' },
      h('summary', {}, `Totals for the ${fmtInt(areas.length)} service area${areas.length === 1 ? '' : 's'} with contracts ending`),
      table({
        id: 'opportunities-areas-table', caption: 'Contracts ending in the window, by service area (most first)',
        head: ['Service area', 'Contracts', 'Authorities', 'Annual value'], numeric: [1, 2, 3],
        rows: areas.map((a) => [areaName(a.service_area_id), fmtInt(a.contracts), fmtInt(a.boroughs), money(a.annual_value_gbp)]),
      })) : note('None.'));
  } else {
    oppNext = null;
    summary.replaceChildren();
    result.replaceChildren(note('The contracts could not be loaded.'));
    areasBox.replaceChildren();
    reportError(opp.reason, 'Opportunities');
  }
  $('#opportunities-more').hidden = !oppNext;

  // Market share.
  const marketBox = $('#market-share-result');
  if (market.status === 'fulfilled') {
    const items = market.value.items || [];
    marketBox.replaceChildren(items.length ? table({
      id: 'market-share', caption: 'Suppliers’ shares of contracts in each service area',
      head: ['Service area', 'Contracts', 'Concentration (HHI)', 'Largest suppliers (share of contracts)'], numeric: [1],
      rows: items.map((a) => [areaName(a.service_area_id), fmtInt(a.contracts), hhiCell(a.hhi),
        h('ul', { class: 'inline-list' }, (a.suppliers || []).slice(0, 3).map((s) => h('li', {}, `${s.supplier_name} ${pct(s.share)}`)),
          (a.suppliers || []).length > 3 ? h('li', { class: 'muted' }, `+${fmtInt(a.suppliers.length - 3)} more`) : null)]),
    }) : note('No contracts match these filters.'));
  } else {
    marketBox.replaceChildren(note('Market shares could not be loaded.'));
    reportError(market.reason, 'Market share');
  }

  // Footprint.
  renderFootprint(supplier, foot);

  takeaway('opportunities', [
    { label: 'contracts ending in the window', path: '/insights/opportunities', params: oParams },
    { label: 'market share by service area', path: '/insights/market-share', params: mParams },
    ...(supplier ? [{ label: `where ${supplierName(supplier)} works`, path: `/suppliers/${encodeURIComponent(supplier)}/footprint`, params: fParams }] : []),
  ]);
}

function hhiCell(hhi) {
  const v = Number(hhi) || 0;
  const words = v > 2500 ? 'highly concentrated' : v >= 1500 ? 'moderately concentrated' : 'competitive';
  return h('span', { class: `hhi hhi-${v > 2500 ? 'high' : v >= 1500 ? 'mid' : 'low'}` }, h('strong', {}, fmtInt(Math.round(v))), ` – ${words}`);
}

function appendOpportunities(items) {
  const tbody = $('#opportunities-table tbody');
  const labels = headsOf('opportunities-table');
  for (const c of items) {
    tbody.append(tableRow([
      c.borough_name,
      (c.service_area_ids || []).map(areaName).join(', '),
      h('span', {}, c.title, illustrativeTag(c)),
      c.supplier_name,
      c.system_name || h('span', { class: 'muted' }, 'none named'),
      dateCell(c.end_date),
      money(c.annual_value_gbp),
    ], [6], labels));
    oppShown += 1;
  }
}

function moreOpportunities() {
  if (!oppNext) return;
  return more($('#opportunities-more'), $('#view-opportunities'), async (signal) => {
    const o = await api('/insights/opportunities', { ...oppParams, per_page: OPP_PAGE, cursor: oppNext }, signal);
    appendOpportunities(o.items || []);
    oppNext = (o.meta && o.meta.next_cursor) || null;
    $('#opportunities-more').hidden = !oppNext;
    $('#live').textContent = `${fmtInt(oppShown)} contracts shown.`;
  });
}

function renderFootprint(supplier, foot) {
  const box = $('#footprint-result');
  const names = new Map(LONDON_TILES.map((t) => [t.id, boroughName(t.id)]));
  const counts = new Map();
  let outside = 0;
  const items = foot && foot.status === 'fulfilled' && foot.value ? foot.value.items || [] : [];
  for (const b of items) {
    if (LONDON_IDS.has(b.borough_id)) counts.set(b.borough_id, Number(b.contracts) || 0);
    else outside += 1;
    if (!names.has(b.borough_id)) names.set(b.borough_id, b.borough_name);
  }
  if (foot && foot.status === 'rejected') reportError(foot.reason, 'Supplier footprint');
  const who = supplier ? supplierName(supplier) : null;
  const inLondon = [...counts.values()].filter(Boolean).length;
  const map = tileMap({
    id: 'footprint-map',
    counts, names,
    title: who ? `Where ${who} holds contracts in London` : 'London authorities (choose a supplier)',
    desc: who ? `${who} holds contracts with ${inLondon} of the 33 London authorities. Each square is an authority, shaded by the number of contracts; the table below gives the figures.` : 'Choose a supplier above to shade each authority by its contracts.',
  });
  box.replaceChildren(
    who ? h('p', { class: 'summary-line', id: 'footprint-summary' }, `${who} holds contracts with ${fmtInt(inLondon)} of the 33 London authorities${outside ? ` (and ${fmtInt(outside)} outside London, not on the map)` : ''}.`)
      : h('p', { class: 'hint' }, 'Choose a supplier to shade the map.'),
    map,
    who ? h('details', { class: 'chart-table' }, h('summary', {}, 'Show the map as a table'),
      table({ id: 'footprint-table', caption: `${who}: contracts by authority`, head: ['Authority', 'Contracts', 'Service areas'], numeric: [1],
        rows: items.map((b) => [b.borough_name, fmtInt(b.contracts), (b.service_area_ids || []).map(areaName).join(', ')]) })) : null);
}

// ---------------------------------------------------------------------------------------------
// View: vendors (supplier count vs satisfaction) and data access

function describeR(r, n, measure) {
  if (r === null || r === undefined || !Number.isFinite(Number(r))) {
    return `No correlation can be worked out for ${measure}: fewer than three authorities have ratings under these filters, or nothing varies.`;
  }
  const v = Number(r);
  const a = Math.abs(v);
  const shown = `r = ${v < 0 ? '−' : ''}${a.toFixed(2)}`;
  const over = n ? ` (over ${fmtInt(n)} authorities with ratings)` : '';
  if (a < 0.1) return `${shown}${over}: no real link between how many suppliers an authority uses and how it rates them for ${measure}.`;
  const strength = a < 0.3 ? 'weak' : a < 0.5 ? 'moderate' : a < 0.7 ? 'fairly strong' : 'strong';
  return `${shown}, ${strength} ${v < 0 ? 'negative' : 'positive'}${over}: authorities with more suppliers tend to rate them ${v < 0 ? 'lower' : 'higher'} for ${measure}. A link like this does not show cause.`;
}

async function loadVendors(signal) {
  const params = apiFilters();
  const [sat, access] = await Promise.allSettled([
    api('/insights/vendor-satisfaction', params, signal),
    api('/insights/data-access', params, signal),
  ]);
  if (signal.aborted) throw new DOMException('Aborted', 'AbortError');
  const byValue = state.settings.measure === 'value_for_money';
  const measure = byValue ? 'value for money' : 'satisfaction';
  const field = byValue ? 'mean_value_for_money' : 'mean_satisfaction';

  if (sat.status === 'fulfilled') {
    const data = sat.value;
    const items = data.items || [];
    const corr = data.correlation || {};
    $('#vendors-correlation').textContent = describeR(byValue ? corr.suppliers_vs_value_for_money : corr.suppliers_vs_satisfaction, corr.n, measure);
    const points = items.filter((i) => i[field] != null).map((i) => ({ x: Number(i.suppliers), y: Number(i[field]), label: i.borough_name }));
    $('#vendors-chart').replaceChildren(scatterPlot({
      id: 'vendors-scatter',
      points,
      xMax: Math.max(1, ...items.map((i) => Number(i.suppliers) || 0)),
      xMin: items.length ? Math.min(...items.map((i) => Number(i.suppliers) || 0)) : 0,
      title: `Suppliers used against mean ${measure}, per authority`,
      desc: points.length ? `${points.length} authorities. ${$('#vendors-correlation').textContent}` : `No per-authority ratings are shown${getKey() ? ' under these filters' : ' without a key'}. ${$('#vendors-correlation').textContent}`,
      xLabel: 'Suppliers used by the authority',
      yLabel: `Mean ${measure} (1 to 5)`,
      empty: getKey() ? 'No ratings under these filters' : 'Ratings per authority need a borough key',
    }));
    const mean = (v) => (v == null ? h('span', { class: 'muted' }, getKey() ? 'no ratings' : 'needs a key') : Number(v).toLocaleString('en-GB', { maximumFractionDigits: 2 }));
    $('#vendors-result').replaceChildren(items.length ? table({
      id: 'vendors-table', caption: 'Suppliers, contracts and mean ratings (1 to 5) per authority',
      head: ['Authority', 'Suppliers', 'Contracts', 'Mean satisfaction', 'Mean value for money'], numeric: [1, 2, 3, 4],
      rows: [...items].sort((a, b) => b.suppliers - a.suppliers || a.borough_name.localeCompare(b.borough_name))
        .map((i) => [i.borough_name, fmtInt(i.suppliers), fmtInt(i.contracts), mean(i.mean_satisfaction), mean(i.mean_value_for_money)]),
    }) : note('No contracts match these filters.'));
  } else {
    $('#vendors-correlation').textContent = '';
    $('#vendors-chart').replaceChildren();
    $('#vendors-result').replaceChildren(note('The figures could not be loaded.'));
    reportError(sat.reason, 'Supplier satisfaction');
  }

  const accessBox = $('#data-access-result');
  if (access.status === 'fulfilled') {
    const items = access.value.items || [];
    const LIMIT = 25;
    const render = (all) => {
      const shown = all ? items : items.slice(0, LIMIT);
      accessBox.replaceChildren(items.length ? table({
        id: 'data-access-table', caption: 'Authorities’ access to their own data, by supplier (most often charged or refused first)',
        head: ['Supplier', 'Contracts', 'Included', 'Charged for', 'Not available', 'Not known', 'Charged or not available'], numeric: [1, 2, 3, 4, 5, 6],
        rows: shown.map((s) => [s.supplier_name, fmtInt(s.contracts), fmtInt(s.included), fmtInt(s.charged), fmtInt(s.unavailable), fmtInt(s.unknown), pct(s.share_charged_or_unavailable)]),
      }) : note('No contracts match these filters.'));
      if (!all && items.length > LIMIT) {
        accessBox.append(h('p', {}, h('button', { type: 'button', class: 'button secondary', id: 'data-access-all', onclick: () => render(true) }, `Show all ${fmtInt(items.length)} suppliers`)));
      }
    };
    render(false);
  } else {
    accessBox.replaceChildren(note('Data access figures could not be loaded.'));
    reportError(access.reason, 'Data access');
  }
  takeaway('vendors', [
    { label: 'supplier count and ratings per authority', path: '/insights/vendor-satisfaction', params },
    { label: 'data access by supplier', path: '/insights/data-access', params },
  ]);
  if (sat.status === 'rejected' && access.status === 'rejected') throw new DOMException('handled', 'AbortError');
}

const LOADERS = { estate: loadEstate, joint: loadJoint, expertise: loadExpertise, opportunities: loadOpportunities, vendors: loadVendors };

// ---------------------------------------------------------------------------------------------
// Start

let refsLoaded = false;
let refsFilled = false;

async function loadReferences() {
  const [boroughs, areas, suppliers, systems] = await Promise.allSettled([
    fetchAll('/boroughs'), fetchAll('/service-areas'), fetchAll('/suppliers'), fetchAll('/systems'),
  ]);
  const ok = (r, what) => {
    if (r.status === 'fulfilled') return r.value;
    reportError(r.reason, `Loading the list of ${what}`);
    return [];
  };
  for (const b of ok(boroughs, 'authorities')) refs.boroughs.set(b.id, b);
  for (const a of ok(areas, 'service areas')) refs.areas.set(a.id, a);
  refs.groups = [...refs.areas.values()].filter((a) => !a.parent_id).sort((a, b) => a.name.localeCompare(b.name, 'en-GB'));
  for (const s of ok(suppliers, 'suppliers')) refs.suppliers.set(s.id, s);
  for (const s of ok(systems, 'systems')) refs.systems.set(s.id, s);
  refsLoaded = [boroughs, areas, suppliers, systems].every((r) => r.status === 'fulfilled');
  if (refs.boroughs.size || refs.areas.size || refs.suppliers.size || refs.systems.size) {
    if (refsFilled) clearReferenceControls();
    fillReferenceControls();
    refsFilled = true;
    syncControls();
  }
}

function clearReferenceControls() {
  for (const id of ['filter-borough', 'filter-service_area', 'filter-supplier', 'filter-system', 'expertise-system', 'footprint-supplier']) {
    const sel = $(`#${id}`);
    [...sel.children].slice(1).forEach((c) => c.remove());
  }
}

async function start() {
  document.body.dataset.ready = 'false';
  wireControls();
  syncControls();
  showView();
  await load();
}

start().catch((e) => {
  reportError(e);
  document.body.dataset.ready = 'true';
});
