/**
 * The journey page: find a customer's services (or a contact key's anonymous ones), show them on
 * a timeline, and keep it current from the change stream. The search lives in the URL, so a view
 * can be bookmarked and shared.
 */
import 'vis-timeline/styles/vis-timeline-graph2d.min.css';
import './styles.css';
import { Api, describeError, LIST_LIMIT, loadConfig, type PageConfig, type Query } from './api.js';
import { showDetails } from './details.js';
import { el, formatTime, isoToLocal, localToIso } from './format.js';
import type { Selection, Service } from './model.js';
import { type ChangeEvent, follow } from './stream.js';
import { JourneyTimeline } from './timeline.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const form = $<HTMLFormElement>('search');
const tenantField = $<HTMLLabelElement>('tenant-field');
const tenantSelect = $<HTMLSelectElement>('tenant');
const modeSelect = $<HTMLSelectElement>('mode');
const queryInput = $<HTMLInputElement>('query');
const fromInput = $<HTMLInputElement>('from');
const toInput = $<HTMLInputElement>('to');
const details = $('details');
const message = $('message');
const feed = $<HTMLOListElement>('feed');

let config: PageConfig = { basePath: '/genesys/1/cs', tenants: [] };
let current: { api: Api; query: Query; stop: AbortController } | undefined;
let selected: string | undefined;
let feedCount = 0;

const timeline = new JourneyTimeline($('timeline'), (selection) => {
  selected = selection === undefined ? undefined : idOf(selection);
  showDetails(details, selection);
});

function idOf(s: Selection): string {
  const sid = s.service.service_id;
  if (s.kind === 'service') return `service:${sid}`;
  return s.kind === 'state' ? `state:${sid}:${s.state.state_id}` : `task:${sid}:${s.task.task_id}`;
}

function say(text: string | undefined, tone: 'error' | 'info' = 'error'): void {
  message.hidden = text === undefined;
  message.textContent = text ?? '';
  message.dataset.tone = tone;
}

/** An anonymous service shown was attached to a customer: say so, with a link to their journey. */
function associated(serviceId: string, customerId: string): void {
  const params = new URLSearchParams(location.search);
  params.delete('contact_key');
  params.set('customer', customerId);
  const link = el('a', undefined, `open customer ${customerId}`);
  link.href = `?${params}`;
  message.replaceChildren(
    `Service ${serviceId.slice(0, 10)}… was identified and associated with a customer: `,
    link,
  );
  message.dataset.tone = 'info';
  message.hidden = false;
}

function setLive(state: 'idle' | 'connecting' | 'live' | 'down' | 'stopped', text: string): void {
  const live = $('live');
  live.dataset.state = state;
  $('live-text').textContent = text;
}

function summarize(): void {
  if (current === undefined) return;
  const services = timeline.all();
  const active = services.filter((s) => s.completed === undefined).length;
  const { query } = current;
  $('title').textContent =
    query.mode === 'customer' ? `Customer ${query.value}` : `Contact key ${query.value} (anonymous)`;
  const more = services.length >= LIST_LIMIT ? ` (the first ${LIST_LIMIT}: narrow the dates)` : '';
  $('summary').textContent =
    services.length === 0
      ? 'No services match.'
      : `${services.length} service${services.length === 1 ? '' : 's'}, ${active} active${more}`;
  ($('fit') as HTMLButtonElement).disabled = services.length === 0;
  const box = $('timeline');
  if (services.length === 0) box.dataset.empty = 'No services to show';
  else delete box.dataset.empty;
}

/** Does a service belong in the current view? (Filters as the list query applies them.) */
function matches(s: Service, q: Query): boolean {
  if (
    q.mode === 'customer'
      ? s.customer_id !== q.value
      : s.customer_id !== undefined || s.contact_key !== q.value
  )
    return false;
  if (q.status === 'active' && s.completed !== undefined) return false;
  if (q.status === 'completed' && s.completed === undefined) return false;
  const started = Date.parse(s.started.timestamp);
  if (q.startedFrom !== undefined && started < Date.parse(q.startedFrom)) return false;
  if (q.startedTo !== undefined && started >= Date.parse(q.startedTo)) return false;
  return true;
}

/** Services whose events arrived and are being read again; one read per service at a time. */
const refreshing = new Map<string, boolean>();

async function refresh(serviceId: string): Promise<void> {
  if (refreshing.has(serviceId)) {
    refreshing.set(serviceId, true);
    return;
  }
  refreshing.set(serviceId, false);
  const view = current;
  try {
    do {
      refreshing.set(serviceId, false);
      if (view === undefined) return;
      const service = await view.api.service(serviceId);
      if (view !== current) return;
      if (service !== undefined && matches(service, view.query)) timeline.upsert(service);
      else {
        if (
          service?.customer_id !== undefined &&
          view.query.mode === 'contact_key' &&
          timeline.get(serviceId)
        )
          associated(service.service_id, service.customer_id);
        timeline.remove(serviceId);
      }
    } while (refreshing.get(serviceId) === true);
    summarize();
    if (selected?.includes(`:${serviceId}`)) {
      timeline.select(selected);
      showDetails(details, reselect(selected));
    }
  } catch (error) {
    say(describeError(error));
  } finally {
    refreshing.delete(serviceId);
  }
}

