// A journey is data: a versioned definition validated here, interpreted by one generic workflow. The
// same schema is exported as JSON Schema (`journeyJsonSchema`) for clinics' own tools.
import { Duration } from 'luxon';
import { z } from 'zod';
import { describeIssues } from '../lib/zod-issues';
import { loopsWithoutWait } from './step-graph';
import { isBrokenText } from '../domain/text';

/**
 * The definition travels in every enrollment's workflow input (and again at each continue-as-new), under
 * Temporal's payload limit of 2 MB with room to spare; the built-in journeys are about 1 KB and 7 steps.
 */
export const MAX_JOURNEY_BYTES = 64 * 1024;
export const MAX_JOURNEY_STEPS = 100;

const tooLarge = (bytes: number) =>
  `${bytes} bytes; a journey definition has at most ${MAX_JOURNEY_BYTES} (it travels in every enrollment)`;

const stepId = z.string().regex(/^[a-z][a-z0-9-]{0,40}$/, 'step ids are lower-case letters, digits and -');
export const slug = z.string().regex(/^[a-z][a-z0-9-]{0,40}$/, 'lower-case letters, digits and -');
const templateKey = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,60}$/, 'template keys are lower-case letters, digits and -');

/**
 * ISO-8601 duration. Signed ones are offsets from a date, before it (`-P3D`), after it (`P1D`) or on it
 * (`P0D`); unsigned ones are lengths of time and must be positive.
 */
const isoDuration = (signed: boolean) =>
  z.string().refine(
    (value) => {
      const body = signed ? value.replace(/^[+-]/, '') : value;
      const duration = Duration.fromISO(body);
      return /^P/.test(body) && duration.isValid && (signed || duration.toMillis() > 0);
    },
    signed
      ? 'expected a signed ISO-8601 duration such as -P3D, P0D or P1D'
      : 'expected an ISO-8601 duration such as P2D or PT12H',
  );

/**
 * A clinic's own words for a template in one language, in place of the catalogue's (locales/<language>/
 * <template>.json has the same shape); whatever it leaves out comes from the catalogue in that language.
 */
const templateTexts = z
  .object({
    sms: z.string().min(1).max(1000).optional(),
    email: z
      .object({
        subject: z.string().min(1).max(300).optional(),
        text: z.string().min(1).max(10_000).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** A shipped language's tag as its catalogue folder is named: es, zh-Hant. */
const catalogueLanguage = z
  .string()
  .regex(/^[a-z]{2,3}(-[A-Z][a-z]{3})?$/, 'a language as its catalogue is named, such as es or zh-Hant');

const eventName = z.string().regex(/^[a-z]+(\.[a-z-]+)+$/, 'event names look like visit.booked');

const localTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a local time HH:MM');

const factName = z.string().regex(/^[a-zA-Z]\w{0,40}$/, 'fact names are letters, digits and _');

/**
 * The facts an enrollment brings (from the EHR event or the sweep), declared so that a bad or missing one
 * refuses the event instead of misleading a step: `date` YYYY-MM-DD, `time` HH:MM, `integer`, `boolean`
 * (true/false), `text`.
 */
export const FACT_TYPES = ['date', 'time', 'integer', 'boolean', 'text'] as const;
const factDeclaration = z.object({ type: z.enum(FACT_TYPES), required: z.boolean().default(false) }).strict();

/** A test of one fact; a fact the enrollment does not carry passes no test. */
const factCondition = z
  .object({
    kind: z.literal('fact'),
    fact: factName,
    equals: z.union([z.string().max(200), z.number().int(), z.boolean()]).optional(),
    atLeast: z.number().int().optional(),
    below: z.number().int().optional(),
  })
  .strict()
  .refine(
    (test) =>
      [test.equals, test.atLeast, test.below].filter((comparator) => comparator !== undefined).length === 1,
    { message: 'a fact condition needs exactly one of "equals", "atLeast" and "below"' },
  );

/** What the anchor date is; a template may show it as `{{<anchor>}}` (e.g. `{{appointmentDate}}`). */
export const anchorFields = [
  'refillDueDate',
  'screeningDueDate',
  'lastVisitDate',
  'coverageEndDate',
  'appointmentDate',
  'enrollmentDeadline',
  'renewalDueDate',
] as const;

const waitStep = z
  .object({
    id: stepId,
    type: z.literal('wait'),
    /**
     * Until the anchor date (or the date fact `from`, e.g. a deadline) moved by `offset`, at `at` in the
     * patient's zone (default 10:00).
     */
    until: z
      .object({ offset: isoDuration(true), at: localTime.optional(), from: factName.optional() })
      .strict()
      .optional(),
    /** Or simply for a duration. */
    for: isoDuration(false).optional(),
    /**
     * When the journey reaches this wait more than a day after its moment (enrolled late): `send` the
     * next step anyway (the default), or `skip` it, for a message whose words belong to that moment.
     */
    ifPassed: z.enum(['send', 'skip']).optional(),
    /** The step to go on to; default: the next one. */
    next: stepId.optional(),
  })
  .strict()
  .refine((step) => Boolean(step.until) !== Boolean(step.for), {
    message: 'a wait step needs exactly one of "until" and "for"',
    path: ['until'],
  });

const sendStep = z
  .object({
    id: stepId,
    type: z.literal('send'),
    template: templateKey,
    /** "preferred": the patient's preferred channel, then the others they consented to. */
    channels: z
      .union([z.literal('preferred'), z.array(z.enum(['sms', 'email'])).min(1)])
      .default('preferred'),
    variants: z
      .array(
        z.object({ key: slug, template: templateKey, weight: z.number().int().min(1).max(100) }).strict(),
      )
      .min(2, 'A/B testing needs at least two variants')
      .max(10, 'at most 10 variants')
      .optional(),
    /** The step to go on to; default: the next one. */
    next: stepId.optional(),
  })
  .strict();

const waitForEventStep = z
  .object({
    id: stepId,
    type: z.literal('waitForEvent'),
    event: slug.or(eventName),
    timeout: isoDuration(false),
    /** Where to go when the event arrives / the timeout passes; default: the next step. */
    onEvent: stepId.optional(),
    onTimeout: stepId.optional(),
  })
  .strict();

const condition = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('delivered'), step: stepId }).strict(),
  z.object({ kind: z.literal('replied'), step: stepId }).strict(),
  z
    .object({
      kind: z.literal('attribute'),
      attribute: z.enum(['language', 'preferredChannel', 'timeZone']),
      equals: z.string().max(200),
    })
    .strict(),
  factCondition,
]);

