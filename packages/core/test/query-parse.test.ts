import { describe, expect, it } from 'vitest';
import {
  isContextServicesError,
  parseExportQuery,
  parseId,
  parseServiceListQuery,
  parseStateListQuery,
  parseTaskListQuery,
} from '../src/index.js';

function fails(fn: () => unknown, field: RegExp) {
  try {
    fn();
  } catch (e) {
    expect(isContextServicesError(e) && e.code === 'VALIDATION_FAILED').toBe(true);
    expect((e as Error).message).toMatch(field);
    return;
  }
  throw new Error('expected a VALIDATION_FAILED error');
}

describe('query string parsing (docs/spec.md §5)', () => {
  it('reads strict booleans, comma-separated and repeated lists, instants and paging', () => {
    expect(
      parseServiceListQuery(
        {
          active_states: 'true',
          completed_tasks: 'false',
          service_types: ['400,web', 'x'],
          extensions: 'A,State.B',
          started_from: '2026-01-01T00:00:00Z',
          limit: '10',
          offset: '0',
        },
        'active',
      ),
    ).toEqual({
      active_states: true,
      completed_tasks: false,
      service_types: ['400', 'web', 'x'],
      extensions: ['A', 'State.B'],
      started_from: '2026-01-01T00:00:00Z',
      limit: 10,
      offset: 0,
      status: 'active',
    });
    expect(parseTaskListQuery({ state_id: '3', task_types: 'a' })).toEqual({
      state_id: 3,
      task_types: ['a'],
      status: 'all',
    });
    expect(parseStateListQuery({}, 'completed')).toEqual({ status: 'completed' });
    expect(
      parseExportQuery({
        time_from: '2026-01-01T00:00:00Z',
        export_content: 'true',
        filter_events: 'started',
      }),
    ).toEqual({
      time_from: '2026-01-01T00:00:00Z',
      export_content: true,
      filter_events: 'started',
    });
  });

  it('rejects anything else with the parameter named', () => {
    fails(() => parseServiceListQuery({ active_states: 'yes' }), /active_states/);
    fails(() => parseServiceListQuery({ active_states: ['true', 'true'] }), /active_states/);
    fails(() => parseServiceListQuery({ started_to: '2026-13-01' }), /started_to/);
    fails(() => parseServiceListQuery({ limit: '-1' }), /limit/);
    fails(() => parseServiceListQuery({ offset: '1.5' }), /offset/);
    fails(() => parseServiceListQuery({ service_types: ',' }), /service_types/);
    fails(() => parseTaskListQuery({ state_id: 'one' }), /state_id/);
    fails(() => parseExportQuery({}), /time_from/);
    fails(
      () => parseExportQuery({ time_from: '2026-01-01T00:00:00Z', filter_state: 'gone' }),
      /filter_state/,
    );
    for (const bad of ['0', '-1', '01', '1.0', 'abc', '2147483648', ''])
      fails(() => parseId('task_id', bad), /task_id/);
    expect(parseId('task_id', '2147483647')).toBe(2147483647);
  });
});
