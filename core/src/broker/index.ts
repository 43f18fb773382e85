export { assertTopology, type BrokerNames, brokerNames, deleteTopology, purchaseQueueArguments } from './topology.js';