function reselect(id: string): Selection | undefined {
  const [kind, sid, n] = id.split(':');
  const service = sid === undefined ? undefined : timeline.get(sid);
  if (service === undefined) return undefined;
  if (kind === 'service') return { kind, service };
  const all = kind === 'state' ? [...(service.active_states ?? []), ...(service.completed_states ?? [])] : [];
  if (kind === 'state') {
    const state = all.find((s) => s.state_id === Number(n));
    return state === undefined ? undefined : { kind, service, state };
  }
  const task = [...(service.active_tasks ?? []), ...(service.completed_tasks ?? [])].find(
    (t) => t.task_id === Number(n),
  );
  return task === undefined ? undefined : { kind: 'task', service, task };
}

function addToFeed(event: ChangeEvent, position: string): void {
  const li = el('li', `feed-item type-${event.type.split('.')[0]}`);
  li.dataset.type = event.type;
  li.append(el('time', 'feed-time', formatTime(event.timestamp)));
  li.append(el('span', 'feed-type', event.type));
  const what = [
    event.state_id === undefined ? undefined : `state ${event.state_id}`,
    event.task_id === undefined ? undefined : `task ${event.task_id}`,
    `service ${event.service_id.slice(0, 10)}…`,
  ].filter((x) => x !== undefined);
  li.append(el('span', 'feed-what', what.join(' · ')));
  li.title = `position ${position}`;
  feed.prepend(li);
  while (feed.children.length > 50) feed.lastElementChild?.remove();
  feedCount += 1;
  $('feed-count').textContent = `${feedCount} received`;
}

async function load(view: NonNullable<typeof current>): Promise<void> {
  try {
    const services = await view.api.listServices(view.query);
    if (view !== current) return;
    timeline.setAll(services);
    say(undefined);
    summarize();
  } catch (error) {
    if (view === current) say(describeError(error));
  }
}

function readQuery(): Query | undefined {
  const value = queryInput.value.trim();
  if (value === '') return undefined;
  const status = (new FormData(form).get('status') ?? 'all') as Query['status'];
  return {
    mode: modeSelect.value === 'contact_key' ? 'contact_key' : 'customer',
    value,
    status,
    startedFrom: localToIso(fromInput.value),
    startedTo: localToIso(toInput.value),
  };
}

function writeUrl(query: Query, tenant: string | undefined): void {
  const params = new URLSearchParams();
  if (tenant !== undefined) params.set('tenant', tenant);
  params.set(query.mode, query.value);
  if (query.status !== 'all') params.set('status', query.status);
  if (query.startedFrom !== undefined) params.set('started_from', query.startedFrom);
  if (query.startedTo !== undefined) params.set('started_to', query.startedTo);
  history.replaceState(null, '', `?${params}`);
}

function readUrl(): void {
  const params = new URLSearchParams(location.search);
  const tenant = params.get('tenant');
  if (tenant !== null) tenantSelect.value = tenant;
  const key = params.get('contact_key');
  modeSelect.value = key !== null ? 'contact_key' : 'customer';
  queryInput.value = key ?? params.get('customer') ?? '';
  const status = params.get('status') ?? 'all';
  for (const radio of form.querySelectorAll<HTMLInputElement>('input[name=status]'))
    radio.checked = radio.value === status;
  fromInput.value = isoToLocal(params.get('started_from') ?? '');
  toInput.value = isoToLocal(params.get('started_to') ?? '');
  updateModeLabel();
}

function updateModeLabel(): void {
  const customer = modeSelect.value === 'customer';
  $('query-label').textContent = customer ? 'Customer id' : 'Contact key';
  queryInput.placeholder = customer ? 'e.g. C-1042' : 'e.g. +33 1 23 45 67 89';
}

function search(): void {
  const query = readQuery();
  if (query === undefined) return;
  const tenant = config.tenants.length === 0 ? undefined : tenantSelect.value;
  writeUrl(query, tenant);
  current?.stop.abort();
  const view = { api: new Api(config, tenant), query, stop: new AbortController() };
  current = view;
  selected = undefined;
  showDetails(details, undefined);
  feed.replaceChildren();
  feedCount = 0;
  $('feed-count').textContent = 'none yet';
  timeline.setAll([]);
  summarize();
  setLive('connecting', 'Connecting…');
  // Subscribe first, then list: an event between the two is read again, never missed.
  void follow(
    view.api.eventsUrl(query),
    view.api.headers(),
    {
      onOpen: (resumed) => {
        setLive('live', 'Live');
        if (!resumed) void load(view);
      },
      onEvent: (event, position) => {
        addToFeed(event, position);
        void refresh(event.service_id);
      },
      onDown: (retryMs) => setLive('down', `Reconnecting in ${Math.round(retryMs / 1000)} s…`),
      onFatal: (error) => {
        setLive('stopped', 'Not following');
        say(describeError(error));
      },
    },
    view.stop.signal,
  );
}

async function start(): Promise<void> {
  try {
    config = await loadConfig();
  } catch (error) {
    say(describeError(error));
    return;
  }
  if (config.tenants.length > 0) {
    tenantField.hidden = false;
    for (const t of config.tenants) {
      const option = el('option', undefined, t.name === t.id ? t.name : `${t.name} (${t.id})`);
      option.value = t.id;
      tenantSelect.append(option);
    }
  }
  readUrl();
  modeSelect.addEventListener('change', updateModeLabel);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    search();
  });
  $('fit').addEventListener('click', () => timeline.refit());
  // Active bars grow with the clock.
  setInterval(() => timeline.tick(), 5000);
  document.body.dataset.ready = 'true';
  if (queryInput.value !== '') search();
}

void start();
