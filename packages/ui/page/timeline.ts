/**
 * The journey timeline on vis-timeline: one row group per service; inside it the service as one
 * bar, its states as bars below it, and its tasks below those (stacked where they overlap),
 * coloured like the state they belong to. Active entities run up to now.
 */
import { DataSet } from 'vis-data';
import { type DataGroup, type DataItem, Timeline } from 'vis-timeline';
import { el, formatDuration, formatInstant } from './format.js';
import { type Entity, mediaOf, type Selection, type Service, statesOf, tasksOf } from './model.js';

interface JourneyItem extends DataItem {
  id: string;
  kind: Selection['kind'];
  label: string;
  meta: string;
  active: boolean;
  subgroupOrder: number;
}

/** Number of colours of the state palette in the stylesheet (`.tone-0` … `.tone-5`). */
const TONES = 6;

const labelOf = (type: unknown, fallback: string) => (type === undefined ? fallback : String(type));

function endOf(entity: Entity, now: number): Date {
  if (entity.completed !== undefined) return new Date(entity.completed.timestamp);
  // An active entity runs up to now (never before its start, whatever the clocks say).
  return new Date(Math.max(now, Date.parse(entity.started.timestamp)));
}

function metaOf(entity: Entity, extra: (string | undefined)[] = []): string {
  const parts = [...extra];
  if (entity.disposition !== undefined) parts.push(String(entity.disposition));
  parts.push(entity.duration === undefined ? 'active' : formatDuration(entity.duration));
  return parts.filter((p) => p !== undefined && p !== '').join(' · ');
}

function titleOf(name: string, entity: Entity): string {
  const lines = [name, `started ${formatInstant(entity.started.timestamp)}`];
  if (entity.completed !== undefined) lines.push(`completed ${formatInstant(entity.completed.timestamp)}`);
  if (entity.duration !== undefined) lines.push(`duration ${formatDuration(entity.duration)}`);
  if (entity.disposition !== undefined) lines.push(`disposition ${String(entity.disposition)}`);
  return lines.join('\n');
}

/** The items of one service. */
function itemsOf(service: Service, now: number): JourneyItem[] {
  const sid = service.service_id;
  const states = statesOf(service);
  const tone = new Map(states.map((s, i) => [s.state_id, i % TONES]));
  const item = (
    id: string,
    kind: Selection['kind'],
    entity: Entity,
    label: string,
    meta: string,
    order: number,
    className: string,
  ): JourneyItem => ({
    id,
    group: sid,
    subgroup: `${order}`,
    subgroupOrder: order,
    kind,
    label,
    meta,
    active: entity.completed === undefined,
    start: new Date(entity.started.timestamp),
    end: endOf(entity, now),
    type: 'range',
    content: '',
    title: titleOf(label, entity),
    className: `item-${kind} ${className} ${entity.completed === undefined ? 'is-active' : 'is-completed'}`,
  });
  const items = [
    item(
      `service:${sid}`,
      'service',
      service,
      `Service ${labelOf(service.service_type, '')}`.trim(),
      metaOf(service, [mediaOf(service)]),
      0,
      '',
    ),
  ];
  for (const state of states) {
    items.push(
      item(
        `state:${sid}:${state.state_id}`,
        'state',
        state,
        labelOf(state.state_type, `State ${state.state_id}`),
        metaOf(state),
        1,
        `tone-${tone.get(state.state_id) ?? 0}`,
      ),
    );
  }
  for (const task of tasksOf(service)) {
    const t = task.state_id === undefined ? undefined : tone.get(task.state_id);
    items.push(
      item(
        `task:${sid}:${task.task_id}`,
        'task',
        task,
        labelOf(task.task_type, `Task ${task.task_id}`),
        metaOf(task, [mediaOf(task)]),
        2,
        t === undefined ? 'tone-none' : `tone-${t}`,
      ),
    );
  }
  return items;
}

function groupOf(service: Service): DataGroup {
  const box = el('div', 'group-label');
  box.append(el('div', 'group-title', labelOf(service.service_type, 'Service')));
  const who = service.customer_id ?? (service.contact_key === undefined ? '' : `☎ ${service.contact_key}`);
  box.append(el('div', 'group-sub', `${service.service_id.slice(0, 10)}… ${who}`.trim()));
  const badge = el(
    'span',
    `badge ${service.completed === undefined ? 'badge-active' : 'badge-done'}`,
    service.completed === undefined ? 'active' : 'completed',
  );
  box.append(badge);
  return {
    id: service.service_id,
    content: box,
    subgroupOrder: 'subgroupOrder',
    subgroupStack: { '0': false, '1': true, '2': true },
    className: service.completed === undefined ? 'group-active' : 'group-done',
  };
}

