import { brokerNames } from '@stampede/core/broker';
import { admittedAgain, recordRefusalWindow, until } from './failover-window.js';
import { type LabTarget, privateService } from './scenario-lab.js';
import type { Scenario } from './scenario-types.js';
import { check, is, tally } from './verdict.js';

const NO_CLUSTER =
  "broker-node-kill kills a node of a RabbitMQ cluster of the lab's own: run it with --private (a shared broker is never touched)";

const clusterOf = (t: LabTarget) => privateService(t, 'rabbitmq-cluster', NO_CLUSTER);

/**
 * One node of a three-node RabbitMQ cluster SIGKILLed (its beam and the shell above it)
 * under purchase load: the node that leads the purchase queue, so the quorum queue must
 * elect a new leader while API and worker move their connections to another node of
 * AMQP_URLS. The node stays down until purchases are admitted (broker-confirmed) again,
 * which gives the window of refusals; then it is started and must be an online member again.
 */
export const brokerNodeKill: Scenario = {
  name: 'broker-node-kill',
  summary:
    "the purchase queue's leader node of a 3-node RabbitMQ cluster is SIGKILLed: a new leader, admissions confirmed again while it is down, nothing lost",
  service: 'rabbitmq-cluster',
  how: (t) =>
    t.services['rabbitmq-cluster']
      ? `the node leading the purchase queue in the lab's private 3-node RabbitMQ cluster SIGKILLed, started again once admissions were back`
      : NO_CLUSTER,
  precheck: (t) => void clusterOf(t),
  async inject(ctx) {
    const cluster = clusterOf(ctx.target);
    const queue = brokerNames(ctx.target.config.AMQP_PREFIX).queue;
    const before = await cluster.quorumQueue(queue);
    const victim = cluster.nodes.find((n) => n.node === before.leader);
    if (!victim) throw new Error(`the leader of ${queue}, ${before.leader}, is no node of the cluster`);
    ctx.facts.membersBefore = before.members.length;
    ctx.facts.killedNode = cluster.nodes.indexOf(victim);
    ctx.facts.killedAtMs = ctx.load.elapsedMs;
    await victim.kill();
    ctx.note(`${victim.node} SIGKILLed, the leader of ${queue} (members ${before.members.join(', ')})`);
  },
  async recover(ctx) {
    const cluster = clusterOf(ctx.target);
    const queue = brokerNames(ctx.target.config.AMQP_PREFIX).queue;
    const victim = cluster.nodes[ctx.facts.killedNode!]!;
    await until(ctx, () => admittedAgain(ctx), 60_000);
    const refused = recordRefusalWindow(ctx);
    const during = await cluster.quorumQueue(queue);
    ctx.facts.newLeader = during.leader !== victim.node && during.online.includes(during.leader) ? 1 : 0;
    ctx.note(
      `admissions back ${ctx.facts.admittedAgain ? 'yes' : 'NO'}: ${refused} purchases refused in ${ctx.facts.refusalWindowMs} ms after the kill; leader now ${during.leader}`,
    );
    await victim.start();
    let online: string[] = [];
    await until(
      ctx,
      async () => {
        online = (await cluster.quorumQueue(queue).catch(() => ({ online: [] as string[] }))).online;
        return online.includes(victim.node);
      },
      60_000,
    );
    ctx.facts.rejoined = online.includes(victim.node) ? 1 : 0;
    ctx.facts.onlineAfter = online.length;
    ctx.note(`${victim.node} started again; members online: ${online.join(', ')}`);
  },
  // Purchases whose publish was on the killed node's connection, or waited for the new leader, are refused.
  errorBudget: () => ({
    phases: ['fault', 'recovery'],
    labels: /^503 broker_unavailable$/,
    max: Infinity,
    why: '503 while the publishers move to another node and the queue elects a leader',
  }),
  checks: (r) => {
    const noRetryAfter =
      (r.phases.fault?.unavailableWithoutRetryAfter ?? 0) + (r.phases.recovery?.unavailableWithoutRetryAfter ?? 0);
    return [
      check(noRetryAfter === 0, `every 503 carried Retry-After (${noRetryAfter} without)`),
      check(r.facts.membersBefore === 3, `the purchase queue had 3 members before the kill: ${r.facts.membersBefore}`),
      check(
        r.facts.newLeader === 1,
        `a surviving node became the queue's leader (${r.facts.newLeader ? 'yes' : 'no'})`,
      ),
      check(
        r.facts.admittedAgain === 1,
        `purchases admitted (broker-confirmed 202) again with the node still down: ${r.facts.refusedSinceKill} refused, the last ${r.facts.refusalWindowMs} ms after the kill`,
      ),
      check(
        tally(r, 'purchases', 'recovery', is('202')) > 0,
        `purchases accepted after the node came back: ${tally(r, 'purchases', 'recovery', is('202'))}`,
      ),
      check(
        r.facts.rejoined === 1 && r.facts.onlineAfter === 3,
        `the killed node is an online member again: ${r.facts.onlineAfter} of 3 online`,
      ),
    ];
  },
};
