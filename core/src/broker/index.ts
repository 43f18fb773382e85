export { connectFirst } from './connect-first.js';
export { laneOf } from './lanes.js';
export { purchaseBody, purchasePublishOptions } from './purchase-publish.js';
export {
  assertTopology,
  type BrokerNames,
  brokerNames,
  deleteTopology,
  laneQueueArguments,
  laneRoutingKey,
  purchaseQueueArguments,
  purchaseRoutingKey,
} from './topology.js';
