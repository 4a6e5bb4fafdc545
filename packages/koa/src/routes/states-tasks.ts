/**
 * State and task routes of docs/spec.md §4 (SRV.5–9, 12, 13, 15–18). Literal segments (`start`,
 * `transition`, `active`, `completed`) come before the `:state_id` / `:task_id` routes.
 */
import { parseId, parseStateListQuery, parseStateQuery, parseTaskListQuery, parseTaskQuery } from '@cxs/core';
import { STATE_LIST_QUERY, STATE_QUERY, TASK_LIST_QUERY, TASK_QUERY } from './query-params.js';
import { extensionRoutes, SUFFIXES } from './services.js';
import { type RouteRequest, type RouteSpec, siblingPath } from './spec.js';

const sid = (r: RouteRequest) => r.params.service_id as string;
const stateId = (r: RouteRequest) => parseId('state_id', r.params.state_id as string);
const taskId = (r: RouteRequest) => parseId('task_id', r.params.task_id as string);
const suffixName = (status: string) => (status === 'all' ? '' : status === 'active' ? 'Active' : 'Completed');

/** The state routes, in registration order. */
export const stateRoutes: readonly RouteSpec[] = [
  {
    method: 'POST',
    path: '/services/:service_id/states/start',
    operationId: 'startState',
    genesys: 'CV.WS.SRV.5',
    summary: 'Start a state',
    query: [],
    body: { schema: 'StateStartEvent', required: true },
    response: { status: 201, schema: 'StateIdResult' },
    async handle(r) {
      const { state_id } = await r.engine.startState(sid(r), await r.body(), r.call);
      return { status: 201, body: { state_id }, location: siblingPath(r.requestPath, state_id) };
    },
  },
  {
    method: 'POST',
    path: '/services/:service_id/states/transition',
    operationId: 'transition',
    genesys: 'CV.WS.SRV.7',
    summary: 'End an active state and start the next one, atomically',
    query: [],
    body: { schema: 'TransitionRequest', required: true },
    response: { status: 201, schema: 'StateIdResult' },
    async handle(r) {
      const { state_id } = await r.engine.transition(sid(r), await r.body(), r.call);
      return { status: 201, body: { state_id }, location: siblingPath(r.requestPath, state_id) };
    },
  },
  {
    method: 'POST',
    path: '/services/:service_id/states/:state_id/end',
    operationId: 'endState',
    genesys: 'CV.WS.SRV.6',
    summary: 'End a state and its active tasks',
    query: [],
    body: { schema: 'StateEndEvent', required: false },
    response: { status: 204 },
    async handle(r) {
      await r.engine.endState(sid(r), stateId(r), await r.body(), r.call);
      return { status: 204 };
    },
  },
  ...SUFFIXES.map(
    ([suffix, status, label]): RouteSpec => ({
      method: 'GET',
      path: `/services/:service_id/states${suffix}`,
      operationId: `listStates${suffixName(status)}`,
      genesys: 'CV.WS.SRV.12',
      summary: `The states of a service${label}`,
      query: STATE_LIST_QUERY,
      response: { status: 200, schema: 'StateResource', array: true },
      async handle(r) {
        return {
          status: 200,
          body: await r.engine.listStates(sid(r), parseStateListQuery(r.query, status), r.call),
        };
      },
    }),
  ),
  {
    method: 'GET',
    path: '/services/:service_id/states/:state_id',
    operationId: 'getState',
    genesys: 'CV.WS.SRV.15',
    summary: 'One state, optionally with its tasks',
    query: STATE_QUERY,
    response: { status: 200, schema: 'StateResource' },
    async handle(r) {
      const id = stateId(r);
      return { status: 200, body: await r.engine.getState(sid(r), id, parseStateQuery(r.query), r.call) };
    },
  },
  ...extensionRoutes('/services/:service_id/states/:state_id', 'State', 'CV.WS.SRV.17'),
];

/** The task routes, in registration order. */
export const taskRoutes: readonly RouteSpec[] = [
  {
    method: 'POST',
    path: '/services/:service_id/tasks/start',
    operationId: 'startTask',
    genesys: 'CV.WS.SRV.8',
    summary: 'Start a task, of a state (`state_id`) or of the service',
    query: [],
    body: { schema: 'TaskStartEvent', required: true },
    response: { status: 201, schema: 'TaskIdResult' },
    async handle(r) {
      const { task_id } = await r.engine.startTask(sid(r), await r.body(), r.call);
      return { status: 201, body: { task_id }, location: siblingPath(r.requestPath, task_id) };
    },
  },
  {
    method: 'POST',
    path: '/services/:service_id/tasks/:task_id/end',
    operationId: 'endTask',
    genesys: 'CV.WS.SRV.9',
    summary: 'End a task',
    query: [],
    body: { schema: 'TaskEndEvent', required: false },
    response: { status: 204 },
    async handle(r) {
      await r.engine.endTask(sid(r), taskId(r), await r.body(), r.call);
      return { status: 204 };
    },
  },
  ...SUFFIXES.map(
    ([suffix, status, label]): RouteSpec => ({
      method: 'GET',
      path: `/services/:service_id/tasks${suffix}`,
      operationId: `listTasks${suffixName(status)}`,
      genesys: 'CV.WS.SRV.13',
      summary: `The tasks of a service${label}`,
      query: TASK_LIST_QUERY,
      response: { status: 200, schema: 'TaskResource', array: true },
      async handle(r) {
        return {
          status: 200,
          body: await r.engine.listTasks(sid(r), parseTaskListQuery(r.query, status), r.call),
        };
      },
    }),
  ),
  {
    method: 'GET',
    path: '/services/:service_id/tasks/:task_id',
    operationId: 'getTask',
    genesys: 'CV.WS.SRV.16',
    summary: 'One task',
    query: TASK_QUERY,
    response: { status: 200, schema: 'TaskResource' },
    async handle(r) {
      const id = taskId(r);
      return { status: 200, body: await r.engine.getTask(sid(r), id, parseTaskQuery(r.query), r.call) };
    },
  },
  ...extensionRoutes('/services/:service_id/tasks/:task_id', 'Task', 'CV.WS.SRV.18'),
];