const branchStep = z
  .object({ id: stepId, type: z.literal('branch'), condition, then: stepId, else: stepId })
  .strict();

const exitStep = z.object({ id: stepId, type: z.literal('exit'), reason: slug.optional() }).strict();

export const journeyStep = z.discriminatedUnion('type', [
  waitStep,
  sendStep,
  waitForEventStep,
  branchStep,
  exitStep,
]);

export const journeyDefinition = z
  .object({
    key: slug,
    version: z.number().int().min(1),
    name: z.string().min(1).max(120),
    category: z.enum(['transactional', 'marketing']),
    trigger: z
      .object({
        event: eventName,
        /** More events that start it, e.g. a rescheduled appointment as well as a booked one. */
        also: z.array(eventName).max(10).optional(),
        /** Not started when one of these holds, e.g. an as-needed prescription. */
        unless: z.array(factCondition).max(10).optional(),
      })
      .strict(),
    anchor: z.enum(anchorFields),
    facts: z.record(factName, factDeclaration).optional(),
    /** The event that ends the journey wherever it is, its aim reached. */
    goal: z.object({ event: z.string().min(1) }).strict(),
    /** Events that end it wherever it is without its aim, e.g. a discontinued medication. */
    endsOn: z
      .array(z.object({ event: eventName, reason: slug }).strict())
      .max(10)
      .optional(),
    /** The clinic's own texts, by language then template: `{ "es": { "refill-soon": { "sms": "…" } } }`. */
    texts: z.record(catalogueLanguage, z.record(templateKey, templateTexts)).optional(),
    steps: z
      .array(journeyStep)
      .min(1, 'a journey needs at least one step')
      .max(MAX_JOURNEY_STEPS, `a journey has at most ${MAX_JOURNEY_STEPS} steps`),
  })
  .strict()
  .superRefine((journey, ctx) => {
    const bytes = Buffer.byteLength(JSON.stringify(journey));
    if (bytes > MAX_JOURNEY_BYTES) ctx.addIssue({ code: 'custom', path: [], message: tooLarge(bytes) });
    const ids = new Map<string, number>();
    journey.steps.forEach((step, index) => {
      if (ids.has(step.id))
        ctx.addIssue({
          code: 'custom',
          path: ['steps', index, 'id'],
          message: `duplicate step id "${step.id}"`,
        });
      ids.set(step.id, index);
    });
    journey.steps.forEach((step, index) => {
      const targets: [string, string | undefined][] =
        step.type === 'branch'
          ? [
              ['then', step.then],
              ['else', step.else],
            ]
          : step.type === 'waitForEvent'
            ? [
                ['onEvent', step.onEvent],
                ['onTimeout', step.onTimeout],
              ]
            : step.type === 'wait' || step.type === 'send'
              ? [['next', step.next]]
              : [];
      if (
        step.type === 'branch' &&
        (step.condition.kind === 'delivered' || step.condition.kind === 'replied')
      )
        targets.push(['condition', step.condition.step]);
      for (const [field, target] of targets) {
        if (target !== undefined && !ids.has(target)) {
          ctx.addIssue({
            code: 'custom',
            path: ['steps', index, field],
            message: `refers to unknown step "${target}"`,
          });
        }
      }
    });
    const declared = journey.facts ?? {};
    const checkFact = (test: FactCondition, path: (string | number)[]) => {
      const problem = factConditionProblem(test, declared[test.fact]?.type);
      if (problem) ctx.addIssue({ code: 'custom', path, message: problem });
    };
    journey.trigger.unless?.forEach((test, index) => checkFact(test, ['trigger', 'unless', index]));
    journey.steps.forEach((step, index) => {
      if (step.type === 'branch' && step.condition.kind === 'fact')
        checkFact(step.condition, ['steps', index, 'condition']);
      const from = step.type === 'wait' ? step.until?.from : undefined;
      if (from !== undefined && (declared[from]?.type !== 'date' || !declared[from].required))
        ctx.addIssue({
          code: 'custom',
          path: ['steps', index, 'until', 'from'],
          message: `counts from "${from}", which must be declared in "facts" as a required date`,
        });
    });
    const sent = new Set(templatesOf(journey));
    for (const [language, templates] of Object.entries(journey.texts ?? {}))
      for (const template of Object.keys(templates))
        if (!sent.has(template))
          ctx.addIssue({
            code: 'custom',
            path: ['texts', language, template],
            message: `no send step uses the template "${template}"`,
          });
    for (const loop of loopsWithoutWait(journey.steps)) {
      const names = loop.map((index) => `"${journey.steps[index]!.id}"`).join(' -> ');
      ctx.addIssue({
        code: 'custom',
        path: ['steps', loop[0]!],
        message: `loops back without waiting (${names}): put a "wait" with "for" or a "waitForEvent" in the loop`,
      });
    }
  });

