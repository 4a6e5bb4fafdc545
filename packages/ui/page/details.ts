/** The details panel: every field of the selected service, state or task, and its extensions. */
import { el, formatDuration, formatInstant } from './format.js';
import { type Entity, type EventFields, extensionsOf, type Selection, statesOf, tasksOf } from './model.js';

function value(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function table(rows: [string, string][]): HTMLElement {
  const dl = el('dl', 'fields');
  for (const [k, v] of rows) {
    dl.append(el('dt', undefined, k), el('dd', undefined, v));
  }
  return dl;
}

function section(title: string, body: HTMLElement): HTMLElement {
  const box = el('section', 'detail-section');
  box.append(el('h3', undefined, title), body);
  return box;
}

function eventRows(event: EventFields): [string, string][] {
  return Object.entries(event).map(([k, v]) =>
    k === 'timestamp' ? [k, `${formatInstant(value(v))} (${value(v)})`] : [k, value(v)],
  );
}

function entityRows(entity: Entity, keys: string[]): [string, string][] {
  const rows: [string, string][] = [];
  for (const key of keys) {
    const v = entity[key];
    if (v !== undefined) rows.push([key, value(v)]);
  }
  if (entity.est_duration !== undefined) rows.push(['est_duration', `${entity.est_duration} s`]);
  if (entity.duration !== undefined)
    rows.push(['duration', `${formatDuration(entity.duration)} (${entity.duration} ms)`]);
  if (entity.disposition !== undefined) rows.push(['disposition', value(entity.disposition)]);
  if (entity.disposition_desc !== undefined) rows.push(['disposition_desc', entity.disposition_desc]);
  return rows;
}

/** Fill `container` with the details of `selection` (or the hint when nothing is selected). */
export function showDetails(container: HTMLElement, selection: Selection | undefined): void {
  container.replaceChildren();
  if (selection === undefined) {
    container.append(
      el('p', 'muted', 'Click a service, state or task on the timeline to see its fields and extensions.'),
    );
    return;
  }
  let entity: Entity;
  let heading: string;
  let rows: [string, string][];
  const { service } = selection;
  if (selection.kind === 'service') {
    entity = service;
    heading = `Service ${service.service_type ?? ''}`.trim();
    rows = entityRows(service, ['service_id', 'service_type', 'customer_id', 'contact_key']);
    rows.push(['states', String(statesOf(service).length)], ['tasks', String(tasksOf(service).length)]);
  } else if (selection.kind === 'state') {
    entity = selection.state;
    heading = `State ${selection.state.state_type ?? selection.state.state_id}`;
    rows = entityRows(selection.state, ['state_id', 'state_type']);
    rows.unshift(['service_id', service.service_id]);
  } else {
    entity = selection.task;
    heading = `Task ${selection.task.task_type ?? selection.task.task_id}`;
    rows = entityRows(selection.task, ['task_id', 'task_type', 'state_id']);
    rows.unshift(['service_id', service.service_id]);
  }
  const head = el('div', 'detail-head');
  head.append(el('span', `kind kind-${selection.kind}`, selection.kind));
  head.append(el('h3', 'detail-title', heading));
  head.append(
    el(
      'span',
      `badge ${entity.completed === undefined ? 'badge-active' : 'badge-done'}`,
      entity.completed === undefined ? 'active' : 'completed',
    ),
  );
  container.append(head, section('Fields', table(rows)));
  container.append(section('Started', table(eventRows(entity.started))));
  if (entity.completed !== undefined)
    container.append(section('Completed', table(eventRows(entity.completed))));
  const extensions = extensionsOf(entity, selection.kind);
  const ext = el('div', 'extensions');
  if (extensions.length === 0) ext.append(el('p', 'muted', 'No extensions.'));
  for (const [name, v] of extensions) {
    const box = el('div', 'extension');
    box.append(el('div', 'extension-name', name), el('pre', 'json', JSON.stringify(v, null, 2)));
    ext.append(box);
  }
  container.append(section(`Extensions (${extensions.length})`, ext));
}
