import Type, { type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';

/**
 * TypeBox schemas of every request body and resource of docs/spec.md §3–§8. Each is a JSON Schema value
 * and a static type at once; the engine validates with them and the HTTP adapter feeds the same
 * values to its OpenAPI document. Limits that are configurable (docs/spec.md §10) are checked in code,
 * the documented fixed ones (docs/spec.md §2) are in the schemas.
 */

/** "long or string" (docs/spec.md §2). */
export const TypeValueSchema = Type.Union([Type.Integer(), Type.String({ maxLength: 256 })], {
  description: 'A number or a string, stored and returned as given',
});
const Instant = Type.String({ description: 'ISO 8601 instant', maxLength: 64 });
const Int32 = Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 });
const Id32 = Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 });
const Seconds = Type.Integer({ minimum: 1, maximum: 1_000 * 365 * 86_400 });

/** Fields of every event (docs/spec.md §3.1). */
export const EventFields = {
  timestamp: Type.Optional(Instant),
  session_id: Type.Optional(Type.String({ maxLength: 32 })),
  interaction_id: Type.Optional(Type.String({ maxLength: 50 })),
  application_type: Type.Optional(TypeValueSchema),
  application_id: Type.Optional(Type.Integer()),
  resource_type: Type.Optional(TypeValueSchema),
  resource_id: Type.Optional(Type.Integer()),
  media_type: Type.Optional(TypeValueSchema),
};
const StartFields = { ...EventFields, est_duration: Type.Optional(Int32) };
const EndFields = {
  ...EventFields,
  disposition: Type.Optional(TypeValueSchema),
  disposition_desc: Type.Optional(Type.String({ maxLength: 64 })),
};
const ExpirationFields = {
  ttl: Type.Optional(Seconds),
  expiration_time: Type.Optional(Instant),
};
const open = {
  additionalProperties: true,
  description: 'Other top-level keys are attached data (extensions)',
};

export const ServiceStartEvent = Type.Object(
  {
    ...StartFields,
    ...ExpirationFields,
    customer_id: Type.Optional(Type.String({ minLength: 1 })),
    contact_key: Type.Optional(Type.String({ minLength: 1 })),
    service_type: Type.Optional(TypeValueSchema),
    auto_complete_after: Type.Optional(Seconds),
  },
  open,
);
export const ServiceEndEvent = Type.Object({ ...EndFields, ...ExpirationFields }, open);
export const StateStartEvent = Type.Object(
  { ...StartFields, state_type: Type.Optional(TypeValueSchema), previous_state_id: Type.Optional(Id32) },
  open,
);
export const StateEndEvent = Type.Object(EndFields, open);
export const TaskStartEvent = Type.Object(
  { ...StartFields, task_type: Type.Optional(TypeValueSchema), state_id: Type.Optional(Id32) },
  open,
);
export const TaskEndEvent = Type.Object(EndFields, open);

/** Associate body (SRV.2): start-event fields to overwrite, plus extensions. */
export const AssociateBody = Type.Object(
  {
    ...EventFields,
    est_duration: Type.Optional(Int32),
    customer_id: Type.Optional(Type.String({ minLength: 1 })),
    contact_key: Type.Optional(Type.String({ minLength: 1 })),
    service_type: Type.Optional(TypeValueSchema),
  },
  open,
);

/** Transition body (SRV.7). Top-level event fields are shared by the end and the start. */
export const TransitionRequest = Type.Object(
  {
    ...EventFields,
    from: Type.Object(
      {
        state_id: Id32,
        disposition: Type.Optional(TypeValueSchema),
        disposition_desc: Type.Optional(Type.String({ maxLength: 64 })),
      },
      { additionalProperties: false },
    ),
    to: Type.Optional(
      Type.Object(
        { state_type: Type.Optional(TypeValueSchema), est_duration: Type.Optional(Int32) },
        { additionalProperties: false },
      ),
    ),
  },
  open,
);

/** `PUT /services/{id}` body (docs/spec.md §4): at least one of the two. */
export const ExpirationUpdate = Type.Object(ExpirationFields, {
  additionalProperties: false,
  minProperties: 1,
});