/** Template keys a definition can send, including every A/B variant. */
export function templatesOf(definition: Pick<JourneyDefinition, 'steps'>): string[] {
  return definition.steps.flatMap((step) =>
    step.type === 'send' ? [step.template, ...(step.variants ?? []).map((variant) => variant.template)] : [],
  );
}

/** Why a fact condition cannot work on a fact of this declared type (undefined: undeclared), if so. */
function factConditionProblem(test: FactCondition, type: FactType | undefined): string | undefined {
  if (type === undefined) return `tests the fact "${test.fact}", which is not declared in "facts"`;
  const numeric = test.atLeast !== undefined || test.below !== undefined;
  if (numeric && type !== 'integer') return `compares "${test.fact}" as a number, but it is declared ${type}`;
  const expected = type === 'integer' ? 'number' : type === 'boolean' ? 'boolean' : 'string';
  if (test.equals !== undefined && typeof test.equals !== expected)
    return `"equals" must be a ${expected}: "${test.fact}" is declared ${type}`;
  return undefined;
}

export type FactType = (typeof FACT_TYPES)[number];
export type TemplateTexts = z.output<typeof templateTexts>;
export type FactCondition = z.output<typeof factCondition>;
export type JourneyDefinition = z.output<typeof journeyDefinition>;
export type JourneyStep = z.output<typeof journeyStep>;

export type JourneyValidation = { ok: true; value: JourneyDefinition } | { ok: false; errors: string[] };

/** Validates a definition; every error names the step (by id and position) and the field. */
/** Whether any key or string in the value has control characters or lone surrogates (JSONB refuses them). */
function hasBrokenText(value: unknown): boolean {
  if (typeof value === 'string') return isBrokenText(value);
  if (Array.isArray(value)) return value.some(hasBrokenText);
  if (value && typeof value === 'object')
    return Object.entries(value).some(([key, item]) => isBrokenText(key) || hasBrokenText(item));
  return false;
}

export function validateJourney(input: unknown): JourneyValidation {
  // Measured before parsing, so a giant is refused without walking it.
  const bytes = Buffer.byteLength(JSON.stringify(input) ?? '');
  if (bytes > MAX_JOURNEY_BYTES) return { ok: false, errors: [`(definition): ${tooLarge(bytes)}`] };
  if (hasBrokenText(input))
    return { ok: false, errors: ['(definition): has text with control characters or broken unicode'] };
  const parsed = journeyDefinition.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  const steps = (input as { steps?: { id?: unknown }[] } | null)?.steps;
  return {
    ok: false,
    errors: describeIssues(parsed.error, {
      root: '(definition)',
      path: ([head, index, ...field]) => {
        if (head !== 'steps' || typeof index !== 'number')
          return [head, index, ...field]
            .filter((part) => part !== undefined)
            .map(String)
            .join('.');
        const given = Array.isArray(steps) ? steps[index]?.id : undefined;
        // Only an id that is itself valid is repeated: anything else is input nobody checked.
        const id = typeof given === 'string' && slug.safeParse(given).success ? `"${given}" ` : '';
        return `step ${id}(steps[${index}])${field.length ? `.${field.map(String).join('.')}` : ''}`;
      },
    }),
  };
}

export const journeyJsonSchema = () => z.toJSONSchema(journeyDefinition, { io: 'input' });

export function printJourneyJsonSchema(): void {
  process.stdout.write(`${JSON.stringify(journeyJsonSchema(), null, 2)}\n`);
}