function render(item: JourneyItem): HTMLElement {
  const box = el('div', 'item-body');
  box.append(el('span', 'item-label', item.label));
  if (item.meta !== '') box.append(el('span', 'item-meta', item.meta));
  return box;
}

/** The timeline of a set of services, kept in step with them. */
export class JourneyTimeline {
  private readonly items = new DataSet<JourneyItem>();
  private readonly groups = new DataSet<DataGroup>();
  private readonly services = new Map<string, Service>();
  private readonly timeline: Timeline;
  private userMoved = false;

  constructor(container: HTMLElement, onSelect: (selection: Selection | undefined) => void) {
    this.timeline = new Timeline(container, this.items, this.groups, {
      stack: true,
      stackSubgroups: true,
      orientation: { axis: 'top', item: 'top' },
      margin: { item: { horizontal: 0, vertical: 6 }, axis: 8 },
      groupOrder: (a: DataGroup & { start?: number }, b: DataGroup & { start?: number }) =>
        (a.start ?? 0) - (b.start ?? 0),
      template: (item: JourneyItem) => render(item),
      tooltip: { followMouse: true, overflowMethod: 'cap' },
      zoomMin: 1000,
      minHeight: 220,
      maxHeight: 640,
      showCurrentTime: true,
      selectable: true,
    });
    this.timeline.on('select', (props: { items: string[] }) => onSelect(this.selectionOf(props.items[0])));
    this.timeline.on('rangechange', (props: { byUser?: boolean }) => {
      if (props.byUser === true) this.userMoved = true;
    });
  }

  /** Replace everything shown by `services`. */
  setAll(services: Service[]): void {
    this.services.clear();
    this.items.clear();
    this.groups.clear();
    this.userMoved = false;
    for (const s of services) this.upsert(s, false);
    this.fit();
  }

  /** Add or replace one service. */
  upsert(service: Service, follow = true): void {
    const sid = service.service_id;
    this.services.set(sid, service);
    const now = Date.now();
    const fresh = itemsOf(service, now);
    const ids = new Set(fresh.map((i) => i.id));
    this.items.remove(this.items.getIds({ filter: (i: JourneyItem) => i.group === sid && !ids.has(i.id) }));
    this.groups.update({ ...groupOf(service), start: Date.parse(service.started.timestamp) } as DataGroup);
    this.items.update(fresh);
    if (follow && !this.userMoved) this.fit();
  }

  /** Remove one service. */
  remove(serviceId: string): void {
    this.services.delete(serviceId);
    this.items.remove(this.items.getIds({ filter: (i: JourneyItem) => i.group === serviceId }));
    this.groups.remove(serviceId);
  }

  /** The service with this id, if shown. */
  get(serviceId: string): Service | undefined {
    return this.services.get(serviceId);
  }

  /** Every service shown. */
  all(): Service[] {
    return [...this.services.values()];
  }

  /** Let active bars grow to now. */
  tick(): void {
    const now = Date.now();
    const active = this.items.get({ filter: (i: JourneyItem) => i.active });
    this.items.update(
      active.map((i: JourneyItem) => ({
        ...i,
        end: new Date(Math.max(now, new Date(i.start as Date).getTime())),
      })),
    );
  }

  /** Show every service. */
  fit(): void {
    if (this.items.length > 0) this.timeline.fit({ animation: false });
  }

  /** Fit and follow new events again. */
  refit(): void {
    this.userMoved = false;
    this.fit();
  }

  /** Select an item by id (as a click does). */
  select(id: string | undefined): void {
    this.timeline.setSelection(id === undefined ? [] : [id]);
  }

  private selectionOf(id: string | undefined): Selection | undefined {
    if (id === undefined) return undefined;
    const [kind, sid, n] = id.split(':');
    const service = sid === undefined ? undefined : this.services.get(sid);
    if (service === undefined) return undefined;
    if (kind === 'service') return { kind, service };
    if (kind === 'state') {
      const state = statesOf(service).find((s) => s.state_id === Number(n));
      return state === undefined ? undefined : { kind, service, state };
    }
    const task = tasksOf(service).find((t) => t.task_id === Number(n));
    return task === undefined ? undefined : { kind: 'task', service, task };
  }
}