export const CompositeItem = Type.Object(
  {
    service: Type.Object({}, { additionalProperties: true, description: 'A service start event' }),
    state: Type.Object({}, { additionalProperties: true, description: 'A state start event' }),
    task: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'A task start event' })),
    associate_state_task: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export const CompositeStartRequest = Type.Object(
  {
    services: Type.Array(CompositeItem, { minItems: 1, maxItems: 100 }),
    create_new_services: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export const CompositeStartResult = Type.Object({
  services: Type.Array(
    Type.Object({
      service_id: Type.String(),
      service_created: Type.Boolean(),
      state_id: Id32,
      state_created: Type.Boolean(),
      task_id: Type.Optional(Id32),
      task_created: Type.Optional(Type.Boolean()),
    }),
  ),
});

export const PurgeOperationSchema = Type.Union([
  Type.Literal('purge.service.all'),
  Type.Literal('purge.service.started'),
  Type.Literal('purge.service.started.anonymous'),
  Type.Literal('purge.service.completed'),
  Type.Literal('purge.service.completed.anonymous'),
]);
export const PurgeRequestSchema = Type.Object(
  { limit: Instant, operation: PurgeOperationSchema },
  { additionalProperties: false },
);

// Resources (docs/spec.md §3.2).
const EventView = Type.Object({
  timestamp: Instant,
  session_id: Type.Optional(Type.String()),
  interaction_id: Type.Optional(Type.String()),
  application_type: Type.Optional(TypeValueSchema),
  application_id: Type.Optional(Type.Integer()),
  resource_type: Type.Optional(TypeValueSchema),
  resource_id: Type.Optional(Type.Integer()),
  media_type: Type.Optional(TypeValueSchema),
});
const ServiceId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
/** Only on the top-level object of a response (docs/spec.md §3.2): nested states and tasks omit it. */
const OwnerId = Type.Optional(
  Type.String({
    pattern: '^[A-Za-z0-9_-]{1,64}$',
    description: 'Only on the top-level object of a response',
  }),
);
const EntityViewFields = {
  est_duration: Type.Optional(Int32),
  started: EventView,
  completed: Type.Optional(EventView),
  disposition: Type.Optional(TypeValueSchema),
  disposition_desc: Type.Optional(Type.String()),
  duration: Type.Optional(Type.Integer({ description: 'milliseconds' })),
};
export const TaskResource = Type.Object(
  {
    service_id: OwnerId,
    task_id: Id32,
    task_type: Type.Optional(TypeValueSchema),
    state_id: Type.Optional(Id32),
    ...EntityViewFields,
  },
  open,
);
export const StateResource = Type.Object(
  {
    service_id: OwnerId,
    state_id: Id32,
    state_type: Type.Optional(TypeValueSchema),
    previous_state_id: Type.Optional(Id32),
    ...EntityViewFields,
    active_tasks: Type.Optional(Type.Array(TaskResource)),
    completed_tasks: Type.Optional(Type.Array(TaskResource)),
  },
  open,
);
export const ServiceResource = Type.Object(
  {
    service_id: ServiceId,
    service_type: Type.Optional(TypeValueSchema),
    customer_id: Type.Optional(Type.String()),
    contact_key: Type.Optional(Type.String()),
    ...EntityViewFields,
    active_states: Type.Optional(Type.Array(StateResource)),
    completed_states: Type.Optional(Type.Array(StateResource)),
    active_tasks: Type.Optional(Type.Array(TaskResource)),
    completed_tasks: Type.Optional(Type.Array(TaskResource)),
  },
  open,
);

/** The JSON error body (docs/spec.md §2.1). */
export const ErrorBody = Type.Object({
  message: Type.String(),
  exception: Type.String(),
  code: Type.String(),
});

/** Every schema, by name, for documentation generators (the HTTP adapter's OpenAPI document). */
export const schemas = {
  ServiceStartEvent,
  ServiceEndEvent,
  StateStartEvent,
  StateEndEvent,
  TaskStartEvent,
  TaskEndEvent,
  AssociateBody,
  TransitionRequest,
  ExpirationUpdate,
  CompositeStartRequest,
  CompositeStartResult,
  PurgeRequest: PurgeRequestSchema,
  ServiceResource,
  StateResource,
  TaskResource,
  ErrorBody,
} as const satisfies Record<string, TSchema>;

/** Compiled validators, built once at load. */
export const validators = {
  serviceStart: Compile(ServiceStartEvent),
  serviceEnd: Compile(ServiceEndEvent),
  stateStart: Compile(StateStartEvent),
  stateEnd: Compile(StateEndEvent),
  taskStart: Compile(TaskStartEvent),
  taskEnd: Compile(TaskEndEvent),
  associate: Compile(AssociateBody),
  transition: Compile(TransitionRequest),
  expiration: Compile(ExpirationUpdate),
  composite: Compile(CompositeStartRequest),
  purge: Compile(PurgeRequestSchema),
};
