export { connectFirst } from './connect-first.js';
export { purchaseBody, purchasePublishOptions } from './purchase-publish.js';
export { assertTopology, type BrokerNames, brokerNames, deleteTopology, purchaseQueueArguments } from './topology.js';
