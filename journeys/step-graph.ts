// Which step can follow which, as the journey interpreter (workflows/journey.ts) moves: the next step by
// default or the `next` a wait or send names, `then`/`else` of a branch, `onEvent`/`onTimeout` of a waitForEvent, nothing after an exit. A loop
// is safe only if time passes on every way around it; one that does not runs without pause (a branch back
// to itself) or texts the patient as often as the caps allow.

/** The fields of a step that decide where the journey goes next. */
export interface GraphStep {
  id: string;
  type: 'wait' | 'send' | 'waitForEvent' | 'branch' | 'exit';
  for?: string;
  then?: string;
  else?: string;
  onEvent?: string;
  onTimeout?: string;
  next?: string;
}

/** Indexes of the steps that may come after `steps[index]` (unknown ids are reported elsewhere). */
export function successors(steps: readonly GraphStep[], index: number): number[] {
  const step = steps[index]!;
  const at = (id: string | undefined) =>
    id === undefined ? index + 1 : steps.findIndex((candidate) => candidate.id === id);
  const targets =
    step.type === 'exit'
      ? []
      : step.type === 'branch'
        ? [at(step.then), at(step.else)]
        : step.type === 'waitForEvent'
          ? [at(step.onEvent), at(step.onTimeout)]
          : [at(step.next)];
  return [...new Set(targets.filter((target) => target >= 0 && target < steps.length))];
}

/**
 * Whether time surely passes at this step on every visit. A `wait until` a date relative to the anchor
 * does not: on a second visit that date is already behind, so it returns at once.
 */
export function passesTime(step: GraphStep): boolean {
  return step.type === 'waitForEvent' || (step.type === 'wait' && step.for !== undefined);
}

/**
 * Every loop that can be gone around without time passing, each as the indexes of one way around it,
 * starting and ending at its first step. One loop per group of steps that reach each other.
 */
export function loopsWithoutWait(steps: readonly GraphStep[]): number[][] {
  const edges = steps.map((step, index) =>
    passesTime(step) ? [] : successors(steps, index).filter((target) => !passesTime(steps[target]!)),
  );
  return stronglyConnected(edges)
    .filter((group) => group.length > 1 || edges[group[0]!]!.includes(group[0]!))
    .map((group) => wayAround(edges, Math.min(...group), new Set(group)));
}

/** Tarjan's algorithm, iterative so that a long chain of steps cannot overflow the stack. */
function stronglyConnected(edges: number[][]): number[][] {
  const order = new Array<number>(edges.length).fill(-1);
  const low = new Array<number>(edges.length).fill(0);
  const onStack = new Array<boolean>(edges.length).fill(false);
  const stack: number[] = [];
  const groups: number[][] = [];
  let counter = 0;
  for (let root = 0; root < edges.length; root++) {
    if (order[root] !== -1) continue;
    const work: [node: number, next: number][] = [[root, 0]];
    order[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = true;
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const [node, next] = frame;
      if (next < edges[node]!.length) {
        frame[1]++;
        const target = edges[node]![next]!;
        if (order[target] === -1) {
          order[target] = low[target] = counter++;
          stack.push(target);
          onStack[target] = true;
          work.push([target, 0]);
        } else if (onStack[target]) {
          low[node] = Math.min(low[node]!, order[target]!);
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low[parent[0]] = Math.min(low[parent[0]]!, low[node]!);
      if (low[node] === order[node]) {
        const group: number[] = [];
        let member: number;
        do {
          member = stack.pop()!;
          onStack[member] = false;
          group.push(member);
        } while (member !== node);
        groups.push(group);
      }
    }
  }
  return groups;
}

/** The shortest way from `start` back to itself inside `group` (breadth first). */
function wayAround(edges: number[][], start: number, group: Set<number>): number[] {
  const cameFrom = new Map<number, number>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const target of edges[node]!) {
      if (!group.has(target)) continue;
      if (target === start) {
        const path = [start];
        for (let at = node; at !== start; at = cameFrom.get(at)!) path.unshift(at);
        path.unshift(start);
        return path;
      }
      if (!cameFrom.has(target)) {
        cameFrom.set(target, node);
        queue.push(target);
      }
    }
  }
  return [start, start];
}
